import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../config.js'

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
  }
}

/** Exposes the validated Config (src/config.ts) to every plugin. */
export default fp<{ config: Config }>(async function configPlugin (app: FastifyInstance, opts) {
  app.decorate('config', opts.config)
}, { name: 'config' })

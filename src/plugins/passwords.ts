import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { createPasswordHasher, type PasswordHasher } from '../security/passwords.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** argon2id hashing and verification with the configured cost and concurrency cap */
    passwords: PasswordHasher
  }
}

/** The password hasher (argon2id, configured cost), used by seeding, sign-up, login and admin. */
export default fp(async function passwordsPlugin (app: FastifyInstance) {
  app.decorate('passwords', createPasswordHasher(app.config.argon2, { maxConcurrent: app.config.argon2MaxConcurrency }))
}, { name: 'passwords', dependencies: ['config'] })

import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'

declare module 'fastify' {
  interface FastifyInstance {
    /** the shared store for login limits and rate limits (REDIS_URL); null: they are per instance */
    redis: Redis | null
  }
}

/**
 * The Redis connection behind the shared login limits and rate limits, when REDIS_URL is set.
 * Commands never queue while it is down (enableOfflineQueue: false): the limits fall back to
 * per-instance counting at once instead of making requests wait.
 * @see https://github.com/redis/ioredis
 */
export default fp(async function redisPlugin (app: FastifyInstance) {
  const url = app.config.redisUrl
  if (url === null) {
    app.decorate('redis', null)
    return
  }
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 1000,
    commandTimeout: 500,
    retryStrategy: times => Math.min(times * 100, 1000)
  })
  let healthy = true
  redis.on('error', err => {
    if (!healthy) return
    healthy = false
    app.log.warn({ err }, 'redis unavailable: login limits and rate limits count per instance until it is back')
  })
  redis.on('ready', () => {
    if (!healthy) app.log.info('redis is back: login limits and rate limits are shared again')
    healthy = true
  })
  await redis.connect().catch(() => {})
  app.decorate('redis', redis)
  app.addHook('onClose', async () => { redis.disconnect() })
}, { name: 'redis', dependencies: ['config'] })

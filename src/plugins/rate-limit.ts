import fp from 'fastify-plugin'
import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { RateLimited } from '../errors.js'
import { normalizeIp } from '../security/login-limits.js'

/**
 * The general per-caller rate limit (API.md "Rate limits"): RATE_LIMIT_MAX requests per
 * RATE_LIMIT_WINDOW seconds on every route but the health probes (`config.rateLimit: false`),
 * counted per principal for a valid token (its `sub`) and per source address otherwise.
 * Registered before authn so its hook runs first: requests with bad tokens are counted per
 * address and refused with 429 once over the limit. Shared through Redis when REDIS_URL is set;
 * a Redis outage lets requests through rather than refusing them (skipOnError).
 * @see https://github.com/fastify/fastify-rate-limit
 */
export default fp(async function rateLimitPlugin (app: FastifyInstance) {
  const { config } = app
  const callerKey = (request: FastifyRequest): string => {
    const header = request.headers.authorization
    if (header !== undefined && header.startsWith('Bearer ')) {
      const token = header.slice(7)
      // a token verified before is one Map lookup; a new one is verified here, and the result
      // cached for authn: a valid token costs nothing extra, an invalid one counts for its address
      let principal = app.tokens.cachedAccessToken(token)
      if (principal === undefined) {
        try {
          principal = app.tokens.verifyAccessToken(token)
        } catch {}
      }
      if (principal !== undefined) return 'p:' + principal.sub
    }
    return 'ip:' + normalizeIp(request.ip)
  }
  await app.register(rateLimit, {
    global: true,
    hook: 'onRequest',
    max: config.rateLimit.max,
    timeWindow: config.rateLimit.windowSeconds * 1000,
    keyGenerator: callerKey,
    enableDraftSpec: true,
    // the RateLimit-* headers on the 429 only (API.md): three headers on every answer cost the
    // hot path more than the counting does
    addHeadersOnExceeding: { 'ratelimit-limit': false, 'ratelimit-remaining': false, 'ratelimit-reset': false },
    ...(app.redis !== null ? { redis: app.redis, nameSpace: `${config.redisKeyPrefix}rl:`, skipOnError: true } : {}),
    errorResponseBuilder: (_request, context) => new RateLimited(`rate limit exceeded; retry in ${context.after}`)
  })
}, { name: 'rate-limit', dependencies: ['config', 'tokens', 'redis'] })

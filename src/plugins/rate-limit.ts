import fp from 'fastify-plugin'
import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { RateLimited } from '../errors.js'
import { normalizeIp } from '../security/login-limits.js'
import type { Principal } from '../access/declaration.js'

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
  // one key string per principal: the store's Map then hashes a string it has seen before
  const principalKeys = new WeakMap<Principal, string>()
  const keyOf = (principal: Principal): string => {
    let key = principalKeys.get(principal)
    if (key === undefined) principalKeys.set(principal, key = 'p:' + principal.sub)
    return key
  }
  const callerKey = (request: FastifyRequest): string => {
    const header = request.headers.authorization
    if (header !== undefined && header.startsWith('Bearer ')) {
      // a token verified before is a lookup that the connection remembers for authn's; a new
      // one is verified here, and the result cached for authn: a valid token costs nothing
      // extra, an invalid one counts for its address
      let principal = app.tokens.cachedBearer(header, request.raw.socket)
      if (principal === undefined) {
        try {
          principal = app.tokens.verifyAccessToken(header.slice(7))
        } catch {}
      }
      if (principal !== undefined) return keyOf(principal)
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

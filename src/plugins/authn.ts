import fp from 'fastify-plugin'
import { Gauge } from 'prom-client'
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import { InvalidToken, Unauthenticated } from '../errors.js'
import { bearerToken, type Principal } from '../access/declaration.js'
import { createAccess, Refused, type Access, type PrincipalView } from '../access/index.js'

export { bearerToken }

declare module 'fastify' {
  interface FastifyInstance {
    access: Access
  }
  interface FastifyRequest {
    /** the caller's view from the access module, looked up once by authn; null on public routes */
    accessView: PrincipalView | null
  }
}

/**
 * Authentication: for every route that is not public, an onRequest hook verifies the bearer
 * token (cached verification, see tokens.ts) and asks the access module whether its session,
 * user or client is still live, from in-process state kept fresh by NOTIFY. No SQL once warm.
 */
export default fp(async function authnPlugin (app: FastifyInstance) {
  const access = createAccess(app.db)
  await access.ensureRevoked()
  app.decorate('access', access)
  // the caches' sizes, for dashboards (and the bench)
  new Gauge({ // eslint-disable-line no-new
    name: 'warden_access_cache_entries',
    help: 'Entries in the in-process access caches by cache',
    labelNames: ['cache'] as const,
    registers: [app.metrics.registry],
    collect () {
      for (const [cache, n] of Object.entries(access.stats())) this.set({ cache }, n)
    }
  })
  app.changes.subscribe(change => access.invalidate(change))

  app.decorateRequest('principal', null)
  app.decorateRequest('accessView', null)

  function admit (request: FastifyRequest, outcome: PrincipalView | Refused, done: HookHandlerDoneFunction) {
    if (outcome instanceof Refused) return done(new InvalidToken(outcome.reason))
    request.accessView = outcome
    done()
  }

  function checkLive (principal: Principal, request: FastifyRequest, done: HookHandlerDoneFunction) {
    const outcome = access.live(principal)
    if (outcome instanceof Promise) {
      outcome.then(o => admit(request, o, done), done)
      return
    }
    admit(request, outcome, done)
  }

  function authenticate (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) {
    // every answer of an authenticated route is about its caller: never stored by a cache
    reply.header('cache-control', 'no-store')
    // The common case, a token verified before: a cache hit needs neither the header regex
    // (the exact string passed it once) nor the signature check.
    const header = request.headers.authorization
    const cached = header === undefined ? undefined : app.tokens.cachedBearer(header, request.raw.socket)
    if (cached !== undefined) {
      request.principal = cached
      return checkLive(cached, request, done)
    }
    const token = bearerToken(request)
    if (token === null) {
      return done(request.headers.authorization === undefined
        ? new Unauthenticated('authentication required')
        : new InvalidToken('malformed authorization header'))
    }
    let principal: Principal
    try {
      principal = app.tokens.verifyAccessToken(token)
    } catch (err) {
      return done(err as Error)
    }
    request.principal = principal
    checkLive(principal, request, done)
  }

  // Appended: hooks placed by plugins registered before this one (the rate limit) run first,
  // so a flood of bad tokens is limited before any signature is checked.
  app.addHook('onRoute', route => {
    if (route.config?.public === true) return
    const hooks = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest]
    route.onRequest = [...hooks, authenticate]
  })
}, { name: 'authn', dependencies: ['config', 'db', 'changes', 'tokens', 'metrics'] })

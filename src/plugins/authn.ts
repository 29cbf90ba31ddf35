import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import { InvalidToken, Unauthenticated } from '../errors.js'
import type { Principal } from './tokens.js'
import { clientTokenLive, createAccessState, type AccessState } from '../services/access-state.js'
import { notify } from '../db/client.js'
import { CHANNEL } from './db.js'

declare module 'fastify' {
  interface FastifyInstance {
    access: AccessState
    /**
     * Announces committed changes to every instance (NOTIFY warden_authz) and drops them from
     * this instance's caches at once. Payloads: 'graph', 'user:<id>', 'session:<id>', 'client:<id>',
     * 'token:<jti>:<exp>', 'keys'.
     */
    publishChanges: (...payloads: string[]) => Promise<void>
  }
  interface FastifyRequest {
    principal: Principal | null
  }
}

const BEARER = /^Bearer +([A-Za-z0-9\-_.~+/]+=*) *$/i

/** The raw bearer token of a request, or null. Tokens in the query string are never read. */
export function bearerToken (request: FastifyRequest): string | null {
  const header = request.headers.authorization
  if (header === undefined) return null
  const match = BEARER.exec(header)
  return match ? match[1] : null
}

/**
 * Authentication: for every route that is not public, an onRequest hook verifies the bearer
 * token (cached verification, see tokens.ts) and checks that its session, user or client is
 * still live, from in-process state kept fresh by NOTIFY. No SQL once warm.
 */
export default fp(async function authnPlugin (app: FastifyInstance) {
  const access = createAccessState(app.db)
  await access.ensureRevoked()
  app.decorate('access', access)
  app.changes.subscribe(payload => access.invalidate(payload))
  app.decorate('publishChanges', async (...payloads: string[]) => {
    for (const payload of payloads) access.invalidate(payload)
    await Promise.all(payloads.map(payload => notify(app.db, CHANNEL, payload)))
  })

  app.decorateRequest('principal', null)

  function checkLive (principal: Principal, request: FastifyRequest, done: HookHandlerDoneFunction) {
    // found live before, and nothing has changed anywhere since: no cache lookups at all
    if (access.view(principal, Date.now()) !== undefined) return done()
    const since = access.epoch()
    const revoked = access.tokenRevoked(principal.jti)
    if (revoked instanceof Promise) {
      revoked.then(r => r ? done(new InvalidToken('token has been revoked')) : checkHolder(principal, since, done), done)
      return
    }
    if (revoked) return done(new InvalidToken('token has been revoked'))
    checkHolder(principal, since, done)
  }

  /** The session and user (or the client) behind the token are still live. */
  function checkHolder (principal: Principal, since: number, done: HookHandlerDoneFunction) {
    if (principal.kind === 'client') {
      const client = access.client(principal.sub)
      const refused = () => new InvalidToken('client no longer exists or its secret was rotated')
      if (client instanceof Promise) {
        client.then(c => done(clientTokenLive(c, principal) ? undefined : refused()), done)
        return
      }
      if (!clientTokenLive(client, principal)) return done(refused())
      access.remember(principal, since, Infinity)
      return done()
    }
    const session = access.session(principal.sid!)
    const user = access.subject(principal.sub)
    if (session instanceof Promise || user instanceof Promise) {
      Promise.all([session, user]).then(([s, u]) => done(liveUserError(principal, s, u)), done)
      return
    }
    const error = liveUserError(principal, session, user)
    if (error) return done(error)
    access.remember(principal, since, session!.expiresAt)
    done()
  }

  function authenticate (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) {
    // every answer of an authenticated route is about its caller: never stored by a cache
    reply.header('cache-control', 'no-store')
    // The common case, a token verified before: a cache hit needs neither the header regex
    // (the exact string passed it once) nor the signature check.
    const header = request.headers.authorization
    const cached = header !== undefined && header.startsWith('Bearer ') ? app.tokens.cachedAccessToken(header.slice(7)) : undefined
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
}, { name: 'authn', dependencies: ['config', 'db', 'tokens'] })

function liveUserError (
  principal: Principal,
  session: { userId: string, revoked: boolean, expiresAt: number } | null,
  user: { active: boolean } | null
): Error | undefined {
  if (session === null || session.revoked || session.userId !== principal.sub || session.expiresAt <= Date.now()) {
    return new InvalidToken('session has ended')
  }
  if (user === null || !user.active) return new InvalidToken('user is disabled')
  return undefined
}

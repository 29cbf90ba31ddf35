import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import { createLocalJWKSet, decodeProtectedHeader, errors, jwtVerify, type JWSHeaderParameters, type FlattenedJWSInput, type JWTPayload } from 'jose'
import { LRUCache } from 'lru-cache'
import { ScopeSet } from '../authz/scopes.js'
import { amrOf, bearerOf, routeAccess, type PermissionDeclaration, type Principal } from '../access/declaration.js'

/**
 * Verifies Warden access tokens in another Fastify service, offline: signatures against
 * Warden's JWKS (fetched, cached, re-fetched on an unknown `kid` at most once per
 * `refetchIntervalMs`), and the same route declarations as Warden's own routes
 * (`config.public`, `config.authenticated`, `config.permissions`), enforced from the token's
 * scopes. Deny by default: a route without a declaration fails the boot.
 *
 * Offline verification sees an ended session or a disabled user only when the token expires;
 * use Warden's introspection endpoint where that matters.
 *
 * @example
 *   await app.register(wardenVerifier, { issuer: 'https://warden.example', audience: 'warden', jwksUrl: 'https://warden.example/.well-known/jwks.json' })
 *   app.get('/notes', { config: { permissions: ['notes:read'] } }, async request => request.principal)
 * @see https://www.rfc-editor.org/rfc/rfc9068
 */

export type WardenAlgorithm = 'EdDSA' | 'ES256' | 'RS256'
export type { PermissionDeclaration }

/** The verified caller; the same shape (and the same module) as on Warden's own routes. */
export type WardenPrincipal = Principal

export interface WardenVerifierOptions {
  /** Warden's issuer (`iss`), e.g. https://warden.example.com */
  issuer: string
  /** the audience (`aud`) Warden puts in its tokens (WARDEN_AUDIENCE) */
  audience: string
  /** usually `${issuer}/.well-known/jwks.json` */
  jwksUrl: string
  /** accepted signing algorithms; pin to the one Warden uses. Default: Warden's three asymmetric ones */
  algorithms?: WardenAlgorithm[]
  /** how long a fetched JWKS is used before it is fetched again (ms, default 10 min) */
  cacheTtlMs?: number
  /** at most one JWKS fetch per this interval, whatever the tokens say (ms, default 30 s) */
  refetchIntervalMs?: number
  /** JWKS fetch timeout (ms, default 5 s) */
  fetchTimeoutMs?: number
  /** clock skew allowed on exp, nbf and iat (seconds, default 5) */
  clockToleranceSec?: number
  /** verified tokens kept until they expire (default 10 000) */
  maxCachedTokens?: number
  /** the realm in WWW-Authenticate (default: the audience) */
  realm?: string
}

// config.public / authenticated / permissions / principal and request.principal: ../access/declaration.ts
declare module 'fastify' {
  interface FastifyInstance {
    /** Verifies a Warden access token (e.g. from a WebSocket handshake); rejects on an invalid one. */
    verifyWardenToken: (token: string) => Promise<WardenPrincipal>
  }
}

const ALGORITHMS: WardenAlgorithm[] = ['EdDSA', 'ES256', 'RS256']

class JwksUnavailable extends Error {}
class InvalidClaims extends Error {}

interface Denial { status: 401 | 403 | 503, code: string, detail: string, challenge?: string }

/**
 * The JWKS, fetched with the global fetch. A stale set stays in use when a refresh fails, so a
 * Warden outage does not stop tokens signed by known keys from verifying.
 */
function createJwksCache (url: string, ttlMs: number, refetchIntervalMs: number, timeoutMs: number, onError: (err: unknown) => void) {
  let keys: ReturnType<typeof createLocalJWKSet> | null = null
  let fetchedAt = -Infinity
  let attemptedAt = -Infinity
  let pending: Promise<void> | null = null

  function refresh (): Promise<void> {
    if (pending !== null) return pending
    attemptedAt = Date.now()
    pending = (async () => {
      const response = await fetch(url, {
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'error',
        headers: { accept: 'application/jwk-set+json, application/json' }
      })
      if (response.status !== 200) throw new JwksUnavailable(`the JWKS endpoint answered ${response.status}`)
      const body = await response.json() as { keys?: unknown }
      if (typeof body !== 'object' || body === null || !Array.isArray(body.keys)) throw new JwksUnavailable('the JWKS endpoint answered something else than a JWK set')
      keys = createLocalJWKSet(body as Parameters<typeof createLocalJWKSet>[0])
      fetchedAt = Date.now()
    })().finally(() => { pending = null })
    return pending
  }

  const mayFetch = () => pending !== null || Date.now() - attemptedAt >= refetchIntervalMs

  async function tryRefresh (): Promise<boolean> {
    if (!mayFetch()) return false
    try {
      await refresh()
      return true
    } catch (err) {
      onError(err)
      return false
    }
  }

  return async function getKey (header: JWSHeaderParameters, token: FlattenedJWSInput) {
    if (keys === null || Date.now() - fetchedAt >= ttlMs) await tryRefresh()
    if (keys === null) throw new JwksUnavailable('the signing keys are not available')
    try {
      return await keys(header, token)
    } catch (err) {
      // a kid we have not seen: Warden may have rotated its key since the last fetch
      if (err instanceof errors.JWKSNoMatchingKey && await tryRefresh()) return keys(header, token)
      throw err
    }
  }
}

function toPrincipal (payload: JWTPayload): WardenPrincipal {
  const { sub, tid, sid, scope, jti, iat, exp, client_id: clientId, cver, amr } = payload as Record<string, unknown>
  if (typeof sub !== 'string' || typeof tid !== 'string' || typeof jti !== 'string' || typeof iat !== 'number' ||
      typeof exp !== 'number' || (scope !== undefined && typeof scope !== 'string') || (sid !== undefined && typeof sid !== 'string')) {
    throw new InvalidClaims('invalid token claims')
  }
  const scopeString = (scope as string | undefined) ?? ''
  return Object.freeze({
    sub,
    kind: sid === undefined ? 'client' : 'user',
    tid,
    sid: (sid as string | undefined) ?? null,
    scopes: Object.freeze(scopeString.split(' ').filter(Boolean)),
    scope: scopeString,
    jti,
    iat,
    exp,
    clientId: typeof clientId === 'string' ? clientId : null,
    clientVersion: typeof cver === 'number' ? cver : null,
    amr: amrOf(amr)
  })
}

interface ScopeRule { names: string[], allowed: (scopes: ScopeSet) => boolean }

/** Offline, a permission declaration is enforced from the token's scopes. */
function scopeRule (names: string[], anyOf: boolean): ScopeRule {
  return {
    names,
    allowed: anyOf ? scopes => names.some(n => scopes.covers(n)) : scopes => names.every(n => scopes.covers(n))
  }
}

async function wardenVerifierPlugin (app: FastifyInstance, opts: WardenVerifierOptions) {
  if (!opts.issuer || !opts.audience || !opts.jwksUrl) throw new Error('wardenVerifier needs issuer, audience and jwksUrl')
  const algorithms = opts.algorithms ?? ALGORITHMS
  if (algorithms.length === 0 || algorithms.some(a => !ALGORITHMS.includes(a))) {
    throw new Error(`wardenVerifier algorithms must be some of ${ALGORITHMS.join(', ')}`)
  }
  const realm = (opts.realm ?? opts.audience).replace(/["\\]/g, '')
  const clockTolerance = opts.clockToleranceSec ?? 5
  const getKey = createJwksCache(
    new URL(opts.jwksUrl).href,
    opts.cacheTtlMs ?? 600_000,
    opts.refetchIntervalMs ?? 30_000,
    opts.fetchTimeoutMs ?? 5_000,
    err => app.log.warn({ err }, 'fetching the Warden JWKS failed')
  )
  const verified = new LRUCache<string, WardenPrincipal>({ max: opts.maxCachedTokens ?? 10_000 })

  async function verify (token: string): Promise<WardenPrincipal> {
    const hit = verified.get(token)
    if (hit !== undefined) return hit
    // jose understands no critical extension Warden would use; refuse any, as RFC 7515 4.1.11 allows
    if (decodeProtectedHeader(token).crit !== undefined) throw new InvalidClaims('unsupported critical header')
    const { payload } = await jwtVerify(token, getKey, {
      issuer: opts.issuer,
      audience: opts.audience,
      algorithms,
      typ: 'at+jwt',
      requiredClaims: ['exp', 'iat', 'sub', 'jti'],
      clockTolerance
    })
    const principal = toPrincipal(payload)
    verified.set(token, principal, { ttl: Math.max(1, (principal.exp + clockTolerance) * 1000 - Date.now()) })
    return principal
  }

  function denialOf (err: unknown): Denial {
    if (err instanceof JwksUnavailable) return { status: 503, code: 'SERVICE_UNAVAILABLE', detail: 'the token cannot be verified now: the signing keys are unavailable' }
    if (err instanceof errors.JWTExpired) {
      return { status: 401, code: 'TOKEN_EXPIRED', detail: 'token expired', challenge: `Bearer realm="${realm}", error="invalid_token", error_description="token expired"` }
    }
    return { status: 401, code: 'INVALID_TOKEN', detail: 'invalid token', challenge: `Bearer realm="${realm}", error="invalid_token", error_description="invalid token"` }
  }

  // Sent from the hook rather than thrown: the host service's error handler may not speak
  // problem+json, and these answers are part of the contract with Warden's clients.
  function deny (reply: FastifyReply, denial: Denial): FastifyReply {
    if (denial.challenge !== undefined) reply.header('www-authenticate', denial.challenge)
    const title = denial.status === 401 ? 'Unauthorized' : denial.status === 403 ? 'Forbidden' : 'Service Unavailable'
    return reply.code(denial.status).type('application/problem+json; charset=utf-8')
      .send({ type: 'about:blank', title, status: denial.status, detail: denial.detail, code: denial.code })
  }

  function guard (declaration: ScopeRule | null, kind: 'user' | 'client' | undefined): onRequestAsyncHookHandler {
    return async function wardenAuthenticate (request: FastifyRequest, reply: FastifyReply) {
      const header = request.headers.authorization
      if (header === undefined) {
        return deny(reply, { status: 401, code: 'UNAUTHENTICATED', detail: 'authentication required', challenge: `Bearer realm="${realm}"` })
      }
      const token = bearerOf(header)
      if (token === null) return deny(reply, denialOf(new InvalidClaims('malformed authorization header')))
      let principal: WardenPrincipal
      try {
        principal = await verify(token)
      } catch (err) {
        return deny(reply, denialOf(err))
      }
      request.principal = principal
      if (kind !== undefined && principal.kind !== kind) {
        return deny(reply, { status: 403, code: 'FORBIDDEN', detail: `this endpoint is for ${kind} tokens only` })
      }
      if (declaration !== null && !declaration.allowed(ScopeSet.parse(principal.scope))) {
        const scope = declaration.names.join(' ')
        return deny(reply, {
          status: 403,
          code: 'INSUFFICIENT_SCOPE',
          detail: `token scope does not include ${declaration.names.join(', ')}`,
          challenge: `Bearer realm="${realm}", error="insufficient_scope", scope="${scope}"`
        })
      }
    }
  }

  app.decorateRequest('principal', null)
  app.decorate('verifyWardenToken', verify)

  app.addHook('onRoute', route => {
    const access = routeAccess(route.config, `${String(route.method)} ${route.url}`)
    if (access.kind === 'public') return
    const rule = access.kind === 'permissions' ? scopeRule(access.names, access.anyOf) : null
    const hooks = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest]
    route.onRequest = [guard(rule, access.principal), ...hooks]
  })
}

/** Register before the routes it protects: it checks every route registered after it. */
export const wardenVerifier = fp(wardenVerifierPlugin, { name: 'warden-verifier', fastify: '5.x' })
export default wardenVerifier

import { createHash, randomUUID } from 'node:crypto'
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { createSigner, createVerifier, TokenError } from 'fast-jwt'
import { decodeProtectedHeader, type ProtectedHeaderParameters } from 'jose'
import { InvalidToken, TokenExpired } from '../errors.js'
import { activatesAt, ensureSigningKey, isRetired, keyStatus, loadLiveKeys, rotateSigningKey, signerAt, type StoredKey } from '../tokens/key-store.js'
import { publicJwkView, publicPemFromJwk, SUPPORTED_ALGS, type SigningAlg } from '../tokens/keys.js'
import { GenerationalCache } from '../lib/generational-cache.js'
import { amrOf, type Principal } from '../access/declaration.js'

export const ACCESS_TOKEN_TYP = 'at+jwt'

/** What a verified access token says; cached per token string, so it is built once per token. */
export type { Principal }

export interface AccessClaims {
  sub: string
  tid: string
  scope: string[]
  sid?: string
  clientId?: string
  clientVersion?: number
  /** how and when the user authenticated (OIDC amr, auth_time in seconds) */
  amr?: string[]
  authTime?: number
}

/** The claims of an ID token beyond iss, iat and exp (which signing adds). */
export interface IdTokenClaims {
  sub: string
  aud: string
  [claim: string]: unknown
}

type Verify = (token: string) => Record<string, unknown>
type Sign = (payload: Record<string, unknown>) => string
interface KeyEntry { key: StoredKey, verify: Verify, verifyHint: Verify, sign: Sign | null, signId: Sign | null, from: number }

declare module 'fastify' {
  interface FastifyInstance {
    tokens: {
      signAccessToken: (claims: AccessClaims) => { token: string, expiresIn: number, jti: string }
      /** An OpenID Connect ID token (typ JWT) signed by the current key, with its alg (for at_hash). */
      signIdToken: (claims: IdTokenClaims, accessToken?: string) => { token: string, alg: string }
      /**
       * The claims of an ID token Warden issued (RP-Initiated Logout's id_token_hint): signature
       * and issuer checked, expiry not (a hint may have expired). Throws INVALID_TOKEN.
       */
      verifyIdTokenHint: (token: string) => Record<string, unknown>
      /** Verifies an access token (cached). Throws INVALID_TOKEN or TOKEN_EXPIRED. */
      verifyAccessToken: (token: string) => Principal
      /**
       * The hot path: the principal of a whole `Authorization` value whose token was verified
       * before and has not expired, else undefined; remembered per connection.
       */
      cachedBearer: (header: string, connection: object | null | undefined) => Principal | undefined
      jwks: () => { keys: Array<Record<string, unknown>> }
      /** the JWKS Cache-Control: max-age at most half of KEY_ACTIVATION_DELAY */
      jwksCacheControl: string
      keys: () => StoredKey[]
      reload: () => Promise<void>
      /** announces a new key (signs after KEY_ACTIVATION_DELAY), or signs with it at once */
      rotate: (opts?: { immediate?: boolean }) => Promise<{ kid: string, alg: string, createdAt: Date, activatesAt: Date }>
    }
  }
}

const SKEW_MS = 5_000
/** 32 base64url characters of a signature: 192 bits, unique among real tokens */
const CACHE_KEY_LENGTH = 32
const HEADER_MAX = 1024

/** The token's JOSE header (only the first segment is read); INVALID_TOKEN when it is not a JSON object. */
function parseHeader (token: string): ProtectedHeaderParameters {
  const dot = token.indexOf('.')
  if (dot <= 0 || dot > HEADER_MAX) throw new InvalidToken('malformed token')
  try {
    return decodeProtectedHeader({ protected: token.slice(0, dot), payload: '', signature: '' })
  } catch {
    throw new InvalidToken('malformed token')
  }
}

/**
 * Signing keys, access-token signing and verification. Verification pins the algorithm to the
 * key named by `kid` (keys come only from Warden's own store, never from the token), requires
 * typ at+jwt, iss, aud, exp, iat, sub, refuses crit, and caches verified tokens until expiry
 * so the hot path is one Map lookup.
 * @see https://www.rfc-editor.org/rfc/rfc9068
 */
export default fp(async function tokensPlugin (app: FastifyInstance) {
  const { config } = app
  let entries = new Map<string, KeyEntry>()
  // the keys that can sign (the current one and the announced ones), latest activation first
  let signers: KeyEntry[] = []
  // Keyed by the token's last characters (part of its signature): hashing a whole JWT for a Map
  // lookup costs more than everything else a cached request does. A hit counts only if the
  // cached token equals the presented one exactly; expiry is checked on every hit.
  // 50,000 to 100,000 tokens; a hit is one Map lookup (see GenerationalCache)
  const cache = new GenerationalCache<string, { token: string, principal: Principal }>(50_000)
  /** bumped when the cache is cleared: what a connection remembers from before is void */
  let cacheGeneration = 0
  const lastHit = new WeakMap<object, { header: string, principal: Principal, generation: number }>()

  // A verifier that honours max-age has refetched the JWKS, and so knows an announced key, before it signs.
  const jwksCacheControl = `public, max-age=${Math.min(300, Math.floor(config.keyActivationDelay / 2))}`

  if (config.keyEncryptionSecret === null) app.log.warn('KEY_ENCRYPTION_SECRET is not set: private signing keys are stored unencrypted')
  await ensureSigningKey(app.db, config.signingAlg, config.keyEncryptionSecret)

  // Reloads can overlap (a NOTIFY while another runs); only the latest one started may apply.
  // Reloads run one after another: each reads the store after the previous one applied, so a
  // caller awaiting reload() (rotate) sees at least the state it wrote, and an older read can
  // never overwrite a newer one.
  let reloading: Promise<void> = Promise.resolve()
  function reload (): Promise<void> {
    const next = reloading.catch(() => {}).then(applyKeys)
    reloading = next
    return next
  }
  async function applyKeys () {
    const now = Date.now()
    const keys = await loadLiveKeys(app.db, config.keyEncryptionSecret, new Date(now))
    const next = new Map<string, KeyEntry>()
    for (const key of keys) {
      if (!SUPPORTED_ALGS.includes(key.alg)) continue
      const entry: KeyEntry = {
        key,
        verify: createVerifier({
          key: publicPemFromJwk(key.publicJwk),
          algorithms: [key.alg],
          allowedIss: config.issuer,
          allowedAud: config.audience,
          requiredClaims: ['exp', 'iat', 'iss', 'aud', 'sub', 'jti'],
          clockTolerance: SKEW_MS
        }) as Verify,
        verifyHint: createVerifier({
          key: publicPemFromJwk(key.publicJwk),
          algorithms: [key.alg],
          allowedIss: config.issuer,
          requiredClaims: ['iss', 'aud', 'sub'],
          ignoreExpiration: true,
          ignoreNotBefore: true
        }) as Verify,
        sign: null,
        signId: null,
        from: activatesAt(key).getTime()
      }
      if (key.privatePem) {
        entry.sign = createSigner({
          key: key.privatePem,
          algorithm: key.alg,
          kid: key.kid,
          header: { alg: key.alg, typ: ACCESS_TOKEN_TYP, kid: key.kid },
          iss: config.issuer,
          aud: config.audience,
          expiresIn: config.accessTokenTtl * 1000
        }) as Sign
        entry.signId = createSigner({
          key: key.privatePem,
          algorithm: key.alg,
          kid: key.kid,
          header: { alg: key.alg, typ: 'JWT', kid: key.kid },
          iss: config.issuer,
          expiresIn: config.accessTokenTtl * 1000
        }) as Sign
      }
      next.set(key.kid, entry)
    }
    const nextSigners = [...next.values()].filter(e => e.sign !== null)
      .sort((a, b) => b.from - a.from || b.key.createdAt.getTime() - a.key.createdAt.getTime())
    if (signerOf(nextSigners, now) === null) throw new Error('no usable signing key: is KEY_ENCRYPTION_SECRET the one the keys were encrypted with?')
    // a key that is gone (retired, or removed by hand) must not live on in verified tokens
    if ([...entries.keys()].some(kid => !next.has(kid))) {
      cache.clear()
      cacheGeneration++
    }
    entries = next
    signers = nextSigners
  }

  /** The signer at `now`, chosen at signing time: an announced key signs from its activation on, not before. */
  function signerOf (list: KeyEntry[], now: number): KeyEntry | null {
    const entry = list.find(e => e.from <= now)
    return entry === undefined || isRetired(entry.key, now) ? null : entry
  }
  const currentSigner = (now = Date.now()) => signerOf(signers, now)

  await reload()
  const startSigner = currentSigner()!.key
  if (startSigner.alg !== config.signingAlg) {
    app.log.warn({ kid: startSigner.kid, alg: startSigner.alg }, `the active signing key is ${startSigner.alg}, not SIGNING_ALG ${config.signingAlg}: rotate the keys to switch`)
  }

  app.changes.subscribe(change => {
    if (change.kind === 'keys' || change.kind === 'reset' || (change.kind === 'listener' && change.up)) {
      reload().catch(err => app.log.error({ err }, 'reloading signing keys failed'))
    }
  })

  function signAccessToken (claims: AccessClaims) {
    const jti = randomUUID()
    const nowMs = Date.now()
    const signer = currentSigner(nowMs)
    // every reload checks that a signer exists now, and signers only ever hand over to a newer one
    if (signer === null) throw new Error('no signing key is active')
    const now = Math.floor(nowMs / 1000)
    const payload: Record<string, unknown> = {
      sub: claims.sub,
      tid: claims.tid,
      scope: claims.scope.join(' '),
      client_id: claims.clientId ?? app.config.audience,
      jti,
      iat: now,
      nbf: now
    }
    if (claims.sid) payload.sid = claims.sid
    if (claims.clientVersion !== undefined) payload.cver = claims.clientVersion
    if (claims.amr !== undefined) payload.amr = claims.amr
    if (claims.authTime !== undefined) payload.auth_time = claims.authTime
    return { token: signer.sign!(payload), expiresIn: config.accessTokenTtl, jti }
  }

  /** `accessToken`: the one issued with it, whose at_hash it carries (OIDC Core section 3.1.3.6) */
  function signIdToken (claims: IdTokenClaims, accessToken?: string) {
    const signer = currentSigner()
    if (signer === null) throw new Error('no signing key is active')
    const payload: Record<string, unknown> = { ...claims, iat: Math.floor(Date.now() / 1000) }
    if (accessToken !== undefined) payload.at_hash = tokenHash(accessToken, signer.key.alg)
    return { token: signer.signId!(payload), alg: signer.key.alg }
  }

  function verifyIdTokenHint (token: string): Record<string, unknown> {
    const header = parseHeader(token)
    if (header.typ !== 'JWT' || header.crit !== undefined || typeof header.kid !== 'string') throw new InvalidToken('not an ID token')
    const entry = entries.get(header.kid)
    if (!entry || header.alg !== entry.key.alg) throw new InvalidToken('unknown signing key')
    try {
      return entry.verifyHint(token)
    } catch {
      throw new InvalidToken('invalid ID token')
    }
  }

  /**
   * The principal of an `Authorization` header value whose token was verified before and has not
   * expired; undefined otherwise (never throws). The connection remembers the last header that
   * hit: a client on a kept-alive connection sends the same one again, and the next hit is then
   * one comparison of the whole header, without cutting the token out and looking its key up.
   * A remembered hit ends with the cache's generation (a signing key gone).
   */
  function cachedBearer (header: string, connection: object | null | undefined): Principal | undefined {
    const last = connection == null ? undefined : lastHit.get(connection)
    if (last !== undefined && last.header === header && last.generation === cacheGeneration) {
      return last.principal.exp * 1000 + SKEW_MS > Date.now() ? last.principal : undefined
    }
    if (!header.startsWith('Bearer ')) return undefined
    const principal = cachedAccessToken(header.slice(7))
    if (principal === undefined) return undefined
    if (connection == null) return principal
    if (last === undefined) {
      lastHit.set(connection, { header, principal, generation: cacheGeneration })
    } else {
      last.header = header
      last.principal = principal
      last.generation = cacheGeneration
    }
    return principal
  }

  /** The principal of a token verified before and not expired; undefined otherwise (never throws). */
  function cachedAccessToken (token: string): Principal | undefined {
    const hit = cache.get(token.slice(-CACHE_KEY_LENGTH))
    if (hit === undefined || hit.token !== token || hit.principal.exp * 1000 + SKEW_MS <= Date.now()) return undefined
    return hit.principal
  }

  function verifyAccessToken (token: string): Principal {
    const key = token.slice(-CACHE_KEY_LENGTH)
    const hit = cache.get(key)
    if (hit !== undefined && hit.token === token) {
      if (hit.principal.exp * 1000 + SKEW_MS > Date.now()) return hit.principal
      cache.delete(key)
      throw new TokenExpired('token expired')
    }
    const header = parseHeader(token)
    if (header.typ !== ACCESS_TOKEN_TYP) throw new InvalidToken('not an access token')
    if (header.crit !== undefined) throw new InvalidToken('unsupported critical header')
    if (typeof header.kid !== 'string') throw new InvalidToken('token has no key id')
    const entry = entries.get(header.kid)
    if (!entry || header.alg !== entry.key.alg) throw new InvalidToken('unknown signing key')
    let claims: Record<string, unknown>
    try {
      claims = entry.verify(token)
    } catch (err) {
      if (err instanceof TokenError && err.code === TokenError.codes.expired) throw new TokenExpired('token expired')
      throw new InvalidToken('invalid token')
    }
    const principal = toPrincipal(claims)
    cache.set(key, { token, principal })
    return principal
  }

  app.decorate('tokens', {
    signAccessToken,
    signIdToken,
    verifyIdTokenHint,
    verifyAccessToken,
    cachedBearer,
    jwks: () => {
      const now = Date.now()
      const live = [...entries.values()].filter(e => !isRetired(e.key, now))
      const signer = signerAt(live.map(e => e.key), now)
      // the signing key first, for the rare verifier that ignores kid, then the announced ones
      const rank = (e: KeyEntry) => ({ active: 0, next: 1, published: 2, retired: 3 })[keyStatus(e.key, signer, now)]
      return {
        keys: live.sort((a, b) => rank(a) - rank(b))
          .map(e => publicJwkView({ ...e.key.publicJwk, kid: e.key.kid, alg: e.key.alg, use: 'sig' }) as Record<string, unknown>)
      }
    },
    jwksCacheControl,
    keys: () => [...entries.values()].map(e => e.key),
    reload,
    async rotate (opts = {}) {
      const row = await rotateSigningKey(app.db, config.signingAlg as SigningAlg, config.keyEncryptionSecret, {
        accessTokenTtl: config.accessTokenTtl,
        activationDelay: opts.immediate === true ? 0 : config.keyActivationDelay
      })
      await reload()
      return { kid: row.kid, alg: row.alg, createdAt: row.createdAt, activatesAt: activatesAt(row) }
    }
  })
}, { name: 'tokens', dependencies: ['config', 'db', 'changes'] })

/**
 * at_hash: the left half of the hash of the token's ASCII, base64url; the hash is the one of the
 * ID token's alg (SHA-256 for ES256 and RS256, SHA-512 for EdDSA with Ed25519).
 */
export function tokenHash (token: string, alg: string): string {
  const digest = createHash(alg === 'EdDSA' ? 'sha512' : 'sha256').update(token, 'ascii').digest()
  return digest.subarray(0, digest.length / 2).toString('base64url')
}

function toPrincipal (claims: Record<string, unknown>): Principal {
  const { sub, tid, sid, scope, jti, iat, exp, client_id: clientId, cver, amr } = claims
  if (typeof sub !== 'string' || typeof tid !== 'string' || typeof jti !== 'string' ||
      typeof iat !== 'number' || typeof exp !== 'number' || typeof scope !== 'string' ||
      (sid !== undefined && typeof sid !== 'string')) {
    throw new InvalidToken('invalid token claims')
  }
  const scopes = Object.freeze(scope.split(' ').filter(Boolean))
  return Object.freeze({
    sub,
    kind: sid === undefined ? 'client' : 'user',
    tid,
    sid: sid ?? null,
    scopes,
    scope,
    jti,
    iat,
    exp,
    clientId: typeof clientId === 'string' ? clientId : null,
    clientVersion: typeof cver === 'number' ? cver : null,
    amr: amrOf(amr)
  }) as Principal
}

import t from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import { isNull } from 'drizzle-orm'
import { createPrivateKey, sign } from 'node:crypto'
import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, SignJWT } from 'jose'
import { build, bearer, loginAdmin, newUser, ISSUER } from './helper.js'
import { signingKeys } from '../src/db/schema/index.js'
import { wardenVerifier, type WardenVerifierOptions } from '../src/fastify/verifier.js'

const warden = await build(t)
const admin = await loginAdmin(warden)
const alice = await newUser(warden, 'alice')

/** Serves Warden's JWKS, counting fetches; `failing` makes it answer 500. */
const jwksServer = Fastify({ logger: false })
const jwksState = { fetches: 0, failing: false }
jwksServer.get('/jwks', async (_request, reply) => {
  jwksState.fetches++
  if (jwksState.failing) return reply.code(500).send({ error: 'down' })
  return warden.tokens.jwks()
})
await jwksServer.listen({ port: 0, host: '127.0.0.1' })
t.teardown(() => jwksServer.close())
const address = jwksServer.server.address()
const jwksUrl = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/jwks`

const baseOptions: WardenVerifierOptions = { issuer: ISSUER, audience: 'warden', jwksUrl }

/** A service with one route of each kind. */
async function service (t: { teardown: (fn: () => unknown) => void }, options: Partial<WardenVerifierOptions> = {}) {
  const app = Fastify({ logger: false })
  await app.register(wardenVerifier, { ...baseOptions, ...options })
  app.get('/public', { config: { public: true } }, async request => ({ principal: request.principal }))
  app.get('/me', { config: { authenticated: true } }, async request => request.principal)
  app.get('/posts', { config: { permissions: ['posts:read'] } }, async () => ({ ok: true }))
  app.get('/either', { config: { permissions: { anyOf: ['users:read', 'posts:create'] } } }, async () => ({ ok: true }))
  app.get('/both', { config: { permissions: ['posts:read', 'posts:create'] } }, async () => ({ ok: true }))
  app.get('/machines', { config: { authenticated: true, principal: 'client' } }, async () => ({ ok: true }))
  await app.ready()
  t.teardown(() => app.close())
  return app
}

const get = (app: FastifyInstance, url: string, token?: string) => app.inject({ method: 'GET', url, headers: token === undefined ? {} : bearer(token) })

async function clientToken (scopes: string[]) {
  const created = await warden.inject({ method: 'POST', url: '/v1/clients', headers: bearer(admin.access_token), payload: { name: 'svc', scopes } })
  const { id, clientSecret } = created.json()
  const res = await warden.inject({ method: 'POST', url: '/v1/auth/token', payload: { grant_type: 'client_credentials', client_id: id, client_secret: clientSecret } })
  return { id, token: res.json().access_token as string }
}

/**
 * Signs with Warden's own active private key, by hand (jose would refuse some of these headers),
 * to forge tokens that differ from a real one in one detail. Undefined members are left out.
 */
async function forge (claims: Record<string, unknown>, header: Record<string, unknown> = {}) {
  const [row] = await warden.db.select().from(signingKeys).where(isNull(signingKeys.retiresAt))
  const now = Math.floor(Date.now() / 1000)
  const part = (o: Record<string, unknown>) => Buffer.from(JSON.stringify(o)).toString('base64url')
  const input = part({ alg: 'ES256', typ: 'at+jwt', kid: row.kid, ...header }) + '.' + part({
    iss: ISSUER, aud: 'warden', sub: 'someone', tid: 'a1b2c3d4-0000-4000-8000-000000000000', scope: 'posts:read', jti: 'j-' + now, iat: now, exp: now + 300, ...claims
  })
  return input + '.' + sign('sha256', Buffer.from(input), { key: createPrivateKey(row.privateKey), dsaEncoding: 'ieee-p1363' }).toString('base64url')
}

t.test('route declarations: deny by default', async t => {
  const undeclared = Fastify({ logger: false })
  await undeclared.register(wardenVerifier, baseOptions)
  await t.rejects(async () => {
    undeclared.get('/open', async () => 'oops')
    await undeclared.ready()
  }, /must declare exactly one of config.public, config.authenticated, config.permissions/)

  const twice = Fastify({ logger: false })
  await twice.register(wardenVerifier, baseOptions)
  await t.rejects(async () => {
    twice.get('/x', { config: { public: true, authenticated: true } }, async () => 'x')
    await twice.ready()
  }, /exactly one/)

  const badName = Fastify({ logger: false })
  await badName.register(wardenVerifier, baseOptions)
  await t.rejects(async () => {
    badName.get('/x', { config: { permissions: ['Read Posts'] } }, async () => 'x')
    await badName.ready()
  }, /not a permission name/)

  const empty = Fastify({ logger: false })
  await empty.register(wardenVerifier, baseOptions)
  await t.rejects(async () => {
    empty.get('/x', { config: { permissions: { anyOf: [] } } }, async () => 'x')
    await empty.ready()
  }, /at least one permission/)

  await t.rejects(async () => {
    const noOptions = Fastify({ logger: false })
    await noOptions.register(wardenVerifier, { issuer: ISSUER, audience: 'warden', jwksUrl: '' })
  }, /needs issuer, audience and jwksUrl/)
  await t.rejects(async () => {
    const hmac = Fastify({ logger: false })
    await hmac.register(wardenVerifier, { ...baseOptions, algorithms: ['HS256' as 'EdDSA'] })
  }, /algorithms must be some of/)
})

t.test('public, authenticated and permission routes', async t => {
  const svc = await service(t)

  const pub = await get(svc, '/public')
  t.equal(pub.statusCode, 200)
  t.same(pub.json(), { principal: null })

  const none = await get(svc, '/me')
  t.equal(none.statusCode, 401)
  t.match(none.headers['content-type'], /^application\/problem\+json/)
  t.equal(none.headers['www-authenticate'], 'Bearer realm="warden"')
  t.match(none.json(), { status: 401, code: 'UNAUTHENTICATED', title: 'Unauthorized', type: 'about:blank' })

  const garbage = await get(svc, '/me', 'garbage')
  t.equal(garbage.statusCode, 401)
  t.equal(garbage.json().code, 'INVALID_TOKEN')
  t.match(garbage.headers['www-authenticate'], /^Bearer realm="warden", error="invalid_token"/)
  const basicAuth = await svc.inject({ method: 'GET', url: '/me', headers: { authorization: 'Basic Zm9vOmJhcg==' } })
  t.equal(basicAuth.statusCode, 401)
  const inQuery = await svc.inject({ method: 'GET', url: `/me?access_token=${alice.token}` })
  t.equal(inQuery.statusCode, 401, 'a token in the query is ignored')

  const me = await get(svc, '/me', alice.token)
  t.equal(me.statusCode, 200, me.body)
  const claims = decodeJwt(alice.token)
  t.same(me.json(), {
    sub: alice.id,
    kind: 'user',
    tid: claims.tid,
    sid: claims.sid,
    scopes: (claims.scope as string).split(' '),
    scope: claims.scope,
    jti: claims.jti,
    iat: claims.iat,
    exp: claims.exp,
    clientId: claims.client_id,
    clientVersion: null,
    amr: ['pwd']
  })

  t.equal((await get(svc, '/posts', alice.token)).statusCode, 200, 'alice holds posts:read')
  t.equal((await get(svc, '/posts', admin.access_token)).statusCode, 200, '`*` covers everything')
  t.equal((await get(svc, '/both', alice.token)).statusCode, 200)
  t.equal((await get(svc, '/either', alice.token)).statusCode, 200, 'anyOf: posts:create is enough')

  const narrow = await warden.inject({ method: 'POST', url: '/v1/auth/token', payload: { grant_type: 'password', username: alice.username, password: alice.password, scope: 'posts:create' } })
  const narrowToken = narrow.json().access_token
  const denied = await get(svc, '/posts', narrowToken)
  t.equal(denied.statusCode, 403)
  t.match(denied.headers['content-type'], /^application\/problem\+json/)
  t.equal(denied.json().code, 'INSUFFICIENT_SCOPE')
  t.equal(denied.headers['www-authenticate'], 'Bearer realm="warden", error="insufficient_scope", scope="posts:read"')
  t.equal((await get(svc, '/both', narrowToken)).statusCode, 403, 'all of them are needed')
  t.equal((await get(svc, '/either', narrowToken)).statusCode, 200)

  const wildcard = await clientToken(['posts:*'])
  t.equal((await get(svc, '/posts', wildcard.token)).statusCode, 200, '`posts:*` covers posts:read')
  t.equal((await get(svc, '/machines', wildcard.token)).statusCode, 200)
  const asClient = await get(svc, '/me', wildcard.token)
  t.match(asClient.json(), { sub: wildcard.id, kind: 'client', sid: null, clientId: wildcard.id })
  t.equal((await get(svc, '/machines', alice.token)).statusCode, 403, 'config.principal: client')
  t.equal((await get(svc, '/either', wildcard.token)).statusCode, 200, 'posts:* covers posts:create')
})

t.test('only what Warden signs the way Warden signs it', async t => {
  const svc = await service(t)
  t.equal((await get(svc, '/me', await forge({}))).statusCode, 200, 'the forger works with nothing changed')

  const cases: Array<[string, string, string?]> = [
    ['typ JWT', await forge({}, { typ: 'JWT' })],
    ['no typ', await forge({}, { typ: undefined })],
    ['crit header', await forge({}, { crit: ['exp'] })],
    ['expired', await forge({ exp: Math.floor(Date.now() / 1000) - 60 }), 'TOKEN_EXPIRED'],
    ['other issuer', await forge({ iss: 'http://evil.test' })],
    ['other audience', await forge({ aud: 'someone-else' })],
    ['no sub', await forge({ sub: undefined })],
    ['no tid', await forge({ tid: undefined })],
    ['no jti', await forge({ jti: undefined })],
    ['not yet valid', await forge({ nbf: Math.floor(Date.now() / 1000) + 600 })]
  ]
  // a key of the attacker's, offered in the token itself
  const attacker = await generateKeyPair('ES256', { extractable: true })
  const attackerJwk = await exportJWK(attacker.publicKey)
  const now = Math.floor(Date.now() / 1000)
  const embedded = await new SignJWT({ tid: 'x', scope: '*', jti: 'j' })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'attacker', jwk: attackerJwk })
    .setIssuer(ISSUER).setAudience('warden').setSubject('mallory').setIssuedAt(now).setExpirationTime(now + 300)
    .sign(attacker.privateKey)
  cases.push(['embedded jwk', embedded])
  const reusedKid = await new SignJWT({ tid: 'x', scope: '*', jti: 'j' })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: decodeProtectedHeader(admin.access_token).kid })
    .setIssuer(ISSUER).setAudience('warden').setSubject('mallory').setIssuedAt(now).setExpirationTime(now + 300)
    .sign(attacker.privateKey)
  cases.push(['Warden\'s kid, attacker\'s key', reusedKid])
  const [header, payload] = admin.access_token.split('.')
  const none = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(header, 'base64url').toString()), alg: 'none' })).toString('base64url') + '.' + payload + '.'
  cases.push(['alg none', none])

  for (const [name, token, code = 'INVALID_TOKEN'] of cases) {
    const res = await get(svc, '/me', token)
    t.equal(res.statusCode, 401, name)
    t.equal(res.json().code, code, name)
  }

  const pinned = await service(t, { algorithms: ['RS256'] })
  const res = await get(pinned, '/me', alice.token)
  t.equal(res.statusCode, 401, 'an ES256 token is refused when only RS256 is accepted')
})

t.test('JWKS: cached, re-fetched on an unknown kid at most once per interval, stale if Warden is down', async t => {
  jwksState.fetches = 0
  jwksState.failing = false
  const svc = await service(t, { refetchIntervalMs: 300 })
  t.equal((await get(svc, '/me', alice.token)).statusCode, 200)
  t.equal((await get(svc, '/me', admin.access_token)).statusCode, 200)
  t.equal(jwksState.fetches, 1, 'one fetch for both tokens')
  for (let i = 0; i < 5; i++) t.equal((await get(svc, '/me', alice.token)).statusCode, 200)
  t.equal(jwksState.fetches, 1, 'verified tokens are cached')

  const attacker = await generateKeyPair('ES256')
  const now = Math.floor(Date.now() / 1000)
  const unknownKid = await new SignJWT({ tid: 'x', scope: '*', jti: 'j' })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'unknown-kid' })
    .setIssuer(ISSUER).setAudience('warden').setSubject('mallory').setIssuedAt(now).setExpirationTime(now + 300)
    .sign(attacker.privateKey)
  for (let i = 0; i < 5; i++) t.equal((await get(svc, '/me', unknownKid)).statusCode, 401)
  t.equal(jwksState.fetches, 1, 'no re-fetch within the interval')
  await new Promise(resolve => setTimeout(resolve, 350))
  for (let i = 0; i < 5; i++) t.equal((await get(svc, '/me', unknownKid)).statusCode, 401)
  t.equal(jwksState.fetches, 2, 'one re-fetch after it')

  // Warden rotates at once (an announced key would be fetched before it signs): the new kid
  // is fetched once the interval has passed
  const rotated = await warden.tokens.rotate({ immediate: true })
  const fresh = await loginAdmin(warden)
  t.equal(decodeProtectedHeader(fresh.access_token).kid, rotated.kid)
  await new Promise(resolve => setTimeout(resolve, 350))
  t.equal((await get(svc, '/me', fresh.access_token)).statusCode, 200, 'a token of the new key verifies')
  t.equal(jwksState.fetches, 3)
  const other = await newUser(warden, 'bob')
  t.equal((await get(svc, '/me', other.token)).statusCode, 200)

  // Warden down: known keys keep working, unknown ones cannot be checked
  const stale = await service(t, { cacheTtlMs: 1, refetchIntervalMs: 0 })
  t.equal((await get(stale, '/me', alice.token)).statusCode, 200)
  jwksState.failing = true
  t.teardown(() => { jwksState.failing = false })
  await new Promise(resolve => setTimeout(resolve, 5))
  const late = await newUser(warden, 'carol')
  t.equal((await get(stale, '/me', late.token)).statusCode, 200, 'a stale JWKS is used when the refresh fails')

  const cold = await service(t)
  const unavailable = await get(cold, '/me', alice.token)
  t.equal(unavailable.statusCode, 503, 'no keys at all: 503, not 401')
  t.equal(unavailable.json().code, 'SERVICE_UNAVAILABLE')
})

t.test('offline: a revoked session is seen only at expiry (introspection sees it at once)', async t => {
  const svc = await service(t)
  const user = await newUser(warden, 'dave')
  t.equal((await get(svc, '/me', user.token)).statusCode, 200)
  await warden.inject({ method: 'POST', url: '/v1/auth/logout', headers: bearer(user.token) })
  t.equal((await get(warden, '/v1/auth/me', user.token)).statusCode, 401, 'Warden refuses it at once')
  t.equal((await get(svc, '/me', user.token)).statusCode, 200, 'the offline verifier until it expires')
})

t.test('verifyWardenToken for non-HTTP use', async t => {
  const svc = await service(t)
  const principal = await svc.verifyWardenToken(alice.token)
  t.equal(principal.sub, alice.id)
  await t.rejects(svc.verifyWardenToken('nope'))
})

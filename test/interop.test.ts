import t from 'tap'
import type { AddressInfo } from 'node:net'
import Fastify from 'fastify'
import { eq } from 'drizzle-orm'
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose'
import { build, ISSUER } from './helper.js'
import { signingKeys } from '../src/db/schema/index.js'
import { wardenVerifier } from '../src/fastify/verifier.js'

/**
 * Three independent ways of checking a Warden token must agree: jose against the JWKS of the
 * listening server, the verifier plugin in another Fastify service, and introspection.
 */
const warden = await build(t)
await warden.listen({ port: 0, host: '127.0.0.1' })
const base = `http://127.0.0.1:${(warden.server.address() as AddressInfo).port}`
const jwksUrl = `${base}/.well-known/jwks.json`

async function post (path: string, body: Record<string, string>, headers: Record<string, string> = {}) {
  const res = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(body) })
  return { status: res.status, body: await res.json().catch(() => null) as Record<string, unknown> }
}

async function json (path: string, token: string, body?: unknown) {
  const res = await fetch(base + path, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  return { status: res.status, body: await res.json() as Record<string, unknown> }
}

const adminLogin = await post('/v1/auth/token', { grant_type: 'password', username: 'admin@warden.test', password: 'correct horse battery staple' })
const adminToken = adminLogin.body.access_token as string

const register = await fetch(`${base}/v1/auth/register`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ email: 'interop@example.test', username: 'interop', password: 'interop passphrase 1' })
})
if (register.status !== 201) throw new Error(`register: ${register.status}`)
const userLogin = async (extra: Record<string, string> = {}) =>
  (await post('/v1/auth/token', { grant_type: 'password', username: 'interop', password: 'interop passphrase 1', ...extra })).body.access_token as string

// the resource server's own client, for introspection and for a client token
const created = await json('/v1/clients', adminToken, { name: 'interop-rs', scopes: ['posts:read', 'authz:check'] })
if (created.status !== 201) throw new Error(`create client: ${created.status}`)
const rs = created.body as { id: string, clientSecret: string, tenantId: string }
const rsBasic = { authorization: 'Basic ' + Buffer.from(`${rs.id}:${rs.clientSecret}`).toString('base64') }

async function viaIntrospection (token: string) {
  const res = await post('/v1/auth/introspect', { token }, rsBasic)
  if (res.status !== 200) throw new Error(`introspect: ${res.status}`)
  return res.body
}

async function viaJose (token: string) {
  // a fresh key set each time, as a service starting now would have
  const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(jwksUrl)), {
    issuer: ISSUER, audience: 'warden', algorithms: ['ES256'], typ: 'at+jwt', requiredClaims: ['exp', 'sub', 'iat', 'jti']
  })
  return payload
}

async function verifierService (refetchIntervalMs = 0) {
  const svc = Fastify({ logger: false })
  await svc.register(wardenVerifier, { issuer: ISSUER, audience: 'warden', jwksUrl, algorithms: ['ES256'], refetchIntervalMs })
  svc.get('/principal', { config: { authenticated: true } }, async request => request.principal)
  await svc.ready()
  t.teardown(() => svc.close())
  return svc
}

const verifier = await verifierService()
async function viaVerifier (svc: Awaited<ReturnType<typeof verifierService>>, token: string) {
  const res = await svc.inject({ method: 'GET', url: '/principal', headers: { authorization: `Bearer ${token}` } })
  return { status: res.statusCode, body: res.json() as { sub: string, scope: string, tid: string, kind: string } }
}

t.test('a user token: jose, the verifier and introspection agree', async t => {
  const token = await userLogin()
  const jose = await viaJose(token)
  const plugin = await viaVerifier(verifier, token)
  t.equal(plugin.status, 200)
  const introspected = await viaIntrospection(token)
  t.equal(introspected.active, true)
  const claims = decodeJwt(token)
  for (const [name, view] of [['jose', jose], ['verifier', plugin.body], ['introspection', introspected]] as const) {
    t.equal(view.sub, claims.sub, `${name}: sub`)
    t.equal(view.scope, claims.scope, `${name}: scope`)
    t.equal(view.tid, claims.tid, `${name}: tid`)
  }
  t.equal(plugin.body.kind, 'user')
  t.equal(introspected.exp, jose.exp)
  t.equal(introspected.iss, jose.iss)
  t.equal(introspected.aud, jose.aud)
})

t.test('a client token: the same, with client_id and no session', async t => {
  const grant = await post('/v1/auth/token', { grant_type: 'client_credentials', scope: 'posts:read' }, rsBasic)
  t.equal(grant.status, 200)
  const token = grant.body.access_token as string
  const jose = await viaJose(token)
  const plugin = await viaVerifier(verifier, token)
  const introspected = await viaIntrospection(token)
  for (const view of [jose, plugin.body, introspected]) {
    t.match(view, { sub: rs.id, scope: 'posts:read', tid: rs.tenantId })
  }
  t.equal(jose.client_id, rs.id)
  t.equal(introspected.client_id, rs.id)
  t.notOk('sid' in jose)
  t.equal(plugin.body.kind, 'client')
})

t.test('after a rotation old and new tokens verify everywhere until the old key retires', async t => {
  const oldToken = await userLogin()
  t.equal((await viaVerifier(verifier, oldToken)).status, 200, 'the verifier knows the old key')
  const oldKid = decodeProtectedHeader(oldToken).kid!

  // at once: the announced rotation, with verifiers' caches warm, is test/interop/verifiers.test.ts
  const rotation = await json('/v1/keys/rotate?immediate=true', adminToken, {})
  t.equal(rotation.status, 201)
  const newToken = await userLogin()
  const newKid = decodeProtectedHeader(newToken).kid!
  t.equal(newKid, rotation.body.kid)
  t.not(newKid, oldKid)

  for (const token of [oldToken, newToken]) {
    const which = token === oldToken ? 'old' : 'new'
    t.equal((await viaJose(token)).sub, decodeJwt(token).sub, `jose verifies the ${which} token`)
    t.equal((await viaVerifier(verifier, token)).status, 200, `the verifier verifies the ${which} token`)
    t.equal((await viaIntrospection(token)).active, true, `introspection: the ${which} token is active`)
  }

  // The old key is published until after the last token it signed has expired ...
  const [oldKey] = await warden.db.select().from(signingKeys).where(eq(signingKeys.kid, oldKid))
  t.ok(oldKey.retiresAt!.getTime() > decodeJwt(oldToken).exp! * 1000, 'the old key outlives its tokens')
  // ... and then retires: travel to that moment instead of waiting for it
  await warden.db.update(signingKeys).set({ retiresAt: new Date(Date.now() - 1000) }).where(eq(signingKeys.kid, oldKid))
  await warden.tokens.reload()
  const published = (await (await fetch(jwksUrl)).json() as { keys: Array<{ kid: string }> }).keys.map(k => k.kid)
  t.same(published, [newKid], 'the JWKS no longer publishes it')
  await t.rejects(viaJose(oldToken), 'jose: the old token no longer verifies')
  const fresh = await verifierService()
  t.equal((await viaVerifier(fresh, oldToken)).status, 401, 'a verifier: nor there')
  t.same(await viaIntrospection(oldToken), { active: false }, 'introspection: inactive')
  t.equal((await viaJose(newToken)).sub, decodeJwt(newToken).sub, 'the new token still verifies')
  t.equal((await viaVerifier(fresh, newToken)).status, 200)
  t.equal((await viaIntrospection(newToken)).active, true)
})

import t from 'tap'
import { and, eq } from 'drizzle-orm'
import { decodeJwt } from 'jose'
import { build, bearer, login, loginAdmin, newUser, ISSUER } from '../helper.js'
import { roleAssignments, sessions, tenants, users } from '../../src/db/schema/index.js'
import { changed } from '../../src/access/changes.js'

const app = await build(t)
const [defaultTenant] = await app.db.select().from(tenants).where(eq(tenants.isDefault, true))
const admin = await loginAdmin(app)

async function newClient (scopes: string[]) {
  const res = await app.inject({ method: 'POST', url: '/v1/clients', headers: bearer(admin.access_token), payload: { name: 'rs', scopes } })
  if (res.statusCode !== 201) throw new Error(`create client: ${res.statusCode} ${res.body}`)
  return res.json() as { id: string, clientSecret: string, tenantId: string }
}

const basic = (id: string, secret: string) => ({ authorization: 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64') })
const form = (fields: Record<string, string>, headers: Record<string, string> = {}) => ({
  headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  payload: new URLSearchParams(fields).toString()
})

const resourceServer = await newClient([])
const rsAuth = basic(resourceServer.id, resourceServer.clientSecret)

function introspect (token: string, headers: Record<string, string> = rsAuth, extra: Record<string, string> = {}) {
  return app.inject({ method: 'POST', url: '/v1/auth/introspect', ...form({ token, ...extra }, headers) })
}

async function activeOf (token: string) {
  const res = await introspect(token)
  if (res.statusCode !== 200) throw new Error(`introspect: ${res.statusCode} ${res.body}`)
  return res.json()
}

t.test('caller authentication', async t => {
  const user = await newUser(app)
  const none = await introspect(user.token, {})
  t.equal(none.statusCode, 401)
  t.equal(none.json().error, 'invalid_client')
  t.equal(none.headers['www-authenticate'], 'Basic realm="warden"')

  const wrong = await introspect(user.token, basic(resourceServer.id, 'nope'))
  t.equal(wrong.statusCode, 401)
  t.equal(wrong.json().error, 'invalid_client')

  const noPermission = await introspect(user.token, bearer(user.token))
  t.equal(noPermission.statusCode, 403, 'a bearer without tokens:introspect')
  t.equal(noPermission.json().code, 'FORBIDDEN')

  const narrowAdmin = await loginAdmin(app, { scope: 'users:read' })
  const narrow = await introspect(user.token, bearer(narrowAdmin.access_token))
  t.equal(narrow.statusCode, 403)
  t.equal(narrow.json().code, 'INSUFFICIENT_SCOPE')
  t.match(narrow.headers['www-authenticate'], /error="insufficient_scope", scope="tokens:introspect"/)

  const badBearer = await introspect(user.token, bearer('not.a.token'))
  t.equal(badBearer.statusCode, 401)
  t.match(badBearer.headers['www-authenticate'], /^Bearer realm="warden", error="invalid_token"/)

  const byAdmin = await introspect(user.token, bearer(admin.access_token))
  t.equal(byAdmin.statusCode, 200)
  t.equal(byAdmin.json().active, true)

  const introspector = await newClient(['tokens:introspect'])
  const grant = await app.inject({ method: 'POST', url: '/v1/auth/token', ...form({ grant_type: 'client_credentials' }, basic(introspector.id, introspector.clientSecret)) })
  const byClientToken = await introspect(user.token, bearer(grant.json().access_token))
  t.equal(byClientToken.statusCode, 200, 'a client token holding tokens:introspect')
  t.equal(byClientToken.json().active, true)

  const post = await introspect(user.token, {}, { client_id: resourceServer.id, client_secret: resourceServer.clientSecret })
  t.equal(post.statusCode, 200, 'client credentials in the body')
  const json = await app.inject({ method: 'POST', url: '/v1/auth/introspect', payload: { token: user.token, client_id: resourceServer.id, client_secret: resourceServer.clientSecret } })
  t.equal(json.statusCode, 200, 'JSON body')
  t.equal(json.json().active, true)
  const invalidBody = await app.inject({ method: 'POST', url: '/v1/auth/introspect', headers: rsAuth, payload: { token: user.token, extra: 1 } })
  t.equal(invalidBody.statusCode, 400)
  t.equal(invalidBody.json().error, 'invalid_request')
})

t.test('an active user access token', async t => {
  const user = await newUser(app)
  const res = await introspect(user.token)
  t.equal(res.statusCode, 200)
  t.equal(res.headers['cache-control'], 'no-store')
  const body = res.json()
  const claims = decodeJwt(user.token)
  t.same(body, {
    active: true,
    token_type: 'access_token',
    sub: user.id,
    scope: claims.scope,
    client_id: claims.client_id,
    tid: defaultTenant.id,
    sid: claims.sid,
    jti: claims.jti,
    exp: claims.exp,
    iat: claims.iat,
    iss: ISSUER,
    aud: 'warden'
  })
  const hinted = await introspect(user.token, rsAuth, { token_type_hint: 'refresh_token' })
  t.equal(hinted.json().token_type, 'access_token', 'a wrong hint only changes the search order')
})

t.test('inactive tokens answer only { active: false }', async t => {
  for (const token of ['garbage', 'a.b.c', admin.access_token.slice(0, -4) + 'AAAA', '']) {
    const res = await introspect(token)
    t.equal(res.statusCode, 200, JSON.stringify(token))
    t.same(res.json(), { active: false })
  }
})

t.test('a client token', async t => {
  const c = await newClient(['posts:read', 'authz:check'])
  const grant = await app.inject({ method: 'POST', url: '/v1/auth/token', ...form({ grant_type: 'client_credentials', scope: 'posts:read' }, basic(c.id, c.clientSecret)) })
  const token = grant.json().access_token
  const body = await activeOf(token)
  t.match(body, { active: true, token_type: 'access_token', sub: c.id, client_id: c.id, tid: c.tenantId, scope: 'posts:read' })
  t.notOk('sid' in body)
  const del = await app.inject({ method: 'DELETE', url: `/v1/clients/${c.id}`, headers: bearer(admin.access_token) })
  t.equal(del.statusCode, 204)
  t.same(await activeOf(token), { active: false }, 'inactive once the client is deleted')
})

t.test('refresh tokens: active while current; rotation and revocation end them', async t => {
  const user = await newUser(app)
  const refresh = user.tokens.refresh_token!
  const body = await activeOf(refresh)
  t.match(body, { active: true, token_type: 'refresh_token', sub: user.id, tid: defaultTenant.id, iss: ISSUER, sid: decodeJwt(user.token).sid })
  t.same(body.scope.split(' ').sort(), user.tokens.scope.split(' ').sort())
  t.ok(body.exp > Date.now() / 1000 + 86_400, 'expires with the session')

  const next = await app.inject({ method: 'POST', url: '/v1/auth/token', ...form({ grant_type: 'refresh_token', refresh_token: refresh }) })
  t.equal(next.statusCode, 200, next.body)
  t.same(await activeOf(refresh), { active: false }, 'a rotated refresh token is inactive')
  const nextRefresh = next.json().refresh_token
  t.equal((await activeOf(nextRefresh)).active, true)

  // revoking the refresh token ends its session: its access tokens stop everywhere
  const access = next.json().access_token
  t.equal((await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(access) })).statusCode, 200)
  const revoked = await app.inject({ method: 'POST', url: '/v1/auth/revoke', ...form({ token: nextRefresh, token_type_hint: 'refresh_token' }) })
  t.equal(revoked.statusCode, 200)
  const [session] = await app.db.select().from(sessions).where(eq(sessions.id, decodeJwt(access).sid as string))
  t.ok(session.revokedAt instanceof Date, 'the session ended')
  t.same(await activeOf(nextRefresh), { active: false })
  t.same(await activeOf(access), { active: false }, 'the session\'s access token introspects inactive')
  t.same(await activeOf(user.token), { active: false }, 'so does the first one')
  const meAfter = await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(access) })
  t.equal(meAfter.statusCode, 401, 'and fails on Warden\'s own routes')
})

t.test('revocation accepts client authentication', async t => {
  const user = await newUser(app)
  const wrong = await app.inject({ method: 'POST', url: '/v1/auth/revoke', ...form({ token: user.tokens.refresh_token! }, basic(resourceServer.id, 'wrong')) })
  t.equal(wrong.statusCode, 401, 'presented client credentials must be right')
  t.equal(wrong.json().error, 'invalid_client')
  t.equal((await activeOf(user.token)).active, true, 'nothing was revoked')
  const bare = await app.inject({ method: 'POST', url: '/v1/auth/revoke', ...form({ token: 'unknown', client_id: resourceServer.id }) })
  t.equal(bare.statusCode, 401, 'a registered client must authenticate')
  const publicClient = await app.inject({ method: 'POST', url: '/v1/auth/revoke', ...form({ token: 'unknown', client_id: 'swagger-ui' }) })
  t.equal(publicClient.statusCode, 200, 'a public client may name itself')
  const ok = await app.inject({ method: 'POST', url: '/v1/auth/revoke', ...form({ token: user.tokens.refresh_token! }, rsAuth) })
  t.equal(ok.statusCode, 200)
  t.same(await activeOf(user.token), { active: false })
})

t.test('a disabled user\'s tokens are inactive; lost permissions leave the scope', async t => {
  const user = await newUser(app)
  t.equal((await activeOf(user.token)).active, true)
  await app.db.delete(roleAssignments).where(eq(roleAssignments.userId, user.id))
  await app.changes.publish(changed.user(user.id))
  const stripped = await activeOf(user.token)
  t.equal(stripped.active, true)
  t.equal(stripped.scope, '', 'the role behind every scope is gone')

  await app.db.update(users).set({ isActive: false }).where(and(eq(users.id, user.id)))
  await app.changes.publish(changed.user(user.id))
  t.same(await activeOf(user.token), { active: false })
  t.same(await activeOf(user.tokens.refresh_token!), { active: false })
})

t.test('a caller whose own session ended is refused', async t => {
  const tokens = await login(app, 'admin@warden.test', 'correct horse battery staple')
  await app.inject({ method: 'POST', url: '/v1/auth/revoke', ...form({ token: tokens.refresh_token! }) })
  const res = await introspect(admin.access_token, bearer(tokens.access_token))
  t.equal(res.statusCode, 401)
})

t.test('discovery names the endpoint', async t => {
  const meta = (await app.inject({ method: 'GET', url: '/.well-known/openid-configuration' })).json()
  t.equal(meta.introspection_endpoint, `${ISSUER}/v1/auth/introspect`)
  const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json()
  t.ok(doc.paths['/v1/auth/introspect'].post)
})

import t from 'tap'
import { and, eq } from 'drizzle-orm'
import { createLocalJWKSet, createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose'
import { build, bearer, login, loginAdmin, newUser, ADMIN_EMAIL, ADMIN_PASSWORD, ISSUER } from '../helper.js'
import { roleAssignments, roles, sessions, tenants, users } from '../../src/db/schema/index.js'
import { changed } from '../../src/access/changes.js'

const app = await build(t)
const defaultTenant = (await app.db.select().from(tenants).where(eq(tenants.isDefault, true)))[0]

type Fields = Record<string, string>

/** POST /v1/auth/token, form-urlencoded as RFC 6749 asks, from a given source address. */
function tokenForm (fields: Fields, remoteAddress = '127.0.0.1') {
  return app.inject({
    method: 'POST',
    url: '/v1/auth/token',
    remoteAddress,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams(fields).toString()
  })
}

function tokenJson (body: Record<string, unknown>, remoteAddress = '127.0.0.1') {
  return app.inject({ method: 'POST', url: '/v1/auth/token', remoteAddress, payload: body })
}

async function disable (userId: string) {
  await app.db.update(users).set({ isActive: false }).where(eq(users.id, userId))
  await app.changes.publish(changed.user(userId))
}

const alice = await newUser(app, 'alice')

t.test('password grant, form-urlencoded, by username', async t => {
  const res = await tokenForm({ grant_type: 'password', username: alice.username, password: alice.password })
  t.equal(res.statusCode, 200, res.body)
  t.match(res.headers['content-type'], /^application\/json/)
  t.equal(res.headers['cache-control'], 'no-store')
  const body = res.json()
  t.same(Object.keys(body).sort(), ['access_token', 'expires_in', 'refresh_token', 'scope', 'token_type'])
  t.equal(body.token_type, 'Bearer')
  t.equal(body.expires_in, 900)
  t.type(body.refresh_token, 'string')
  t.ok(body.refresh_token.length >= 43, 'refresh token carries 256 bits')
  t.same(body.scope.split(' ').sort(), ['posts:create', 'posts:delete', 'posts:publish', 'posts:read', 'posts:update'])
  const me = await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(body.access_token) })
  t.equal(me.statusCode, 200)
  t.equal(me.json().id, alice.id)
})

t.test('password grant, JSON, by email and case-insensitively', async t => {
  for (const username of [alice.email, alice.email.toUpperCase(), alice.username.toUpperCase()]) {
    const res = await tokenJson({ grant_type: 'password', username, password: alice.password })
    t.equal(res.statusCode, 200, `${username}: ${res.body}`)
    t.equal(res.headers['cache-control'], 'no-store')
    t.equal(decodeJwt(res.json().access_token).sub, alice.id)
  }
})

t.test('wrong password, unknown user and disabled user get the same answer', async t => {
  const bob = await newUser(app, 'bob')
  await disable(bob.id)
  const answers = [
    await tokenForm({ grant_type: 'password', username: alice.username, password: 'not-the-password' }, '10.1.0.1'),
    await tokenForm({ grant_type: 'password', username: 'nobody-at-all', password: 'whatever-password' }, '10.1.0.1'),
    await tokenForm({ grant_type: 'password', username: 'nobody@example.test', password: 'whatever-password' }, '10.1.0.1'),
    await tokenForm({ grant_type: 'password', username: bob.username, password: bob.password }, '10.1.0.1'),
    await tokenJson({ grant_type: 'password', username: bob.email, password: bob.password }, '10.1.0.1')
  ]
  const first = answers[0]
  t.equal(first.statusCode, 400)
  t.same(Object.keys(first.json()).sort(), ['error', 'error_description'])
  t.equal(first.json().error, 'invalid_grant')
  t.match(first.headers['content-type'], /^application\/json/, 'RFC 6749 JSON, not problem+json')
  for (const res of answers) {
    t.equal(res.statusCode, 400)
    t.equal(res.body, first.body, 'identical body')
    t.equal(res.headers['cache-control'], 'no-store')
  }
  const rows = await app.db.select({ sid: sessions.id }).from(sessions).where(eq(sessions.userId, bob.id))
  t.equal(rows.length, 1, 'the disabled user got no new session (only the one from before)')
})

t.test('an unknown user costs about as much as a wrong password (dummy hash)', async t => {
  const time = async (username: string) => {
    const samples: number[] = []
    for (let i = 0; i < 5; i++) {
      const start = process.hrtime.bigint()
      const res = await tokenForm({ grant_type: 'password', username, password: 'wrong-password-' + i }, '10.1.1.1')
      samples.push(Number(process.hrtime.bigint() - start) / 1e6)
      t.equal(res.statusCode, 400)
    }
    return samples.sort((a, b) => a - b)[2]
  }
  const known = await time(alice.username)
  const unknown = await time('no-such-user-' + Date.now())
  t.ok(unknown > known * 0.3, `unknown ${unknown.toFixed(1)} ms vs known ${known.toFixed(1)} ms`)
})

t.test('grant type and required parameters', async t => {
  const cases: Array<[string, Awaited<ReturnType<typeof tokenForm>>, number, string]> = [
    ['authorization_code', await tokenForm({ grant_type: 'authorization_code' }), 401, 'invalid_client'],
    ['unknown grant', await tokenForm({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code' }), 400, 'unsupported_grant_type'],
    ['implicit', await tokenForm({ grant_type: 'implicit' }), 400, 'unsupported_grant_type'],
    ['no grant_type', await tokenForm({ username: alice.username, password: alice.password }), 400, 'invalid_request'],
    ['no password', await tokenForm({ grant_type: 'password', username: alice.username }), 400, 'invalid_request'],
    ['no username', await tokenForm({ grant_type: 'password', password: alice.password }), 400, 'invalid_request'],
    ['empty body', await app.inject({ method: 'POST', url: '/v1/auth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: '' }), 400, 'invalid_request'],
    ['array for a string', await tokenJson({ grant_type: 'password', username: [alice.username], password: alice.password }), 400, 'invalid_request'],
    ['repeated form field', await app.inject({
      method: 'POST',
      url: '/v1/auth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `grant_type=password&username=${alice.username}&username=other&password=${alice.password}`
    }), 400, 'invalid_request'],
    ['refresh without token', await tokenForm({ grant_type: 'refresh_token' }), 400, 'invalid_request']
  ]
  for (const [name, res, status, error] of cases) {
    t.equal(res.statusCode, status, `${name}: ${res.body}`)
    t.equal(res.json().error, error, name)
    t.type(res.json().error_description, 'string', name)
    t.notOk(res.json().code, `${name}: not problem+json`)
    t.match(res.headers['content-type'], /^application\/json/, name)
    t.equal(res.headers['cache-control'], 'no-store', name)
  }
})

t.test('scope: a subset is granted, none held is invalid_scope', async t => {
  const res = await tokenForm({ grant_type: 'password', username: alice.username, password: alice.password, scope: 'posts:read users:read posts:create' })
  t.equal(res.statusCode, 200, res.body)
  t.equal(res.json().scope, 'posts:read posts:create')
  t.equal(decodeJwt(res.json().access_token).scope, 'posts:read posts:create')
  const me = await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(res.json().access_token) })
  t.same(me.json().scopes, ['posts:read', 'posts:create'])
  const [session] = await app.db.select().from(sessions).where(eq(sessions.id, decodeJwt(res.json().access_token).sid as string))
  t.same(session.scopes, ['posts:read', 'posts:create'], 'the session remembers its scopes')

  const none = await tokenForm({ grant_type: 'password', username: alice.username, password: alice.password, scope: 'users:read roles:write' })
  t.equal(none.statusCode, 400)
  t.equal(none.json().error, 'invalid_scope')
  const star = await tokenForm({ grant_type: 'password', username: alice.username, password: alice.password, scope: '*' })
  t.equal(star.json().error, 'invalid_scope', 'a user cannot ask for *')
  const malformed = await tokenForm({ grant_type: 'password', username: alice.username, password: alice.password, scope: 'posts:read "quoted"' })
  t.equal(malformed.json().error, 'invalid_scope')

  const admin = await loginAdmin(app, { scope: 'users:read audit:read' })
  t.equal(admin.scope, 'users:read audit:read', 'a wildcard holder gets exactly what it asks for')
})

t.test('tenant: by slug and by id; not a member is invalid_grant', async t => {
  const [acme] = await app.db.insert(tenants).values({ slug: 'acme', name: 'Acme' }).returning()
  await app.db.insert(tenants).values({ slug: 'globex', name: 'Globex' })
  const [userRole] = await app.db.select().from(roles).where(eq(roles.name, 'user'))
  const carol = await newUser(app, 'carol')
  await app.db.insert(roleAssignments).values({ userId: carol.id, roleId: userRole.id, tenantId: acme.id })
  await app.changes.publish(changed.user(carol.id))

  const noTenant = await login(app, carol.username, carol.password)
  t.equal(decodeJwt(noTenant.access_token).tid, defaultTenant.id, 'without tenant: the first tenant (default)')
  const bySlug = await login(app, carol.username, carol.password, { tenant: 'acme' })
  t.equal(decodeJwt(bySlug.access_token).tid, acme.id)
  const byId = await login(app, carol.username, carol.password, { tenant: acme.id })
  t.equal(decodeJwt(byId.access_token).tid, acme.id)
  const me = await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(byId.access_token) })
  t.same(me.json().tenant, { id: acme.id, slug: 'acme', name: 'Acme' })

  for (const tenant of ['globex', 'no-such-tenant', '00000000-0000-4000-8000-000000000000']) {
    const res = await tokenForm({ grant_type: 'password', username: carol.username, password: carol.password, tenant })
    t.equal(res.statusCode, 400, tenant)
    t.equal(res.json().error, 'invalid_grant', tenant)
  }
  const admin = await tokenForm({ grant_type: 'password', username: ADMIN_EMAIL, password: ADMIN_PASSWORD, tenant: 'acme' })
  t.equal(admin.json().error, 'invalid_grant', 'a global assignment is not membership')
  const adminDefault = await loginAdmin(app)
  t.equal(decodeJwt(adminDefault.access_token).tid, defaultTenant.id, 'a global admin lands in the default tenant')
  const adminNamed = await loginAdmin(app, { tenant: 'default' })
  t.equal(decodeJwt(adminNamed.access_token).tid, defaultTenant.id, 'and may name the tenant it lands in anyway')
  const carolDefault = await tokenForm({ grant_type: 'password', username: carol.username, password: carol.password, tenant: 'default' })
  t.equal(decodeJwt(carolDefault.json().access_token).tid, defaultTenant.id, 'a registered user is a member of the default tenant')

  t.test('an expired assignment is not membership', async t => {
    const dave = await newUser(app, 'dave')
    await app.db.insert(roleAssignments).values({ userId: dave.id, roleId: userRole.id, tenantId: acme.id, expiresAt: new Date(Date.now() - 60_000) })
    await app.changes.publish(changed.user(dave.id))
    const res = await tokenForm({ grant_type: 'password', username: dave.username, password: dave.password, tenant: 'acme' })
    t.equal(res.statusCode, 400, res.body)
    t.equal(res.json().error, 'invalid_grant')
  })
})

t.test('brute force: 30 quick failures meet 429 with Retry-After; others are unaffected', async t => {
  const victim = await newUser(app, 'victim')
  const bystander = await newUser(app, 'bystander')
  const statuses: number[] = []
  let blocked: Awaited<ReturnType<typeof tokenForm>> | null = null
  for (let i = 0; i < 30; i++) {
    const res = await tokenForm({ grant_type: 'password', username: victim.username, password: 'guess-' + i }, '203.0.113.7')
    statuses.push(res.statusCode)
    if (res.statusCode === 429 && blocked === null) blocked = res
  }
  t.ok(blocked, `met 429 (statuses ${statuses.join(',')})`)
  t.ok(statuses.slice(0, 5).every(s => s === 400), 'the first failures are plain invalid_grant')
  t.equal(statuses[29], 429, 'still blocked at the end')
  const retryAfter = Number(blocked!.headers['retry-after'])
  t.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 900, `Retry-After ${blocked!.headers['retry-after']}`)
  t.equal(blocked!.headers['cache-control'], 'no-store')
  t.type(blocked!.json().error, 'string')

  const right = await tokenForm({ grant_type: 'password', username: victim.username, password: victim.password }, '203.0.113.7')
  t.equal(right.statusCode, 429, 'even the right password is refused from the blocked address')

  const other = await tokenForm({ grant_type: 'password', username: bystander.username, password: bystander.password }, '198.51.100.9')
  t.equal(other.statusCode, 200, 'a different account from a different address is unaffected')
  const victimElsewhere = await tokenForm({ grant_type: 'password', username: victim.email, password: victim.password }, '198.51.100.10')
  t.equal(victimElsewhere.statusCode, 200, 'the victim is not locked out from another address')
})

t.test('brute force: spraying many accounts from one address is limited too', async t => {
  const strict = await build(t, { LOGIN_MAX_FAILURES_PER_IP: '12' }, app.testDb)
  const attempt = (username: string, password: string, remoteAddress: string) => strict.inject({
    method: 'POST',
    url: '/v1/auth/token',
    remoteAddress,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ grant_type: 'password', username, password }).toString()
  })
  const statuses: number[] = []
  for (let i = 0; i < 14; i++) statuses.push((await attempt(`sprayed-${i}`, 'Winter2024!', '2001:db8:7::1')).statusCode)
  t.same(statuses.slice(0, 12), new Array(12).fill(400), statuses.join(','))
  t.equal(statuses[13], 429)
  const sameSubnet = await attempt('sprayed-new', 'Winter2024!', '2001:db8:7::99')
  t.equal(sameSubnet.statusCode, 429, 'an IPv6 /64 counts as one address')
  const elsewhere = await attempt(alice.username, alice.password, '2001:db8:8::1')
  t.equal(elsewhere.statusCode, 200, 'another address is unaffected')
})

t.test('the access token: header, claims, and jose verification', async t => {
  const before = Math.floor(Date.now() / 1000)
  const tokens = await login(app, alice.username, alice.password)
  const header = decodeProtectedHeader(tokens.access_token)
  const jwks = (await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json() as JSONWebKeySet
  t.equal(header.alg, 'ES256', 'ES256 by default')
  t.equal(header.typ, 'at+jwt')
  t.equal(header.kid, jwks.keys[0].kid)
  t.notOk(header.jwk)
  const claims = decodeJwt(tokens.access_token)
  for (const name of ['iss', 'aud', 'sub', 'tid', 'scope', 'sid', 'jti', 'iat', 'nbf', 'exp']) t.ok(name in claims, `claim ${name}`)
  t.equal(claims.iss, ISSUER)
  t.equal(claims.aud, 'warden')
  t.equal(claims.sub, alice.id)
  t.equal(claims.tid, defaultTenant.id)
  t.equal(claims.scope, tokens.scope)
  t.match(claims.jti, /^[0-9a-f-]{36}$/)
  t.ok(claims.iat! >= before && claims.iat! <= before + 5)
  t.equal(claims.nbf, claims.iat)
  t.equal(claims.exp, claims.iat! + 900)
  const [session] = await app.db.select().from(sessions).where(and(eq(sessions.id, claims.sid as string), eq(sessions.userId, alice.id)))
  t.ok(session, 'sid names the user\'s session')
  const other = await login(app, alice.username, alice.password)
  t.not(decodeJwt(other.access_token).jti, claims.jti, 'jti is unique')
  t.not(decodeJwt(other.access_token).sid, claims.sid, 'each login is its own session')

  const local = await jwtVerify(tokens.access_token, createLocalJWKSet(jwks), {
    issuer: ISSUER, audience: 'warden', typ: 'at+jwt', algorithms: ['ES256'], requiredClaims: ['exp', 'sub', 'iss', 'aud']
  })
  t.equal(local.payload.sub, alice.id)
  await t.rejects(jwtVerify(tokens.access_token, createLocalJWKSet(jwks), { issuer: 'http://evil.test' }), 'issuer is checked by jose')
  await t.rejects(jwtVerify(tokens.access_token, createLocalJWKSet(jwks), { audience: 'other' }), 'audience is checked by jose')

  t.test('discovery and remote JWKS over a real listening server', async t => {
    const address = await app.listen({ port: 0, host: '127.0.0.1' })
    const config = await (await fetch(address + '/.well-known/openid-configuration')).json() as Record<string, unknown>
    t.equal(config.issuer, ISSUER)
    t.equal(config.jwks_uri, ISSUER + '/.well-known/jwks.json')
    t.equal(config.token_endpoint, ISSUER + '/v1/auth/token')
    t.equal(config.revocation_endpoint, ISSUER + '/v1/auth/revoke')
    t.ok((config.grant_types_supported as string[]).includes('password'))
    t.ok((config.grant_types_supported as string[]).includes('refresh_token'))
    t.ok((config.scopes_supported as string[]).includes('users:read'))
    const remote = createRemoteJWKSet(new URL(address + '/.well-known/jwks.json'))
    const verified = await jwtVerify(tokens.access_token, remote, { issuer: ISSUER, audience: 'warden', typ: 'at+jwt', algorithms: ['ES256'] })
    t.equal(verified.payload.sid, claims.sid)
    t.equal(verified.protectedHeader.kid, header.kid)
  })
})

t.test('login re-hashes a password when the argon2 parameters rise', async t => {
  const erin = await newUser(app, 'erin')
  const [before] = await app.db.select({ hash: users.passwordHash }).from(users).where(eq(users.id, erin.id))
  t.match(before.hash, /^\$argon2id\$v=19\$m=19456,p=1,t=2\$/)
  const stronger = await build(t, { ARGON2_TIME_COST: '3' }, app.testDb)
  const res = await stronger.inject({
    method: 'POST',
    url: '/v1/auth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ grant_type: 'password', username: erin.username, password: erin.password }).toString()
  })
  t.equal(res.statusCode, 200, res.body)
  const [after] = await app.db.select({ hash: users.passwordHash }).from(users).where(eq(users.id, erin.id))
  t.match(after.hash, /^\$argon2id\$v=19\$m=19456,p=1,t=3\$/)
  t.equal((await login(app, erin.username, erin.password)).token_type, 'Bearer', 'the new hash still verifies')
})

t.test('audit: logins are recorded, failures too', async t => {
  await app.audit.flush()
  const { auditEvents } = await import('../../src/db/schema/index.js')
  const rows = await app.db.select().from(auditEvents).where(eq(auditEvents.targetId, alice.id))
  t.ok(rows.some(r => r.action === 'auth.login' && r.outcome === 'success'))
  t.ok(rows.some(r => r.action === 'auth.login' && r.outcome === 'failure'))
  t.notOk(JSON.stringify(rows).includes(alice.password), 'no password in the audit log')
})

t.test('the Swagger UI "Authorize" password flow', async t => {
  // What swagger-ui sends for an OAuth2 password flow: form fields, an empty scope when none is
  // ticked, its own client_id, and X-Requested-With.
  const res = await app.inject({
    method: 'POST',
    url: '/v1/auth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-requested-with': 'XMLHttpRequest' },
    payload: new URLSearchParams({ grant_type: 'password', username: alice.username, password: alice.password, scope: '', client_id: 'swagger-ui' }).toString()
  })
  t.equal(res.statusCode, 200, res.body)
  const token = res.json().access_token
  const me = await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(token) })
  t.equal(me.statusCode, 200)
  t.equal(me.json().username, alice.username)
  const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json()
  t.equal(doc.components.securitySchemes.oauth2.flows.password.tokenUrl, '/v1/auth/token', 'the UI posts to the token endpoint')
})

import t from 'tap'
import { createHash } from 'node:crypto'
import { and, eq } from 'drizzle-orm'
import { decodeJwt } from 'jose'
import { build, bearer, login, loginAdmin, newUser } from '../helper.js'
import { auditEvents, clients, roleAssignments, roles, tenants } from '../../src/db/schema/index.js'
import { changed } from '../../src/access/changes.js'

const app = await build(t)
const [defaultTenant] = await app.db.select().from(tenants).where(eq(tenants.isDefault, true))
const [acme] = await app.db.insert(tenants).values({ slug: 'clients-acme', name: 'Acme' }).returning()
const admin = await loginAdmin(app)

interface Created { id: string, name: string, scopes: string[], tenantId: string, createdAt: string, clientSecret: string }

async function createClient (token: string, body: Record<string, unknown>) {
  return app.inject({ method: 'POST', url: '/v1/clients', headers: bearer(token), payload: body })
}

async function newClient (body: Record<string, unknown>, token = admin.access_token): Promise<Created> {
  const res = await createClient(token, body)
  if (res.statusCode !== 201) throw new Error(`create client: ${res.statusCode} ${res.body}`)
  return res.json()
}

const basic = (id: string, secret: string) => ({ authorization: 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64') })

function clientGrant (headers: Record<string, string>, fields: Record<string, string> = {}) {
  return app.inject({
    method: 'POST',
    url: '/v1/auth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    payload: new URLSearchParams({ grant_type: 'client_credentials', ...fields }).toString()
  })
}

async function clientToken (c: { id: string, clientSecret: string }, scope?: string): Promise<string> {
  const res = await clientGrant(basic(c.id, c.clientSecret), scope === undefined ? {} : { scope })
  if (res.statusCode !== 200) throw new Error(`client token: ${res.statusCode} ${res.body}`)
  return res.json().access_token
}

async function auditOf (action: string, targetId?: string) {
  await app.audit.flush()
  return app.db.select().from(auditEvents)
    .where(and(eq(auditEvents.action, action), targetId === undefined ? undefined : eq(auditEvents.targetId, targetId)))
}

/** A user holding `role` only within `tenantId`, logged in there. */
async function tenantMember (role: string, tenantId: string) {
  const user = await newUser(app, 'member')
  const [r] = await app.db.select({ id: roles.id }).from(roles).where(eq(roles.name, role))
  await app.db.delete(roleAssignments).where(eq(roleAssignments.userId, user.id))
  await app.db.insert(roleAssignments).values({ userId: user.id, roleId: r.id, tenantId })
  await app.changes.publish(changed.user(user.id))
  const tokens = await login(app, user.username, user.password, { tenant: tenantId })
  return { ...user, token: tokens.access_token }
}

t.test('create: 201 with the secret once, stored hashed, audited', async t => {
  const res = await createClient(admin.access_token, { name: 'billing', scopes: ['posts:read', 'authz:check'] })
  t.equal(res.statusCode, 201, res.body)
  t.equal(res.headers['cache-control'], 'no-store')
  const body = res.json()
  t.same(Object.keys(body).sort(), ['clientSecret', 'createdAt', 'createdBy', 'firstParty', 'grantTypes', 'id', 'name', 'postLogoutRedirectUris', 'redirectUris', 'scopes', 'secretRotatedAt', 'tenantId', 'type'])
  t.match(body, { name: 'billing', scopes: ['posts:read', 'authz:check'], tenantId: defaultTenant.id, secretRotatedAt: null })
  t.match(body.id, /^[0-9a-f-]{36}$/)
  t.match(body.clientSecret, /^[A-Za-z0-9_-]{43}$/, '256 bits, base64url')

  const [row] = await app.db.select().from(clients).where(eq(clients.id, body.id))
  t.not(row.secretHash, body.clientSecret)
  t.equal(row.secretHash, createHash('sha256').update(body.clientSecret).digest('base64url'))
  t.equal(row.createdBy, decodeJwt(admin.access_token).sub)

  const get = await app.inject({ method: 'GET', url: `/v1/clients/${body.id}`, headers: bearer(admin.access_token) })
  t.equal(get.statusCode, 200)
  t.notOk('clientSecret' in get.json(), 'never shown again')
  t.equal(get.json().name, 'billing')

  const [event] = await auditOf('client.create', body.id)
  t.ok(event, 'audited')
  t.equal(event.outcome, 'success')
  t.notOk(JSON.stringify(event.after).includes(body.clientSecret), 'no secret in the audit log')
  t.match(event.after, { name: 'billing', scopes: ['posts:read', 'authz:check'] })
})

t.test('create: validation, unknown permissions, unknown tenant', async t => {
  const cases: Array<[Record<string, unknown>, number, string]> = [
    [{ name: 'x', scopes: ['Not A Permission'] }, 400, 'VALIDATION_FAILED'],
    [{ name: 'x', scopes: ['posts:read'], extra: 1 }, 400, 'VALIDATION_FAILED'],
    [{ name: '', scopes: [] }, 400, 'VALIDATION_FAILED'],
    [{ name: 'x', scopes: 'posts:read' }, 400, 'VALIDATION_FAILED'],
    [{ name: 'x', scopes: ['nothing:here'] }, 400, 'BAD_REQUEST'],
    [{ name: 'x', scopes: ['posts:read'], tenant: 'no-such-tenant' }, 404, 'NOT_FOUND']
  ]
  for (const [body, status, code] of cases) {
    const res = await createClient(admin.access_token, body)
    t.equal(res.statusCode, status, JSON.stringify(body) + ' ' + res.body)
    t.equal(res.json().code, code)
  }
  const wildcard = await createClient(admin.access_token, { name: 'wild', scopes: ['posts:*'] })
  t.equal(wildcard.statusCode, 201, 'a wildcard is a valid scope')
})

t.test('access: 401 without a token, 403 without clients:read / clients:write', async t => {
  const none = await app.inject({ method: 'GET', url: '/v1/clients' })
  t.equal(none.statusCode, 401)
  const user = await newUser(app)
  const list = await app.inject({ method: 'GET', url: '/v1/clients', headers: bearer(user.token) })
  t.equal(list.statusCode, 403)
  const create = await createClient(user.token, { name: 'mine', scopes: ['posts:read'] })
  t.equal(create.statusCode, 403)
})

t.test('list: keyset pages, garbage cursor 400, tenant filter', async t => {
  const a = await newClient({ name: 'page-a', scopes: ['posts:read'], tenant: 'clients-acme' })
  const b = await newClient({ name: 'page-b', scopes: ['posts:read'], tenant: acme.id })
  const first = await app.inject({ method: 'GET', url: `/v1/clients?tenant=${acme.slug}&limit=1`, headers: bearer(admin.access_token) })
  t.equal(first.statusCode, 200, first.body)
  t.same(first.json().items.map((c: Created) => c.id), [a.id])
  t.type(first.json().nextCursor, 'string')
  t.notOk('clientSecret' in first.json().items[0])
  const second = await app.inject({ method: 'GET', url: `/v1/clients?tenant=${acme.slug}&limit=1&cursor=${first.json().nextCursor}`, headers: bearer(admin.access_token) })
  t.same(second.json().items.map((c: Created) => c.id), [b.id])
  t.equal(second.json().nextCursor, null)
  const all = await app.inject({ method: 'GET', url: '/v1/clients?limit=100', headers: bearer(admin.access_token) })
  t.ok(all.json().items.some((c: Created) => c.tenantId === defaultTenant.id), 'a global admin sees every tenant')
  t.ok(all.json().items.some((c: Created) => c.tenantId === acme.id))
  const garbage = await app.inject({ method: 'GET', url: '/v1/clients?cursor=garbage', headers: bearer(admin.access_token) })
  t.equal(garbage.statusCode, 400)
})

t.test('client_credentials by HTTP Basic: a client token', async t => {
  const c = await newClient({ name: 'reporting', scopes: ['posts:read', 'authz:check'], tenant: acme.slug })
  const res = await clientGrant(basic(c.id, c.clientSecret))
  t.equal(res.statusCode, 200, res.body)
  t.equal(res.headers['cache-control'], 'no-store')
  const body = res.json()
  t.same(Object.keys(body).sort(), ['access_token', 'expires_in', 'scope', 'token_type'], 'no refresh token')
  t.equal(body.token_type, 'Bearer')
  t.equal(body.scope, 'posts:read authz:check')
  const claims = decodeJwt(body.access_token)
  t.equal(claims.sub, c.id)
  t.equal(claims.client_id, c.id)
  t.equal(claims.tid, acme.id, 'the client\'s tenant')
  t.notOk('sid' in claims, 'no session')
  t.equal(claims.scope, 'posts:read authz:check')

  const me = await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(body.access_token) })
  t.equal(me.statusCode, 403, 'a client token on /v1/auth/me is 403')

  const check = await app.inject({ method: 'POST', url: '/v1/authz/check', headers: bearer(body.access_token), payload: { permission: 'posts:read' } })
  t.equal(check.statusCode, 200, check.body)
  t.equal(check.json().allowed, true, 'its scopes are its permissions')
  const users = await app.inject({ method: 'GET', url: '/v1/users', headers: bearer(body.access_token) })
  t.equal(users.statusCode, 403, 'nothing beyond its scopes')

  const [event] = await auditOf('auth.client_token', c.id)
  t.equal(event?.outcome, 'success')
})

t.test('client_credentials: form-urlencoded Basic parts, body credentials, JSON', async t => {
  const c = await newClient({ name: 'encoded', scopes: ['posts:read'] })
  // RFC 6749 2.3.1: the id and secret are form-urlencoded before base64
  const encodedId = c.id.replace(/-/g, '%2D')
  const encoded = await clientGrant(basic(encodedId, c.clientSecret))
  t.equal(encoded.statusCode, 200, encoded.body)
  t.equal(decodeJwt(encoded.json().access_token).sub, c.id)

  const post = await clientGrant({}, { client_id: c.id, client_secret: c.clientSecret })
  t.equal(post.statusCode, 200, post.body)
  const json = await app.inject({ method: 'POST', url: '/v1/auth/token', payload: { grant_type: 'client_credentials', client_id: c.id, client_secret: c.clientSecret } })
  t.equal(json.statusCode, 200, json.body)

  const both = await clientGrant(basic(c.id, c.clientSecret), { client_id: c.id, client_secret: c.clientSecret })
  t.equal(both.statusCode, 400, 'one authentication method at a time')
  t.equal(both.json().error, 'invalid_request')
})

t.test('unknown client, wrong secret and no credentials: the same 401 invalid_client', async t => {
  const c = await newClient({ name: 'target', scopes: ['posts:read'] })
  const answers = [
    await clientGrant(basic(c.id, 'wrong-secret')),
    await clientGrant(basic('5b0e6a52-58a3-4d1b-9a56-7f1c3c0b7e11', c.clientSecret)),
    await clientGrant(basic('not-a-uuid', 'x')),
    await clientGrant({}, { client_id: c.id, client_secret: c.clientSecret.slice(0, -1) + (c.clientSecret.endsWith('A') ? 'B' : 'A') }),
    await clientGrant({}, { client_id: c.id })
  ]
  for (const res of answers) {
    t.equal(res.statusCode, 401, res.body)
    t.equal(res.headers['www-authenticate'], 'Basic realm="warden"')
    t.equal(res.json().error, 'invalid_client')
  }
  t.equal(answers[0].json().error_description, answers[1].json().error_description, 'same description')
  const none = await clientGrant({})
  t.equal(none.statusCode, 401)
  t.equal(none.json().error, 'invalid_client')
  const failures = await auditOf('auth.client', c.id)
  t.ok(failures.some(e => e.outcome === 'failure'), 'failed client authentication is audited')
})

t.test('client_credentials scope: a subset of the client\'s scopes', async t => {
  const c = await newClient({ name: 'scoped', scopes: ['posts:*', 'authz:check'] })
  const narrowed = await clientGrant(basic(c.id, c.clientSecret), { scope: 'posts:read' })
  t.equal(narrowed.statusCode, 200, narrowed.body)
  t.equal(narrowed.json().scope, 'posts:read')
  t.equal(decodeJwt(narrowed.json().access_token).scope, 'posts:read')
  const all = await clientGrant(basic(c.id, c.clientSecret))
  t.equal(all.json().scope, 'posts:* authz:check')
  for (const scope of ['users:read', 'posts:read users:read', '*']) {
    const res = await clientGrant(basic(c.id, c.clientSecret), { scope })
    t.equal(res.statusCode, 400, scope)
    t.equal(res.json().error, 'invalid_scope')
  }
})

t.test('a service client may not use the password grant', async t => {
  const c = await newClient({ name: 'sneaky', scopes: ['posts:read'] })
  const user = await newUser(app)
  const withBasic = await app.inject({
    method: 'POST',
    url: '/v1/auth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...basic(c.id, c.clientSecret) },
    payload: new URLSearchParams({ grant_type: 'password', username: user.username, password: user.password }).toString()
  })
  t.equal(withBasic.statusCode, 400)
  t.equal(withBasic.json().error, 'unsupported_grant_type')
  const inBody = await app.inject({
    method: 'POST',
    url: '/v1/auth/token',
    payload: { grant_type: 'password', username: user.username, password: user.password, client_id: c.id, client_secret: c.clientSecret }
  })
  t.equal(inBody.statusCode, 400)
  t.equal(inBody.json().error, 'unsupported_grant_type')
  const firstParty = await app.inject({
    method: 'POST',
    url: '/v1/auth/token',
    payload: { grant_type: 'password', username: user.username, password: user.password, client_id: 'swagger-ui' }
  })
  t.equal(firstParty.statusCode, 200, 'an unregistered first-party client id is not refused')
})

t.test('no escalation: a caller gives a client only scopes they hold', async t => {
  // an admin token narrowed to a few scopes holds only those
  const narrow = await loginAdmin(app, { scope: 'clients:write clients:read posts:read' })
  const ok = await createClient(narrow.access_token, { name: 'narrow-ok', scopes: ['posts:read'] })
  t.equal(ok.statusCode, 201, ok.body)
  const refused = await createClient(narrow.access_token, { name: 'narrow-no', scopes: ['posts:read', 'users:read'] })
  t.equal(refused.statusCode, 403, refused.body)
  t.match(refused.json().detail, /users:read/)
  const wildcard = await createClient(narrow.access_token, { name: 'narrow-star', scopes: ['*'] })
  t.equal(wildcard.statusCode, 403)
  const denied = await auditOf('client.create')
  t.ok(denied.some(e => e.outcome === 'denied' && e.targetId === 'narrow-no'), 'the refusal is audited')

  // a client with clients:write creates clients within its own scopes and tenant
  const manager = await newClient({ name: 'manager', scopes: ['clients:write', 'clients:read', 'posts:read'], tenant: acme.id })
  const token = await clientToken(manager)
  const child = await createClient(token, { name: 'child', scopes: ['posts:read'] })
  t.equal(child.statusCode, 201, child.body)
  t.equal(child.json().tenantId, acme.id, 'defaults to the caller\'s tenant')
  const greedy = await createClient(token, { name: 'greedy', scopes: ['users:read'] })
  t.equal(greedy.statusCode, 403)
  const elsewhere = await createClient(token, { name: 'elsewhere', scopes: ['posts:read'], tenant: 'default' })
  t.equal(elsewhere.statusCode, 404, 'another tenant is not visible to it')
})

t.test('a tenant-scoped administrator manages only their tenant\'s clients', async t => {
  const theirs = await newClient({ name: 'acme-own', scopes: ['posts:read'], tenant: acme.id })
  const other = await newClient({ name: 'default-own', scopes: ['posts:read'] })
  const tenantAdmin = await tenantMember('admin', acme.id)

  const list = await app.inject({ method: 'GET', url: '/v1/clients?limit=100', headers: bearer(tenantAdmin.token) })
  t.equal(list.statusCode, 200)
  const ids = list.json().items.map((c: Created) => c.id)
  t.ok(ids.includes(theirs.id))
  t.notOk(ids.includes(other.id), 'another tenant\'s client is not listed')
  t.ok(list.json().items.every((c: Created) => c.tenantId === acme.id))
  const filtered = await app.inject({ method: 'GET', url: '/v1/clients?tenant=default', headers: bearer(tenantAdmin.token) })
  t.equal(filtered.statusCode, 404)

  for (const [method, url] of [['GET', `/v1/clients/${other.id}`], ['DELETE', `/v1/clients/${other.id}`], ['POST', `/v1/clients/${other.id}/secret`]] as const) {
    const res = await app.inject({ method, url, headers: bearer(tenantAdmin.token) })
    t.equal(res.statusCode, 404, `${method} ${url}`)
  }
  const stillThere = await app.db.select().from(clients).where(eq(clients.id, other.id))
  t.equal(stillThere.length, 1)

  const created = await createClient(tenantAdmin.token, { name: 'acme-new', scopes: ['users:read'] })
  t.equal(created.statusCode, 201, created.body)
  t.equal(created.json().tenantId, acme.id)
  const outside = await createClient(tenantAdmin.token, { name: 'acme-outside', scopes: ['posts:read'], tenant: defaultTenant.id })
  t.equal(outside.statusCode, 404)
  const get = await app.inject({ method: 'GET', url: `/v1/clients/${theirs.id}`, headers: bearer(tenantAdmin.token) })
  t.equal(get.statusCode, 200)
})

t.test('rotate the secret: the new one works, the old one stops at once', async t => {
  const c = await newClient({ name: 'rotating', scopes: ['posts:read'] })
  const before = await clientToken(c)
  const res = await app.inject({ method: 'POST', url: `/v1/clients/${c.id}/secret`, headers: bearer(admin.access_token) })
  t.equal(res.statusCode, 200, res.body)
  t.equal(res.headers['cache-control'], 'no-store')
  const { clientSecret } = res.json()
  t.match(clientSecret, /^[A-Za-z0-9_-]{43}$/)
  t.not(clientSecret, c.clientSecret)
  const old = await clientGrant(basic(c.id, c.clientSecret))
  t.equal(old.statusCode, 401)
  t.equal(old.json().error, 'invalid_client')
  const fresh = await clientGrant(basic(c.id, clientSecret))
  t.equal(fresh.statusCode, 200)
  const [row] = await app.db.select().from(clients).where(eq(clients.id, c.id))
  t.ok(row.secretRotatedAt instanceof Date)
  t.equal(row.tokenVersion, 1)
  const issued = await app.inject({ method: 'GET', url: '/v1/posts', headers: bearer(before) })
  t.equal(issued.statusCode, 401, 'tokens issued under the old secret stop working at once')
  const current = await app.inject({ method: 'GET', url: '/v1/posts', headers: bearer(fresh.json().access_token) })
  t.equal(current.statusCode, 200, 'tokens issued under the new secret work')
  const [event] = await auditOf('client.rotate_secret', c.id)
  t.equal(event?.outcome, 'success')
  t.notOk(JSON.stringify(event).includes(clientSecret))
  const unknown = await app.inject({ method: 'POST', url: '/v1/clients/5b0e6a52-58a3-4d1b-9a56-7f1c3c0b7e11/secret', headers: bearer(admin.access_token) })
  t.equal(unknown.statusCode, 404)
})

t.test('delete: 204, its tokens stop working at once, audited', async t => {
  const c = await newClient({ name: 'doomed', scopes: ['authz:check'] })
  const token = await clientToken(c)
  const ok = await app.inject({ method: 'POST', url: '/v1/authz/check', headers: bearer(token), payload: { permission: 'authz:check' } })
  t.equal(ok.statusCode, 200, ok.body)
  const del = await app.inject({ method: 'DELETE', url: `/v1/clients/${c.id}`, headers: bearer(admin.access_token) })
  t.equal(del.statusCode, 204)
  t.equal(del.body, '')
  const after = await app.inject({ method: 'POST', url: '/v1/authz/check', headers: bearer(token), payload: { permission: 'authz:check' } })
  t.equal(after.statusCode, 401, 'a deleted client\'s token is refused on the next request')
  t.equal(after.json().code, 'INVALID_TOKEN')
  const grant = await clientGrant(basic(c.id, c.clientSecret))
  t.equal(grant.statusCode, 401)
  const again = await app.inject({ method: 'DELETE', url: `/v1/clients/${c.id}`, headers: bearer(admin.access_token) })
  t.equal(again.statusCode, 404)
  t.equal((await app.db.select().from(clients).where(eq(clients.id, c.id))).length, 0)
  const [event] = await auditOf('client.delete', c.id)
  t.equal(event?.outcome, 'success')
  t.match(event?.before, { name: 'doomed' })
})

t.test('OpenAPI lists the client endpoints with their permissions', async t => {
  const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json()
  t.ok(doc.paths['/v1/clients'].post)
  t.same(doc.paths['/v1/clients'].post['x-permissions'], { all: ['clients:write'] })
  t.ok(doc.paths['/v1/clients/{id}/secret'].post)
  t.ok(doc.paths['/v1/clients/{id}'].delete)
})

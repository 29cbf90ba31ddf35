import t from 'tap'
import { and, eq } from 'drizzle-orm'
import { auditEvents } from '../../src/db/schema/index.js'
import { bearer, build, login, loginAdmin, newUser } from '../helper.js'

// No escalation (API.md "Assignments"): roles:assign / roles:write must not be worth more than
// the rights their holder already has. A `delegate` (roles:assign, users:read, roles:write)
// tries every way up; each must fail with 403 and change nothing.

const app = await build(t)
const admin = (await loginAdmin(app)).access_token
const adminId = (await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(admin) })).json().id as string

async function as (token: string, method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: object) {
  return app.inject({ method, url, headers: bearer(token), ...(payload === undefined ? {} : { payload }) })
}

async function expectStatus (token: string, method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload: object | undefined, status: number) {
  const res = await as(token, method, url, payload)
  if (res.statusCode !== status) throw new Error(`${method} ${url}: expected ${status}, got ${res.statusCode} ${res.body}`)
  return res
}

await expectStatus(admin, 'POST', '/v1/roles', { name: 'delegate', permissions: ['roles:assign', 'users:read', 'roles:write'] }, 201)
await expectStatus(admin, 'POST', '/v1/roles', { name: 'reader', permissions: ['users:read'] }, 201)
// wildcards over resources, so that granting them is possible at all
await expectStatus(admin, 'POST', '/v1/permissions', { name: 'users:*' }, 201)
await expectStatus(admin, 'POST', '/v1/permissions', { name: 'roles:*' }, 201)
const tenantA = (await expectStatus(admin, 'POST', '/v1/tenants', { slug: 'esc-a', name: 'A' }, 201)).json().id as string

// a global delegate
const dg = await newUser(app, 'delegate')
await expectStatus(admin, 'PUT', `/v1/users/${dg.id}/roles/delegate`, {}, 201)
const dgToken = (await login(app, dg.username, dg.password)).access_token

// a delegate in tenant A only, with a member of A to manage
const dt = await newUser(app, 'tdelegate')
await expectStatus(admin, 'PUT', `/v1/users/${dt.id}/roles/delegate`, { tenant: 'esc-a' }, 201)
const dtToken = (await login(app, dt.username, dt.password, { tenant: 'esc-a' })).access_token
const memberA = await newUser(app, 'membera')
await expectStatus(admin, 'PUT', `/v1/users/${memberA.id}/roles/reader`, { tenant: tenantA }, 201)

const victim = await newUser(app, 'victim')

async function roleOf (name: string) {
  return (await expectStatus(admin, 'GET', `/v1/roles/${name}`, undefined, 200)).json()
}
async function assignmentsOf (id: string) {
  return (await expectStatus(admin, 'GET', `/v1/users/${id}/roles?limit=100`, undefined, 200)).json().items
    .map((a: { role: string, tenant: string | null }) => `${a.role}@${a.tenant ?? 'global'}`).sort()
}

t.test('a delegate cannot assign roles above their own rights', async t => {
  const before = { self: await assignmentsOf(dg.id), victim: await assignmentsOf(victim.id) }
  const attempts: Array<[string, string, object]> = [
    ['assign admin to self', `/v1/users/${dg.id}/roles/admin`, {}],
    ['assign admin to self in the default tenant', `/v1/users/${dg.id}/roles/admin`, { tenant: 'default' }],
    ['assign admin to self with an expiry', `/v1/users/${dg.id}/roles/admin`, { expiresAt: new Date(Date.now() + 60_000).toISOString() }],
    ['assign admin to someone else', `/v1/users/${victim.id}/roles/admin`, {}],
    ['assign moderator (users:read but also posts:*)', `/v1/users/${dg.id}/roles/moderator`, {}],
    ['assign editor (conditional grants are not unconditional ones)', `/v1/users/${victim.id}/roles/editor`, {}]
  ]
  for (const [what, url, body] of attempts) {
    const res = await as(dgToken, 'PUT', url, body)
    t.equal(res.statusCode, 403, what)
    t.equal(res.json().code, 'FORBIDDEN', what)
  }
  t.same(await assignmentsOf(dg.id), before.self, 'own assignments unchanged')
  t.same(await assignmentsOf(victim.id), before.victim, 'victim unchanged')

  // the delegate's token still cannot do admin things
  const tenants = await as(dgToken, 'POST', '/v1/tenants', { slug: 'mine', name: 'Mine' })
  t.equal(tenants.statusCode, 403)
})

t.test('a delegate cannot widen a role they hold or create a stronger one', async t => {
  const delegateBefore = await roleOf('delegate')
  const attempts: Array<[string, 'POST' | 'PUT' | 'PATCH', string, object]> = [
    ['grant * to own role', 'PUT', '/v1/roles/delegate/permissions/*', {}],
    ['grant * url-encoded', 'PUT', '/v1/roles/delegate/permissions/%2A', {}],
    ['grant users:delete to own role', 'PUT', '/v1/roles/delegate/permissions/users:delete', {}],
    ['grant users:* to own role', 'PUT', '/v1/roles/delegate/permissions/users%3A%2A', {}],
    ['grant keys:rotate under a condition', 'PUT', '/v1/roles/delegate/permissions/keys:rotate', { condition: { owner: true } }],
    ['make own role inherit admin', 'PATCH', '/v1/roles/delegate', { inherits: ['admin'] }],
    ['make own role inherit moderator', 'PATCH', '/v1/roles/delegate', { inherits: ['moderator'] }],
    ['replace own permissions with *', 'PATCH', '/v1/roles/delegate', { permissions: ['*'] }],
    ['add keys:rotate by replacing the list', 'PATCH', '/v1/roles/delegate', { permissions: ['roles:assign', 'users:read', 'roles:write', 'keys:rotate'] }],
    ['create a role with *', 'POST', '/v1/roles', { name: 'evil-star', permissions: ['*'] }],
    ['create a role with a permission not held', 'POST', '/v1/roles', { name: 'evil-delete', permissions: ['users:delete'] }],
    ['create a role with a wildcard over held ones', 'POST', '/v1/roles', { name: 'evil-roles', permissions: ['roles:*'] }],
    ['create a role inheriting admin', 'POST', '/v1/roles', { name: 'evil-child', inherits: ['admin'] }],
    ['create a role inheriting editor', 'POST', '/v1/roles', { name: 'evil-editor', inherits: ['editor'] }]
  ]
  for (const [what, method, url, body] of attempts) {
    const res = await as(dgToken, method, url, body)
    t.equal(res.statusCode, 403, what)
  }
  t.same(await roleOf('delegate'), delegateBefore, 'delegate role unchanged')
  for (const name of ['evil-star', 'evil-delete', 'evil-roles', 'evil-child', 'evil-editor']) {
    t.equal((await as(admin, 'GET', `/v1/roles/${name}`)).statusCode, 404, `${name} was not created`)
  }
})

t.test('a delegate cannot raise a role through inheritance or take rights away from stronger roles', async t => {
  // legitimate: a role within the delegate's rights
  const helper = await as(dgToken, 'POST', '/v1/roles', { name: 'helper', description: 'reads users', permissions: ['users:read'] })
  t.equal(helper.statusCode, 201, helper.body)
  await expectStatus(dgToken, 'PUT', `/v1/users/${dg.id}/roles/helper`, {}, 201)

  t.equal((await as(dgToken, 'PATCH', '/v1/roles/helper', { inherits: ['admin'] })).statusCode, 403, 'helper inherits admin')
  t.equal((await as(dgToken, 'PUT', '/v1/roles/helper/permissions/audit:read', {})).statusCode, 403, 'helper gains audit:read')
  t.equal((await as(dgToken, 'PUT', '/v1/roles/reader/permissions/tokens:introspect', {})).statusCode, 403, 'reader gains tokens:introspect')

  // a role that inherits from helper would gain what helper gains: still refused
  await expectStatus(dgToken, 'POST', '/v1/roles', { name: 'helper-child', inherits: ['helper'] }, 201)
  t.equal((await as(dgToken, 'PUT', '/v1/roles/helper/permissions/keys:read', {})).statusCode, 403)

  // stronger roles cannot be edited, emptied, deleted or taken from their holders
  t.equal((await as(dgToken, 'PATCH', '/v1/roles/admin', { description: 'mine now' })).statusCode, 403, 'edit admin')
  t.equal((await as(dgToken, 'PATCH', '/v1/roles/admin', { permissions: [] })).statusCode, 403, 'empty admin')
  t.equal((await as(dgToken, 'DELETE', '/v1/roles/admin/permissions/*')).statusCode, 403, 'revoke * from admin')
  t.equal((await as(dgToken, 'DELETE', '/v1/roles/admin')).statusCode, 403, 'delete admin')
  t.equal((await as(dgToken, 'DELETE', `/v1/users/${adminId}/roles/admin`)).statusCode, 403, 'unassign admin')
  t.same((await roleOf('admin')).permissions, ['*'])
  t.same(await assignmentsOf(adminId), ['admin@global'])
})

t.test('a token narrowed by scope cannot grant what its scope leaves out', async t => {
  const narrow = (await loginAdmin(app, { scope: 'roles:assign roles:write' })).access_token
  t.equal((await as(narrow, 'PUT', `/v1/users/${victim.id}/roles/admin`, {})).statusCode, 403, 'admin with a roles:assign token')
  t.equal((await as(narrow, 'POST', '/v1/roles', { name: 'scoped-evil', permissions: ['keys:rotate'] })).statusCode, 403)
  t.equal((await as(narrow, 'PUT', `/v1/users/${victim.id}/roles/delegate`, {})).statusCode, 403, 'delegate includes users:read, outside the scope')
  t.notOk((await assignmentsOf(victim.id)).some((a: string) => a.startsWith('admin') || a.startsWith('delegate')))
})

t.test('a tenant delegate cannot escalate in their tenant, globally or elsewhere', async t => {
  const before = await assignmentsOf(dt.id)
  t.equal((await as(dtToken, 'PUT', `/v1/users/${dt.id}/roles/admin`, {})).statusCode, 403, 'admin in own tenant')
  t.equal((await as(dtToken, 'PUT', `/v1/users/${dt.id}/roles/admin`, { tenant: 'esc-a' })).statusCode, 403, 'admin in A by slug')
  t.equal((await as(dtToken, 'PUT', `/v1/users/${memberA.id}/roles/admin`, { tenant: tenantA })).statusCode, 403, 'admin to a member by id')
  t.equal((await as(dtToken, 'PUT', `/v1/users/${dt.id}/roles/admin`, { tenant: 'default' })).statusCode, 404, 'another tenant is not visible')
  // roles are global objects: rights held only in tenant A do not count
  t.equal((await as(dtToken, 'PUT', '/v1/roles/reader/permissions/roles:read', {})).statusCode, 403)
  t.equal((await as(dtToken, 'POST', '/v1/roles', { name: 'tenant-made', permissions: ['users:read'] })).statusCode, 403)
  t.same(await assignmentsOf(dt.id), before)
})

t.test('legitimate delegation succeeds', async t => {
  const other = await newUser(app, 'other')
  const r1 = await as(dgToken, 'PUT', `/v1/users/${other.id}/roles/reader`, {})
  t.equal(r1.statusCode, 201, r1.body)
  t.same(r1.json(), { role: 'reader', tenant: null, expiresAt: null, createdAt: r1.json().createdAt })
  const r2 = await as(dgToken, 'PUT', `/v1/users/${other.id}/roles/delegate`, { tenant: 'default' })
  t.equal(r2.statusCode, 201, 'a delegate may pass on exactly their own role')
  const grant = await as(dgToken, 'PUT', '/v1/roles/helper/permissions/roles:assign', {})
  t.equal(grant.statusCode, 201, grant.body)
  t.same(grant.json().permissions, ['roles:assign', 'users:read'])
  const patch = await as(dgToken, 'PATCH', '/v1/roles/helper', { description: 'reads users, assigns roles' })
  t.equal(patch.statusCode, 200)
  t.equal(patch.json().description, 'reads users, assigns roles')
  const revoke = await as(dgToken, 'DELETE', '/v1/roles/helper/permissions/roles:assign')
  t.equal(revoke.statusCode, 204)
  const unassign = await as(dgToken, 'DELETE', `/v1/users/${other.id}/roles/reader`)
  t.equal(unassign.statusCode, 204)

  // the tenant delegate assigns within tenant A, where they hold the rights
  const inA = await as(dtToken, 'PUT', `/v1/users/${memberA.id}/roles/delegate`, {})
  t.equal(inA.statusCode, 201, inA.body)
  t.equal(inA.json().tenant, tenantA, 'a missing tenant means the tenant delegate\'s own')

  // a global administrator may grant anything
  t.equal((await as(admin, 'PUT', `/v1/users/${victim.id}/roles/admin`, { tenant: tenantA })).statusCode, 201)
  t.equal((await as(admin, 'PUT', '/v1/roles/helper/permissions/*', {})).statusCode, 201)
})

t.test('denials are audited', async t => {
  await app.audit.flush()
  const denied = await app.db.select().from(auditEvents).where(and(eq(auditEvents.outcome, 'denied'), eq(auditEvents.actorId, dg.id)))
  const actions = new Set(denied.map(e => e.action))
  for (const action of ['role.assign', 'role.create', 'role.update', 'role.grant', 'role.revoke', 'role.delete', 'role.unassign']) {
    t.ok(actions.has(action), `${action} denial audited`)
  }
  const assign = denied.find(e => e.action === 'role.assign' && e.targetId === dg.id)
  t.ok(assign, 'the self-assignment attempt names its target')
  t.match(assign?.detail, /escalation refused.*\*/)
})

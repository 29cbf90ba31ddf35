import t, { type Test } from 'tap'
import { eq } from 'drizzle-orm'
import { changed } from '../../src/access/changes.js'
import { roleAssignments, roles, users } from '../../src/db/schema/index.js'
import { bearer, build, login, loginAdmin, newUser } from '../helper.js'

const app = await build(t)
const admin = (await loginAdmin(app)).access_token

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
async function call (method: Method, url: string, payload?: unknown, token = admin) {
  return app.inject({ method, url, headers: bearer(token), ...(payload === undefined ? {} : { payload: payload as object }) })
}
async function ok (method: Method, url: string, payload?: unknown) {
  const res = await call(method, url, payload)
  if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`)
  return res
}

interface Item { subject: { id: string, username: string }, tenant: string | null, permission: string }
interface Result { gained: { count: number, subjects: number, items: Item[] }, lost: { count: number, subjects: number, items: Item[] } }

const whatIf = (change: Record<string, unknown>, token = admin, limit?: number) =>
  call('POST', '/v1/authz/what-if', { change, ...(limit === undefined ? {} : { limit }) }, token)

async function preview (change: Record<string, unknown>, token = admin): Promise<Result> {
  const res = await whatIf(change, token, 1000)
  if (res.statusCode !== 200) throw new Error(`what-if ${JSON.stringify(change)}: ${res.statusCode} ${res.body}`)
  return res.json()
}

for (const name of ['reports:read', 'reports:write', 'reports:export', 'reports:*']) await ok('POST', '/v1/permissions', { name })
const tenantIds: Record<string, string> = {}
for (const slug of ['acme', 'globex', 'nowhere']) tenantIds[slug] = (await ok('POST', '/v1/tenants', { slug, name: slug })).json().id
tenantIds.default = (await ok('GET', '/v1/tenants/default')).json().id

await ok('POST', '/v1/roles', { name: 'r-base', permissions: ['reports:read'] })
await ok('POST', '/v1/roles', { name: 'r-mid', permissions: ['reports:write'], inherits: ['r-base'] })
await ok('POST', '/v1/roles', { name: 'r-top', inherits: ['r-mid'] })
await ok('POST', '/v1/roles', { name: 'r-wild', permissions: ['reports:*'] })

const assign = (user: string, role: string, body: Record<string, unknown> = {}) => ok('PUT', `/v1/users/${user}/roles/${role}`, body)

// everyone also holds `user` in the default tenant (registration)
const alice = await newUser(app, 'alice')
await assign(alice.id, 'r-top')
const bob = await newUser(app, 'bob')
await assign(bob.id, 'r-base', { tenant: 'acme' })
const carol = await newUser(app, 'carol')
await assign(carol.id, 'r-base')
await assign(carol.id, 'r-mid', { tenant: 'acme' })
const dave = await newUser(app, 'dave')
const erin = await newUser(app, 'erin')
await assign(erin.id, 'r-wild')
await assign(erin.id, 'r-base', { tenant: 'globex' })
const frank = await newUser(app, 'frank')

// an assignment that has expired (the API refuses to make one)
const roleId = async (name: string) => (await app.db.select({ id: roles.id }).from(roles).where(eq(roles.name, name)))[0].id
await app.db.insert(roleAssignments).values({ userId: dave.id, roleId: await roleId('r-top'), tenantId: null, expiresAt: new Date(Date.now() - 60_000) })
await app.db.insert(roleAssignments).values({ userId: dave.id, roleId: await roleId('r-base'), tenantId: tenantIds.globex, expiresAt: new Date(Date.now() - 60_000) })
await app.changes.publish(changed.user(dave.id))

const catalog: string[] = (await ok('GET', '/v1/permissions?limit=100')).json().items.map((p: { name: string }) => p.name)
const concrete = catalog.filter(n => !n.includes('*'))
const expand = (names: string[]) => new Set(names.flatMap(n => n === '*' ? concrete : n.endsWith(':*') ? concrete.filter(c => c.startsWith(n.slice(0, -1))) : [n]))

async function everyUser (): Promise<string[]> {
  return (await ok('GET', '/v1/users?limit=100')).json().items.map((u: { id: string }) => u.id)
}

/**
 * What GET /v1/users/{id}/permissions lists, expanded to concrete names, for every user: globally
 * (a tenant nobody is assigned in) and in each tenant.
 */
async function snapshot (users: string[]): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>()
  for (const id of users) {
    for (const [scope, tenant] of [['global', 'nowhere'], ['default', 'default'], ['acme', 'acme'], ['globex', 'globex']]) {
      const res = await ok('GET', `/v1/users/${id}/permissions?tenant=${tenant}`)
      out.set(`${id} ${scope}`, expand(res.json().permissions.map((p: { name: string }) => p.name)))
    }
  }
  return out
}

const slugOf = (tenant: string | null) => tenant === null ? 'global' : Object.entries(tenantIds).find(([, id]) => id === tenant)![0]
const lines = (items: Item[]) => items.map(i => `${i.subject.id} ${slugOf(i.tenant)} ${i.permission}`).sort()

/** The broadest-scope report of what changed between two snapshots (docs/api.md, What-if). */
function observed (users: string[], before: Map<string, Set<string>>, after: Map<string, Set<string>>) {
  const gained: string[] = []
  const lost: string[] = []
  for (const id of users) {
    const g0 = before.get(`${id} global`)!
    const g1 = after.get(`${id} global`)!
    for (const p of g1) if (!g0.has(p)) gained.push(`${id} global ${p}`)
    for (const p of g0) if (!g1.has(p)) lost.push(`${id} global ${p}`)
    for (const tenant of ['default', 'acme', 'globex']) {
      const b = before.get(`${id} ${tenant}`)!
      const a = after.get(`${id} ${tenant}`)!
      for (const p of a) if (!b.has(p) && !g1.has(p)) gained.push(`${id} ${tenant} ${p}`)
      for (const p of b) if (!a.has(p) && !g0.has(p)) lost.push(`${id} ${tenant} ${p}`)
    }
  }
  return { gained: gained.sort(), lost: lost.sort() }
}

/** Runs the what-if, makes the change through the API, and compares the preview with what GET .../permissions shows changed. */
async function matchesReality (t: Test, change: Record<string, unknown>, make: () => Promise<unknown>) {
  const users = await everyUser()
  const before = await snapshot(users)
  const result = await preview(change)
  await make()
  const after = await snapshot(users)
  const seen = observed(users, before, after)
  t.same({ gained: lines(result.gained.items), lost: lines(result.lost.items) }, seen, `${change.kind}: the preview is what happened`)
  t.equal(result.gained.count, seen.gained.length, 'gained count exact')
  t.equal(result.lost.count, seen.lost.length, 'lost count exact')
  t.equal(result.gained.subjects, new Set(result.gained.items.map(i => i.subject.id)).size, 'gaining people counted once each')
  t.equal(result.lost.subjects, new Set(result.lost.items.map(i => i.subject.id)).size, 'losing people counted once each')
  return result
}

const names = new Map([[alice.id, 'alice'], [bob.id, 'bob'], [carol.id, 'carol'], [dave.id, 'dave'], [erin.id, 'erin'], [frank.id, 'frank']])
const short = (items: Item[]) => items.map(i => `${names.get(i.subject.id) ?? i.subject.username} ${slugOf(i.tenant)} ${i.permission}`).sort()

t.test('a grant: multi-level inheritance, tenants at their broadest, expiry, wildcards, limit', async t => {
  const change = { kind: 'grant', role: 'r-base', permission: 'reports:export' }
  const all = await preview(change)
  // alice: r-top > r-mid > r-base; bob: acme; carol: global (her acme r-mid is not reported again);
  // dave's assignments expired; erin holds reports:* already
  t.same(short(all.gained.items), ['alice global reports:export', 'bob acme reports:export', 'carol global reports:export'])
  t.same([all.gained.count, all.lost.count], [3, 0])
  t.same(all.gained.items.find(i => i.subject.id === alice.id)?.subject, { id: alice.id, username: alice.username })

  const capped = (await whatIf(change, admin, 1)).json() as Result
  t.same([capped.gained.count, capped.gained.items.length], [3, 1], 'limit caps the items, not the count')
  const none = (await whatIf(change, admin, 0)).json() as Result
  t.same([none.gained.count, none.gained.items.length], [3, 0])
  const byDefault = (await whatIf(change)).json() as Result
  t.equal(byDefault.gained.items.length, 3)
  t.equal((await whatIf(change, admin, 1001)).statusCode, 400)

  const wildcard = await preview({ kind: 'grant', role: 'r-base', permission: 'reports:*' })
  t.same(short(wildcard.gained.items), [
    'alice global reports:export', 'bob acme reports:export', 'bob acme reports:write', 'carol global reports:export', 'carol global reports:write'
  ], 'a wildcard counts the concrete names it covers; carol\'s reports:write was held in acme only')
  t.equal(wildcard.gained.count, 5)

  await matchesReality(t, { kind: 'grant', role: 'r-mid', permission: 'reports:export', condition: { owner: true } },
    () => ok('PUT', '/v1/roles/r-mid/permissions/reports:export', { condition: { owner: true } }))
  const conditional = await preview({ kind: 'grant', role: 'r-mid', permission: 'reports:export' })
  t.same([conditional.gained.count, conditional.lost.count], [0, 0], 'a conditional grant is held: making it unconditional changes nothing')
})

t.test('every kind: the preview is exactly what the change then does', async t => {
  await matchesReality(t, { kind: 'grant', role: 'r-base', permission: 'reports:export' },
    () => ok('PUT', '/v1/roles/r-base/permissions/reports:export'))

  const revoked = await matchesReality(t, { kind: 'revoke', role: 'r-mid', permission: 'reports:write' },
    () => ok('DELETE', '/v1/roles/r-mid/permissions/reports:write'))
  t.same(short(revoked.lost.items), ['alice global reports:write', 'carol acme reports:write'])

  const inherited = await matchesReality(t, { kind: 'inherit', role: 'r-base', parent: 'moderator' },
    async () => ok('PATCH', '/v1/roles/r-base', { inherits: ['moderator'] }))
  t.ok(inherited.gained.items.some(i => i.subject.id === bob.id && i.tenant === tenantIds.acme && i.permission === 'users:read'))
  t.notOk(inherited.gained.items.some(i => i.subject.id === dave.id), 'expired assignments count for nothing')

  const uninherited = await matchesReality(t, { kind: 'uninherit', role: 'r-mid', parent: 'r-base' },
    async () => ok('PATCH', '/v1/roles/r-mid', { inherits: [] }))
  t.ok(uninherited.lost.count > 0)
  t.notOk(uninherited.lost.items.some(i => i.subject.id === carol.id && i.permission === 'reports:read'), 'carol holds r-base globally too')

  const assigned = await matchesReality(t, { kind: 'assign', role: 'r-top', user: frank.id, tenant: 'acme', expiresAt: new Date(Date.now() + 3_600_000).toISOString() },
    () => assign(frank.id, 'r-top', { tenant: 'acme', expiresAt: new Date(Date.now() + 3_600_000).toISOString() }))
  t.same(short(assigned.gained.items), ['frank acme reports:export'], 'r-top is now r-mid alone: its conditional reports:export')
  t.equal(assigned.lost.count, 0)

  const assignedGlobally = await matchesReality(t, { kind: 'assign', role: 'moderator', user: frank.id },
    () => assign(frank.id, 'moderator'))
  t.ok(assignedGlobally.gained.items.every(i => i.tenant === null), 'a global assignment gains globally')

  const unassigned = await matchesReality(t, { kind: 'unassign', role: 'r-base', user: carol.id },
    () => ok('DELETE', `/v1/users/${carol.id}/roles/r-base`))
  t.ok(unassigned.lost.count > 0)

  const renewed = await matchesReality(t, { kind: 'assign', role: 'r-top', user: dave.id },
    () => assign(dave.id, 'r-top'))
  t.ok(renewed.gained.count > 0, 'an expired assignment made again gains')

  const deleted = await matchesReality(t, { kind: 'delete-role', role: 'r-top' },
    () => ok('DELETE', '/v1/roles/r-top'))
  t.same(new Set(deleted.lost.items.map(i => i.subject.id)), new Set([alice.id, dave.id, frank.id]))

  const erinsOwn = await matchesReality(t, { kind: 'unassign', role: 'r-base', user: erin.id, tenant: 'globex' },
    () => ok('DELETE', `/v1/users/${erin.id}/roles/r-base?tenant=globex`))
  t.same(short(erinsOwn.lost.items), ['erin globex posts:delete', 'erin globex posts:read', 'erin globex posts:update', 'erin globex users:read'],
    'what r-base (now inheriting moderator) gave her in globex, less the reports:* she holds globally')
})

t.test('refusals: the mutation routes\' answers', async t => {
  const res = await whatIf({ kind: 'grant', role: 'r-base' })
  t.equal(res.statusCode, 400)
  t.equal(res.json().code, 'VALIDATION_FAILED')
  t.same(res.json().errors, [{ path: 'body/change/permission', message: 'is required for kind grant' }])
  const extra = await whatIf({ kind: 'revoke', role: 'r-base', permission: 'reports:read', user: frank.id })
  t.equal(extra.statusCode, 400)
  t.same(extra.json().errors, [{ path: 'body/change/user', message: 'does not apply to kind revoke' }])
  t.equal((await whatIf({ kind: 'inherit', role: 'r-base' })).statusCode, 400)
  t.equal((await whatIf({ kind: 'assign', role: 'r-base' })).statusCode, 400)
  t.equal((await whatIf({ kind: 'rename', role: 'r-base' })).statusCode, 400)
  t.equal((await whatIf({ kind: 'grant', role: 'r-base', permission: 'reports:read', condition: { owner: false } })).json().code, 'INVALID_CONDITION')
  const badCondition = await whatIf({ kind: 'grant', role: 'r-base', permission: 'reports:read', condition: { nonsense: 1 } })
  const realBadCondition = await call('PUT', '/v1/roles/r-base/permissions/reports:read', { condition: { nonsense: 1 } })
  t.same([badCondition.statusCode, badCondition.json().code], [realBadCondition.statusCode, realBadCondition.json().code])
  t.same(badCondition.json().errors.map((e: { path: string }) => e.path), realBadCondition.json().errors.map((e: { path: string }) => e.path.replace('body/', 'body/change/')))

  const same = async (preview: Record<string, unknown>, method: Method, url: string, body?: unknown) => {
    const a = await whatIf(preview)
    const b = await call(method, url, body)
    t.same([a.statusCode, a.json().code, a.json().detail], [b.statusCode, b.json().code, b.json().detail], `${JSON.stringify(preview)} answers as ${method} ${url}`)
  }
  await same({ kind: 'grant', role: 'nope', permission: 'reports:read' }, 'PUT', '/v1/roles/nope/permissions/reports:read')
  await same({ kind: 'grant', role: 'r-base', permission: 'reports:nope' }, 'PUT', '/v1/roles/r-base/permissions/reports:nope')
  await same({ kind: 'grant', role: 'r-base', permission: 'Not A Name' }, 'PUT', '/v1/roles/r-base/permissions/Not%20A%20Name')
  await same({ kind: 'revoke', role: 'r-base', permission: 'users:read' }, 'DELETE', '/v1/roles/r-base/permissions/users:read')
  await same({ kind: 'inherit', role: 'moderator', parent: 'r-base' }, 'PATCH', '/v1/roles/moderator', { inherits: ['r-base'] })
  await same({ kind: 'inherit', role: 'r-base', parent: 'nope' }, 'PATCH', '/v1/roles/r-base', { inherits: ['moderator', 'nope'] })
  await same({ kind: 'delete-role', role: 'user' }, 'DELETE', '/v1/roles/user')
  await same({ kind: 'delete-role', role: 'nope' }, 'DELETE', '/v1/roles/nope')
  const unknownUser = '00000000-0000-4000-8000-000000000000'
  await same({ kind: 'assign', role: 'r-base', user: unknownUser }, 'PUT', `/v1/users/${unknownUser}/roles/r-base`, {})
  await same({ kind: 'assign', role: 'nope', user: frank.id }, 'PUT', `/v1/users/${frank.id}/roles/nope`, {})
  await same({ kind: 'assign', role: 'r-base', user: frank.id, tenant: 'nope' }, 'PUT', `/v1/users/${frank.id}/roles/r-base`, { tenant: 'nope' })
  await same({ kind: 'assign', role: 'r-base', user: frank.id, expiresAt: '2020-01-01T00:00:00Z' }, 'PUT', `/v1/users/${frank.id}/roles/r-base`, { expiresAt: '2020-01-01T00:00:00Z' })
  await same({ kind: 'unassign', role: 'r-wild', user: frank.id }, 'DELETE', `/v1/users/${frank.id}/roles/r-wild`)
  t.equal((await whatIf({ kind: 'grant', role: 'r-base', permission: 'reports:read', tenant: 'nope' })).statusCode, 404)
  t.equal((await whatIf({ kind: 'uninherit', role: 'r-base', parent: 'nope' })).statusCode, 400)

  for (const change of [
    { kind: 'grant', role: 'r-wild', permission: 'reports:*' },
    { kind: 'inherit', role: 'r-base', parent: 'moderator' },
    { kind: 'uninherit', role: 'r-base', parent: 'user' },
    { kind: 'assign', role: 'r-wild', user: erin.id }
  ]) {
    const noop = await preview(change)
    t.same([noop.gained, noop.lost], [{ count: 0, subjects: 0, items: [] }, { count: 0, subjects: 0, items: [] }], `${JSON.stringify(change)} changes nothing`)
  }
})

t.test('nothing is written', async t => {
  const users = await everyUser()
  const state = async () => ({
    roles: (await ok('GET', '/v1/roles?limit=100')).json().items,
    assignments: await Promise.all(users.map(async id => (await ok('GET', `/v1/users/${id}/roles?limit=100`)).json().items))
  })
  const before = await state()
  for (const change of [
    { kind: 'grant', role: 'r-base', permission: 'tokens:introspect', condition: { owner: true } },
    { kind: 'revoke', role: 'r-base', permission: 'reports:read' },
    { kind: 'inherit', role: 'r-wild', parent: 'editor' },
    { kind: 'uninherit', role: 'r-base', parent: 'moderator' },
    { kind: 'assign', role: 'admin', user: frank.id, tenant: 'globex' },
    { kind: 'unassign', role: 'moderator', user: frank.id },
    { kind: 'delete-role', role: 'r-wild' }
  ]) {
    const result = await preview(change)
    t.ok(result.gained.count + result.lost.count > 0, `${change.kind} has an effect`)
  }
  t.same(await state(), before)
})

t.test('a tenant-scoped administrator: its tenant\'s members and that tenant only', async t => {
  const acmeAdmin = await newUser(app, 'acmeadmin')
  await app.db.delete(roleAssignments).where(eq(roleAssignments.userId, acmeAdmin.id))
  await app.db.insert(roleAssignments).values({ userId: acmeAdmin.id, roleId: await roleId('admin'), tenantId: tenantIds.acme })
  await app.changes.publish(changed.user(acmeAdmin.id))
  const token = (await login(app, acmeAdmin.username, acmeAdmin.password, { tenant: 'acme' })).access_token

  const change = { kind: 'grant', role: 'r-wild', permission: 'reports:write' }
  await ok('PUT', `/v1/users/${alice.id}/roles/r-wild`, { tenant: 'acme' })
  await ok('PUT', `/v1/users/${bob.id}/roles/r-wild`)
  // what the global administrator sees, against the tenant administrator's view
  await ok('DELETE', '/v1/roles/r-wild/permissions/reports:*')
  const everywhere = await preview(change)
  const mine = await preview(change, token)
  t.same(short(everywhere.gained.items), ['alice acme reports:write', 'bob global reports:write', 'erin global reports:write'])
  t.same(short(mine.gained.items), ['alice acme reports:write', 'bob acme reports:write'], 'bob\'s global gain shows as held in acme; erin is not a member')
  t.same(mine.gained.count, 2)
  t.same(await preview({ ...change, tenant: 'acme' }), mine, 'a global administrator can ask for one tenant\'s view')

  t.equal((await whatIf({ kind: 'assign', role: 'r-base', user: erin.id }, token)).statusCode, 404, 'another tenant\'s user')
  t.equal((await whatIf({ kind: 'assign', role: 'r-base', user: alice.id, tenant: 'globex' }, token)).statusCode, 404, 'another tenant')
  t.equal((await whatIf({ kind: 'assign', role: 'r-base', user: alice.id, tenant: 'default' }, token)).statusCode, 404, 'no global preview either')
  t.equal((await whatIf({ ...change, tenant: 'globex' }, token)).statusCode, 404)
  const assignHere = await preview({ kind: 'assign', role: 'r-mid', user: alice.id }, token)
  t.same(short(assignHere.gained.items), ['alice acme reports:export'], 'without tenant: theirs (r-mid is its conditional reports:export now)')
})

t.test('permissions: roles:read and users:read', async t => {
  await ok('POST', '/v1/roles', { name: 'roles-reader', permissions: ['roles:read'] })
  await ok('POST', '/v1/roles', { name: 'users-reader', permissions: ['users:read'] })
  const rolesOnly = await newUser(app, 'rolesonly')
  await assign(rolesOnly.id, 'roles-reader')
  const usersOnly = await newUser(app, 'usersonly')
  await assign(usersOnly.id, 'users-reader')
  const change = { kind: 'grant', role: 'r-base', permission: 'reports:write' }
  t.equal((await whatIf(change, (await login(app, rolesOnly.username, rolesOnly.password)).access_token)).statusCode, 403, 'without users:read')
  t.equal((await whatIf(change, (await login(app, usersOnly.username, usersOnly.password)).access_token)).statusCode, 403, 'without roles:read')
  await assign(usersOnly.id, 'roles-reader')
  t.equal((await whatIf(change, (await login(app, usersOnly.username, usersOnly.password)).access_token)).statusCode, 200, 'with both')
  t.equal((await app.inject({ method: 'POST', url: '/v1/authz/what-if', payload: { change } })).statusCode, 401)
})

t.test('holders are read in pages: counts stay exact past one page', async t => {
  await ok('POST', '/v1/roles', { name: 'bulk' })
  const bulk = await roleId('bulk')
  const rows = Array.from({ length: 2345 }, (_, i) => ({ email: `bulk${i}@example.test`, username: `bulk${i}`, passwordHash: 'x' }))
  const ids = (await app.db.insert(users).values(rows).returning({ id: users.id })).map(r => r.id)
  await app.db.insert(roleAssignments).values(ids.map((userId, i) => ({ userId, roleId: bulk, tenantId: i % 2 === 0 ? null : tenantIds.acme })))
  const change = { kind: 'grant', role: 'bulk', permission: 'reports:write' }
  const result = (await whatIf(change)).json() as Result
  t.same([result.gained.count, result.gained.subjects, result.gained.items.length, result.lost.count], [2345, 2345, 100, 0], 'counts exact beyond the items')
  t.same(result.gained.items.map(i => i.subject.id), [...ids].sort().slice(0, 100), 'the first 100 by user id')
  const acme = await preview({ ...change, tenant: 'acme' })
  t.equal(acme.gained.count, 1172, 'acme\'s members only')
  t.ok(acme.gained.items.every(i => i.tenant === tenantIds.acme))
})

import t from 'tap'
import { and, eq } from 'drizzle-orm'
import { auditEvents, roleAssignments, tenants } from '../../src/db/schema/index.js'
import { bearer, build, login, loginAdmin, newUser } from '../helper.js'

const app = await build(t)
const admin = (await loginAdmin(app)).access_token
const plain = await newUser(app, 'plain')
const defaultTenant = (await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(admin) })).json().tenant.id as string

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
const call = (method: Method, url: string, payload?: object, token: string | null = admin) => app.inject({
  method,
  url,
  headers: token === null ? {} : bearer(token),
  ...(payload === undefined ? {} : { payload })
})

async function must (method: Method, url: string, payload: object | undefined, status: number, token: string = admin) {
  const res = await call(method, url, payload, token)
  if (res.statusCode !== status) throw new Error(`${method} ${url}: expected ${status}, got ${res.statusCode} ${res.body}`)
  return res
}

async function audited (action: string, targetId: string) {
  await app.audit.flush()
  return app.db.select().from(auditEvents).where(and(eq(auditEvents.action, action), eq(auditEvents.targetId, targetId)))
}

const ids = (items: Array<{ id: string }>) => items.map(i => i.id).sort()

t.test('POST, GET, PATCH /v1/tenants', async t => {
  const res = await call('POST', '/v1/tenants', { slug: 'acme', name: 'Acme Corp' })
  t.equal(res.statusCode, 201, res.body)
  const acme = res.json()
  t.match(acme, { slug: 'acme', name: 'Acme Corp', isDefault: false })
  t.match(acme.id, /^[0-9a-f-]{36}$/)
  t.ok(Date.parse(acme.createdAt))
  t.equal((await audited('tenant.create', acme.id)).length, 1)

  t.same((await call('GET', `/v1/tenants/${acme.id}`)).json(), acme, 'by id')
  t.same((await call('GET', '/v1/tenants/acme')).json(), acme, 'by slug')
  t.equal((await call('GET', '/v1/tenants/default')).json().isDefault, true)
  t.equal((await call('GET', '/v1/tenants/nope')).statusCode, 404)
  t.equal((await call('GET', '/v1/tenants/00000000-0000-4000-8000-000000000000')).statusCode, 404)

  t.equal((await call('POST', '/v1/tenants', { slug: 'acme', name: 'Again' })).statusCode, 409)
  for (const slug of ['Acme', '-acme', 'ac me', 'a'.repeat(64), '', '00000000-0000-4000-8000-000000000000']) {
    t.equal((await call('POST', '/v1/tenants', { slug, name: 'X' })).statusCode, 400, `slug ${JSON.stringify(slug)}`)
  }
  t.equal((await call('POST', '/v1/tenants', { slug: 'ok-slug', name: '' })).statusCode, 400, 'empty name')
  t.equal((await call('POST', '/v1/tenants', { slug: 'ok-slug', name: 'X', isDefault: true })).statusCode, 400, 'unknown property')
  t.equal((await call('POST', '/v1/tenants', { slug: 'ok-slug', name: 'X' }, null)).statusCode, 401)
  t.equal((await call('POST', '/v1/tenants', { slug: 'ok-slug', name: 'X' }, plain.token)).statusCode, 403)
  t.equal((await call('GET', '/v1/tenants/acme', undefined, plain.token)).statusCode, 403)

  const patched = await call('PATCH', '/v1/tenants/acme', { name: 'Acme Inc', slug: 'acme-inc' })
  t.equal(patched.statusCode, 200, patched.body)
  t.match(patched.json(), { id: acme.id, slug: 'acme-inc', name: 'Acme Inc' })
  t.equal((await call('GET', '/v1/tenants/acme')).statusCode, 404, 'the old slug is gone')
  t.equal((await call('PATCH', `/v1/tenants/${acme.id}`, { slug: 'default' })).statusCode, 409)
  t.equal((await call('PATCH', `/v1/tenants/${acme.id}`, {})).statusCode, 400)
  t.equal((await call('PATCH', `/v1/tenants/${acme.id}`, { id: 'x' })).statusCode, 400)
  t.equal((await call('PATCH', '/v1/tenants/nope', { name: 'x' })).statusCode, 404)
  t.equal((await call('PATCH', `/v1/tenants/${acme.id}`, { name: 'x' }, null)).statusCode, 401)
  t.equal((await call('PATCH', `/v1/tenants/${acme.id}`, { name: 'x' }, plain.token)).statusCode, 403)
  t.equal((await audited('tenant.update', acme.id)).length, 1)
})

t.test('GET /v1/tenants: pagination', async t => {
  for (let i = 0; i < 4; i++) await must('POST', '/v1/tenants', { slug: `page-${i}`, name: `Page ${i}` }, 201)
  const total = (await app.db.select({ id: tenants.id }).from(tenants)).length
  const seen: string[] = []
  let cursor: string | null = null
  do {
    const res = await call('GET', `/v1/tenants?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
    t.equal(res.statusCode, 200)
    seen.push(...res.json().items.map((x: { id: string }) => x.id))
    cursor = res.json().nextCursor
  } while (cursor !== null && seen.length < 100)
  t.equal(seen.length, total)
  t.equal(new Set(seen).size, total, 'no duplicates')
  t.equal((await call('GET', '/v1/tenants?cursor=bad!')).statusCode, 400)
  t.equal((await call('GET', '/v1/tenants', undefined, null)).statusCode, 401)
  t.equal((await call('GET', '/v1/tenants', undefined, plain.token)).statusCode, 403)
})

t.test('GET /v1/tenants/{id}/members', async t => {
  const team = (await must('POST', '/v1/tenants', { slug: 'team', name: 'Team' }, 201)).json()
  const members = [await newUser(app, 'm'), await newUser(app, 'm'), await newUser(app, 'm')]
  for (const m of members) await must('PUT', `/v1/users/${m.id}/roles/author`, { tenant: 'team' }, 201)
  await must('PUT', `/v1/users/${members[0].id}/roles/moderator`, { tenant: team.id }, 201)
  const outsider = await newUser(app, 'outsider')
  await must('PUT', `/v1/users/${outsider.id}/roles/moderator`, {}, 201)

  const res = await call('GET', '/v1/tenants/team/members')
  t.equal(res.statusCode, 200)
  t.same(ids(res.json().items), ids(members), 'a global assignment does not make a member')
  const first = res.json().items.find((m: { id: string }) => m.id === members[0].id)
  t.same(first.roles, ['author', 'moderator'])
  t.equal(first.username, members[0].username)
  t.notOk('passwordHash' in first)

  const p1 = await call('GET', `/v1/tenants/${team.id}/members?limit=2`)
  t.equal(p1.json().items.length, 2)
  const p2 = await call('GET', `/v1/tenants/${team.id}/members?limit=2&cursor=${p1.json().nextCursor}`)
  t.equal(p2.json().items.length, 1)
  t.equal(p2.json().nextCursor, null)
  t.same(ids([...p1.json().items, ...p2.json().items]), ids(members))

  t.equal((await call('GET', '/v1/tenants/nope/members')).statusCode, 404)
  t.equal((await call('GET', '/v1/tenants/team/members?cursor=zz')).statusCode, 400)
  t.equal((await call('GET', '/v1/tenants/team/members', undefined, null)).statusCode, 401)
  t.equal((await call('GET', '/v1/tenants/team/members', undefined, plain.token)).statusCode, 403)
})

t.test('DELETE /v1/tenants/{id}', async t => {
  const doomed = (await must('POST', '/v1/tenants', { slug: 'doomed', name: 'Doomed' }, 201)).json()
  const member = await newUser(app, 'doomed')
  await must('PUT', `/v1/users/${member.id}/roles/moderator`, { tenant: 'doomed' }, 201)
  const token = (await login(app, member.username, member.password, { tenant: 'doomed' })).access_token
  t.equal((await call('GET', '/v1/users?limit=1', undefined, token)).statusCode, 200)

  t.equal((await call('DELETE', '/v1/tenants/default')).statusCode, 409, 'the default tenant stays')
  t.equal((await call('DELETE', `/v1/tenants/${defaultTenant}`)).statusCode, 409)
  t.equal((await call('DELETE', '/v1/tenants/doomed', undefined, null)).statusCode, 401)
  t.equal((await call('DELETE', '/v1/tenants/doomed', undefined, plain.token)).statusCode, 403)
  const res = await call('DELETE', '/v1/tenants/doomed')
  t.equal(res.statusCode, 204)
  t.equal((await call('GET', `/v1/tenants/${doomed.id}`)).statusCode, 404)
  t.equal((await call('DELETE', '/v1/tenants/doomed')).statusCode, 404)
  t.equal((await app.db.select().from(roleAssignments).where(eq(roleAssignments.tenantId, doomed.id))).length, 0)
  t.equal((await call('GET', '/v1/users?limit=1', undefined, token)).statusCode, 401, 'tokens of the tenant stop working')
  t.equal((await audited('tenant.delete', doomed.id)).length, 1)
})

t.test('a tenant administrator sees and manages only their tenant', async t => {
  const a = (await must('POST', '/v1/tenants', { slug: 'tenant-a', name: 'A' }, 201)).json()
  const b = (await must('POST', '/v1/tenants', { slug: 'tenant-b', name: 'B' }, 201)).json()
  await must('POST', '/v1/permissions', { name: 'users:*' }, 201)
  await must('POST', '/v1/roles', { name: 'tenant-admin', permissions: ['users:*', 'roles:assign', 'tenants:read'] }, 201)
  await must('POST', '/v1/roles', { name: 'reader', permissions: ['users:read'] }, 201)

  const ta = await newUser(app, 'ta')
  await must('PUT', `/v1/users/${ta.id}/roles/tenant-admin`, { tenant: 'tenant-a' }, 201)
  const token = (await login(app, ta.username, ta.password, { tenant: 'tenant-a' })).access_token
  const inA = await newUser(app, 'ina')
  await must('PUT', `/v1/users/${inA.id}/roles/reader`, { tenant: a.id }, 201)
  const inB = await newUser(app, 'inb')
  await must('PUT', `/v1/users/${inB.id}/roles/reader`, { tenant: b.id }, 201)
  const both = await newUser(app, 'both')
  await must('PUT', `/v1/users/${both.id}/roles/reader`, { tenant: a.id }, 201)
  await must('PUT', `/v1/users/${both.id}/roles/reader`, { tenant: b.id }, 201)
  // created by the tenant admin: a member of A only
  const made = await must('POST', '/v1/users', { email: 'made-in-a@example.test', username: 'made_in_a', password: 'a fine long passphrase' }, 201, token)
  const onlyA = made.json().id as string

  const as = (method: Method, url: string, payload?: object) => call(method, url, payload, token)

  // users
  const list = await as('GET', '/v1/users?limit=100')
  t.equal(list.statusCode, 200)
  t.same(list.json().items.map((u: { id: string }) => u.id).sort(), [ta.id, inA.id, both.id, onlyA].sort(), 'only members of A')
  t.same((await as('GET', `/v1/users?q=${inB.username}`)).json().items, [], 'search does not reach B')
  const paged: string[] = []
  let cursor: string | null = null
  do {
    const page = await as('GET', `/v1/users?limit=1${cursor ? `&cursor=${cursor}` : ''}`)
    paged.push(...page.json().items.map((u: { id: string }) => u.id))
    cursor = page.json().nextCursor
  } while (cursor !== null && paged.length < 20)
  t.same(paged.sort(), [ta.id, inA.id, both.id, onlyA].sort(), 'pages do not reach B either')

  const hidden = [inB.id, plain.id]
  for (const id of hidden) {
    for (const [method, url, payload] of [
      ['GET', `/v1/users/${id}`],
      ['PATCH', `/v1/users/${id}`, { fullName: 'Hijacked' }],
      ['PATCH', `/v1/users/${id}`, { isActive: false }],
      ['DELETE', `/v1/users/${id}`],
      ['GET', `/v1/users/${id}/roles`],
      ['PUT', `/v1/users/${id}/roles/reader`, {}],
      ['PUT', `/v1/users/${id}/roles/reader`, { tenant: 'tenant-a' }],
      ['DELETE', `/v1/users/${id}/roles/reader`],
      ['DELETE', `/v1/users/${id}/roles/reader?tenant=tenant-b`],
      ['GET', `/v1/users/${id}/permissions`],
      ['GET', `/v1/users/${id}/permissions?tenant=tenant-b`]
    ] as Array<[Method, string, object?]>) {
      const res = await as(method, url, payload)
      t.equal(res.statusCode, 404, `${method} ${url.replace(id, '<other tenant\'s user>')}`)
      t.equal(res.json().code, 'NOT_FOUND')
    }
  }
  t.equal((await call('GET', `/v1/users/${inB.id}`)).json().fullName, null, 'B\'s user unchanged')
  t.equal((await call('GET', `/v1/users/${inB.id}`)).json().isActive, true)

  // a shared member: visible, but only A's side of them, and not A's to disable or delete
  const bothRoles = await as('GET', `/v1/users/${both.id}/roles`)
  t.equal(bothRoles.statusCode, 200)
  t.same(bothRoles.json().items.map((x: { tenant: string }) => x.tenant), [a.id], 'only A\'s assignments')
  t.equal((await as('GET', `/v1/users/${both.id}/roles?tenant=tenant-b`)).statusCode, 404)
  t.equal((await as('GET', `/v1/users/${both.id}/permissions?tenant=tenant-b`)).statusCode, 404)
  t.equal((await as('GET', `/v1/users/${both.id}/permissions`)).json().tenant, a.id)
  t.equal((await as('PUT', `/v1/users/${both.id}/roles/reader`, { tenant: b.id })).statusCode, 404, 'cannot assign in B')
  t.equal((await as('DELETE', `/v1/users/${both.id}/roles/reader?tenant=${b.id}`)).statusCode, 404, 'cannot unassign in B')
  t.equal((await as('PUT', `/v1/users/${both.id}/roles/reader`, { tenant: 'default' })).statusCode, 404, 'nor in the default tenant')
  t.equal((await as('PATCH', `/v1/users/${both.id}`, { isActive: false })).statusCode, 403, 'a shared account is not A\'s to disable')
  t.equal((await as('DELETE', `/v1/users/${both.id}`)).statusCode, 403)
  t.equal((await call('GET', `/v1/users/${both.id}/roles?tenant=tenant-b`)).json().items.length, 1, 'B\'s assignment untouched')

  // within A everything works
  t.equal((await as('GET', `/v1/users/${inA.id}`)).statusCode, 200)
  t.equal((await as('PATCH', `/v1/users/${onlyA}`, { fullName: 'Made In A' })).statusCode, 200)
  const assigned = await as('PUT', `/v1/users/${onlyA}/roles/reader`, {})
  t.equal(assigned.statusCode, 201, assigned.body)
  t.equal(assigned.json().tenant, a.id, 'a missing tenant means A')
  t.equal((await as('DELETE', `/v1/users/${onlyA}/roles/reader`)).statusCode, 204)
  const roles = await call('GET', `/v1/users/${onlyA}/roles`)
  t.same(roles.json().items.map((x: { role: string, tenant: string }) => [x.role, x.tenant]), [['user', a.id]], 'created with the default role in A')
  t.equal((await as('DELETE', `/v1/users/${onlyA}`)).statusCode, 204)

  // tenants
  const tenantList = await as('GET', '/v1/tenants')
  t.same(tenantList.json().items.map((x: { id: string }) => x.id), [a.id], 'only A')
  t.equal((await as('GET', '/v1/tenants/tenant-a')).statusCode, 200)
  for (const ref of ['tenant-b', b.id, 'default', defaultTenant]) {
    t.equal((await as('GET', `/v1/tenants/${ref}`)).statusCode, 404, `GET tenant ${ref}`)
    t.equal((await as('GET', `/v1/tenants/${ref}/members`)).statusCode, 404, `GET members of ${ref}`)
  }
  const members = await as('GET', '/v1/tenants/tenant-a/members')
  t.same(ids(members.json().items), [ta.id, inA.id, both.id].sort())

  // with tenants:write from a tenant role: A may be renamed; B stays invisible; no creating or deleting
  await must('POST', '/v1/roles', { name: 'tenant-owner', permissions: ['tenants:read', 'tenants:write'] }, 201)
  const owner = await newUser(app, 'owner')
  await must('PUT', `/v1/users/${owner.id}/roles/tenant-owner`, { tenant: a.id }, 201)
  const ownerToken = (await login(app, owner.username, owner.password, { tenant: 'tenant-a' })).access_token
  t.equal((await call('PATCH', '/v1/tenants/tenant-b', { name: 'Mine' }, ownerToken)).statusCode, 404)
  // deleting tenants is a global operation: refused alike for every tenant, existing or not, so
  // the answer tells nothing about B
  t.equal((await call('DELETE', '/v1/tenants/tenant-b', undefined, ownerToken)).statusCode, 403)
  t.equal((await call('DELETE', '/v1/tenants/no-such-tenant', undefined, ownerToken)).statusCode, 403)
  t.equal((await call('PATCH', '/v1/tenants/tenant-a', { name: 'A renamed' }, ownerToken)).statusCode, 200)
  t.equal((await call('DELETE', '/v1/tenants/tenant-a', undefined, ownerToken)).statusCode, 403)
  t.equal((await call('POST', '/v1/tenants', { slug: 'new-one', name: 'New' }, ownerToken)).statusCode, 403)
  t.equal((await call('GET', '/v1/tenants/tenant-b')).json().name, 'B', 'B unchanged')

  // the same user in the default tenant has no admin rights at all
  const elsewhere = (await login(app, ta.username, ta.password)).access_token
  t.equal((await call('GET', '/v1/users', undefined, elsewhere)).statusCode, 403)
})

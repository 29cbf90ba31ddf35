import t from 'tap'
import { build, createTestDatabase, loginAdmin, newUser, bearer } from '../helper.js'
import type { App } from '../../src/app.js'

/**
 * GET /v1/auth/me answers from the access state authn keeps (issue 12): no SQL once warm, and
 * still exact after every change that touches what it shows, on this instance at once and on
 * another instance of the same database once the change is heard.
 */
let queries = 0
const db = await createTestDatabase(t, { onQuery: () => { queries++ } })
const a = await build(t, {}, db)
const b = await build(t, {}, db)
const admin = bearer((await loginAdmin(a)).access_token)

const me = async (app: App, token: string) => {
  const res = await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(token) })
  if (res.statusCode !== 200) throw new Error(`/me: ${res.statusCode} ${res.body}`)
  return res.json()
}
async function eventually (check: () => Promise<boolean>, ms = 2000) {
  const deadline = Date.now() + ms
  while (!await check()) {
    if (Date.now() > deadline) return false
    await new Promise(resolve => setTimeout(resolve, 10))
  }
  return true
}

t.test('no SQL once warm', async t => {
  const u = await newUser(a, 'me0')
  const first = await me(a, u.token)
  await new Promise(resolve => setTimeout(resolve, 100))
  await a.audit.flush()
  const before = queries
  for (let i = 0; i < 10; i++) t.same(await me(a, u.token), first)
  t.equal(queries - before, 0, 'ten warm /me: no statement')
})

t.test('the caller\'s own changes show at once, and on the other instance', async t => {
  const u = await newUser(a, 'me1')
  await me(a, u.token)
  await me(b, u.token)
  const patched = await a.inject({ method: 'PATCH', url: '/v1/auth/me', headers: bearer(u.token), payload: { fullName: 'Renamed Person' } })
  t.equal(patched.statusCode, 200)
  const after = await me(a, u.token)
  t.equal(after.fullName, 'Renamed Person', 'A at once')
  t.equal(after.updatedAt, patched.json().updatedAt)
  t.ok(await eventually(async () => (await me(b, u.token)).fullName === 'Renamed Person'), 'B once it hears the change')
})

t.test('an administrator\'s change to the user, a role assignment and a tenant rename show', async t => {
  const u = await newUser(a, 'me2')
  const before = await me(b, u.token)
  t.equal((await a.inject({ method: 'PATCH', url: `/v1/users/${u.id}`, headers: admin, payload: { fullName: 'Set By Admin' } })).statusCode, 200)
  t.ok(await eventually(async () => (await me(b, u.token)).fullName === 'Set By Admin'), 'the admin\'s edit reaches B')

  const role = (await a.inject({ method: 'POST', url: '/v1/roles', headers: admin, payload: { name: 'me-role-' + Date.now(), permissions: ['posts:read'] } })).json()
  t.equal((await a.inject({ method: 'PUT', url: `/v1/users/${u.id}/roles/${role.name}`, headers: admin, payload: {} })).statusCode, 201)
  t.ok(await eventually(async () => (await me(b, u.token)).roles.includes(role.name)), 'a new role shows on B')

  const slug = before.tenant.slug as string
  const renamed = await a.inject({ method: 'PATCH', url: `/v1/tenants/${before.tenant.id}`, headers: admin, payload: { name: 'Renamed Tenant' } })
  t.equal(renamed.statusCode, 200)
  t.ok(await eventually(async () => (await me(b, u.token)).tenant.name === 'Renamed Tenant'), 'the tenant\'s new name shows on B')
  t.equal((await me(a, u.token)).tenant.slug, slug)
  await a.inject({ method: 'PATCH', url: `/v1/tenants/${before.tenant.id}`, headers: admin, payload: { name: before.tenant.name } })
})

t.test('an expired assignment is not a held role', async t => {
  const u = await newUser(a, 'me3')
  const role = (await a.inject({ method: 'POST', url: '/v1/roles', headers: admin, payload: { name: 'me-short-' + Date.now(), permissions: ['posts:read'] } })).json()
  const expiresAt = new Date(Date.now() + 1500).toISOString()
  t.equal((await a.inject({ method: 'PUT', url: `/v1/users/${u.id}/roles/${role.name}`, headers: admin, payload: { expiresAt } })).statusCode, 201)
  t.ok((await me(a, u.token)).roles.includes(role.name), 'held while it lasts')
  t.ok(await eventually(async () => !(await me(a, u.token)).roles.includes(role.name), 4000), 'gone once it expired, without a change')
})

import t from 'tap'
import { eq, and, isNull } from 'drizzle-orm'
import { build, createTestDatabase, newUser, bearer } from './helper.js'
import { roleAssignments, roles, rolePermissions, users } from '../src/db/schema/index.js'
import type { App } from '../src/app.js'
import { changed } from '../src/access/changes.js'

// Two instances on one database: a change made through one is refused on the other at its
// next request (LISTEN/NOTIFY), not at token expiry.

async function eventually (app: App, token: string, url: string, expected: number) {
  let status = 0
  for (let i = 0; i < 200; i++) {
    status = (await app.inject({ method: 'GET', url, headers: bearer(token) })).statusCode
    if (status === expected) return status
    await new Promise(resolve => setTimeout(resolve, 10))
  }
  return status
}

t.test('changes on instance A are enforced on instance B', async t => {
  const db = await createTestDatabase(t)
  const a = await build(t, {}, db)
  const b = await build(t, {}, db)

  t.test('disabling a user', async t => {
    const u = await newUser(a)
    t.equal((await b.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(u.token) })).statusCode, 200, 'B accepts the token (and caches the user)')
    await a.db.update(users).set({ isActive: false }).where(eq(users.id, u.id))
    await a.changes.publish(changed.user(u.id))
    t.equal(await eventually(b, u.token, '/v1/auth/me', 401), 401, 'B refuses it')
  })

  t.test('ending a session', async t => {
    const u = await newUser(a)
    t.equal((await b.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(u.token) })).statusCode, 200)
    const out = await a.inject({ method: 'POST', url: '/v1/auth/logout', headers: bearer(u.token) })
    t.equal(out.statusCode, 204)
    t.equal(await eventually(b, u.token, '/v1/auth/me', 401), 401, 'B refuses the logged-out token')
  })

  t.test('removing the role behind a permission', async t => {
    const u = await newUser(a)
    const [role] = await a.db.insert(roles).values({ name: 'scraper' }).returning()
    await a.db.insert(rolePermissions).values({ roleId: role.id, permission: 'metrics:read' })
    await a.db.insert(roleAssignments).values({ userId: u.id, roleId: role.id, tenantId: null })
    await a.changes.publish(changed.graph, changed.user(u.id))
    // the token's scopes are fixed at login: log in again to carry metrics:read
    const login = await a.inject({
      method: 'POST',
      url: '/v1/auth/token',
      payload: { grant_type: 'password', username: u.username, password: u.password }
    })
    const token = login.json().access_token
    t.equal(await eventually(b, token, '/metrics', 200), 200, 'B allows /metrics')
    await a.db.delete(roleAssignments).where(and(eq(roleAssignments.userId, u.id), eq(roleAssignments.roleId, role.id), isNull(roleAssignments.tenantId)))
    await a.changes.publish(changed.user(u.id))
    t.equal(await eventually(b, token, '/metrics', 403), 403, 'B refuses once the assignment is gone')
  })

  t.test('removing a grant from a role', async t => {
    const u = await newUser(a)
    const [role] = await a.db.insert(roles).values({ name: 'scraper2' }).returning()
    await a.db.insert(rolePermissions).values({ roleId: role.id, permission: 'metrics:read' })
    await a.db.insert(roleAssignments).values({ userId: u.id, roleId: role.id, tenantId: null })
    await a.changes.publish(changed.graph, changed.user(u.id))
    const login = await a.inject({ method: 'POST', url: '/v1/auth/token', payload: { grant_type: 'password', username: u.username, password: u.password } })
    const token = login.json().access_token
    t.equal(await eventually(b, token, '/metrics', 200), 200)
    t.equal((await b.inject({ method: 'GET', url: '/metrics', headers: bearer(token) })).statusCode, 200, 'B allows again (now from the allow it remembered)')
    await a.db.delete(rolePermissions).where(eq(rolePermissions.roleId, role.id))
    await a.changes.publish(changed.graph)
    t.equal(await eventually(b, token, '/metrics', 403), 403, 'B refuses once the grant is gone')
  })
})

t.test('a remembered allow ends with the assignment behind it, with no change published', async t => {
  const app = await build(t)
  const u = await newUser(app)
  const [role] = await app.db.insert(roles).values({ name: 'brief-scraper' }).returning()
  await app.db.insert(rolePermissions).values({ roleId: role.id, permission: 'metrics:read' })
  const expiresAt = new Date(Date.now() + 4000)
  await app.db.insert(roleAssignments).values({ userId: u.id, roleId: role.id, tenantId: null, expiresAt })
  await app.changes.publish(changed.graph, changed.user(u.id))
  const login = await app.inject({ method: 'POST', url: '/v1/auth/token', payload: { grant_type: 'password', username: u.username, password: u.password, scope: 'metrics:read' } })
  t.equal(login.statusCode, 200)
  const token = login.json().access_token
  for (let i = 0; i < 3; i++) {
    const res = await app.inject({ method: 'GET', url: '/metrics', headers: bearer(token) })
    if (Date.now() < expiresAt.getTime()) t.equal(res.statusCode, 200, `allowed before the expiry (${i + 1})`)
  }
  await new Promise(resolve => setTimeout(resolve, Math.max(0, expiresAt.getTime() - Date.now()) + 20))
  t.equal((await app.inject({ method: 'GET', url: '/metrics', headers: bearer(token) })).statusCode, 403, 'refused once the assignment has expired')
})

t.test('while the change listener is down, nothing cached is trusted', async t => {
  const app = await build(t)
  const u = await newUser(app)
  t.equal((await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(u.token) })).statusCode, 200, 'cached')
  // the listening connection is lost: changes from other instances may go unheard from now on
  app.access.invalidate(changed.listener(false))
  t.notOk(app.access.trusted())
  // a change this instance is not told about (no NOTIFY, as if made elsewhere during the loss)
  await app.db.update(users).set({ isActive: false }).where(eq(users.id, u.id))
  t.equal((await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(u.token) })).statusCode, 401, 'read through: refused at once')
  await app.db.update(users).set({ isActive: true }).where(eq(users.id, u.id))
  t.equal((await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(u.token) })).statusCode, 200, 'and allowed again at once')
  t.same(app.access.stats(), { subjects: 0, sessions: 0, clients: 0, revokedTokens: 0 }, 'nothing was cached meanwhile')
  app.access.invalidate(changed.listener(true))
  t.ok(app.access.trusted(), 'trusted again once listening')
  t.equal((await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(u.token) })).statusCode, 200)
  t.ok(app.access.stats().subjects >= 1, 'and caching again')
})

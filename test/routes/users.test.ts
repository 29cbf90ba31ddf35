import t from 'tap'
import { and, eq } from 'drizzle-orm'
import { auditEvents, roleAssignments, users } from '../../src/db/schema/index.js'
import { bearer, build, login, loginAdmin, newUser } from '../helper.js'

const app = await build(t)
const admin = (await loginAdmin(app)).access_token
const me = (await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(admin) })).json()
const defaultTenant = me.tenant.id as string
const plain = await newUser(app, 'plain')

const USER_KEYS = ['createdAt', 'email', 'fullName', 'id', 'isActive', 'updatedAt', 'username']

let seq = 0
function userBody (extra: Record<string, unknown> = {}) {
  seq++
  return { email: `Made${seq}@Example.test`, username: `made_${seq}`, password: 'a perfectly fine passphrase', ...extra }
}

async function auditFor (action: string, targetId: string) {
  await app.audit.flush()
  return app.db.select().from(auditEvents).where(and(eq(auditEvents.action, action), eq(auditEvents.targetId, targetId)))
}

t.test('POST /v1/users', async t => {
  const res = await app.inject({ method: 'POST', url: '/v1/users', headers: bearer(admin), payload: userBody({ fullName: 'Made One' }) })
  t.equal(res.statusCode, 201, res.body)
  const user = res.json()
  t.same(Object.keys(user).sort(), USER_KEYS, 'the user shape, never a hash')
  t.equal(user.email, `made${seq}@example.test`, 'email lower-cased')
  t.equal(user.username, `made_${seq}`)
  t.equal(user.fullName, 'Made One')
  t.equal(user.isActive, true)
  const [row] = await app.db.select().from(users).where(eq(users.id, user.id))
  t.match(row.passwordHash, /^\$argon2id\$/)

  const roles = await app.inject({ method: 'GET', url: `/v1/users/${user.id}/roles`, headers: bearer(admin) })
  t.same(roles.json().items.map((a: { role: string, tenant: string }) => [a.role, a.tenant]), [['user', defaultTenant]], 'default role in the admin\'s tenant')

  const tokens = await login(app, `made_${seq}`, 'a perfectly fine passphrase')
  t.ok(tokens.access_token, 'the new user can log in')

  const audit = await auditFor('user.create', user.id)
  t.equal(audit.length, 1)
  t.equal(audit[0].actorId, me.id)
  t.notOk(JSON.stringify(audit[0].after).includes('argon2'), 'no hash in the audit log')

  const disabled = await app.inject({ method: 'POST', url: '/v1/users', headers: bearer(admin), payload: userBody({ isActive: false }) })
  t.equal(disabled.statusCode, 201)
  t.equal(disabled.json().isActive, false)
})

t.test('POST /v1/users errors', async t => {
  const taken = userBody()
  t.equal((await app.inject({ method: 'POST', url: '/v1/users', headers: bearer(admin), payload: taken })).statusCode, 201)
  const sameEmail = await app.inject({ method: 'POST', url: '/v1/users', headers: bearer(admin), payload: { ...userBody(), email: taken.email.toUpperCase() } })
  t.equal(sameEmail.statusCode, 409, 'email taken, in another case')
  t.equal(sameEmail.json().code, 'CONFLICT')
  const sameName = await app.inject({ method: 'POST', url: '/v1/users', headers: bearer(admin), payload: { ...userBody(), username: taken.username.toUpperCase() } })
  t.equal(sameName.statusCode, 409, 'username taken, in another case')

  const weak = await app.inject({ method: 'POST', url: '/v1/users', headers: bearer(admin), payload: userBody({ password: 'password' }) })
  t.equal(weak.statusCode, 400)
  t.equal(weak.json().code, 'WEAK_PASSWORD')
  const short = await app.inject({ method: 'POST', url: '/v1/users', headers: bearer(admin), payload: userBody({ password: 'short' }) })
  t.equal(short.json().code, 'WEAK_PASSWORD')

  const unknown = await app.inject({ method: 'POST', url: '/v1/users', headers: bearer(admin), payload: userBody({ role: 'admin' }) })
  t.equal(unknown.statusCode, 400)
  t.equal(unknown.json().code, 'VALIDATION_FAILED')
  const badEmail = await app.inject({ method: 'POST', url: '/v1/users', headers: bearer(admin), payload: userBody({ email: 'nope' }) })
  t.equal(badEmail.statusCode, 400)
  const coerced = await app.inject({ method: 'POST', url: '/v1/users', headers: bearer(admin), payload: userBody({ isActive: 'false' }) })
  t.equal(coerced.statusCode, 400, 'bodies are not coerced')
  const missing = await app.inject({ method: 'POST', url: '/v1/users', headers: bearer(admin), payload: { email: 'x@example.test' } })
  t.equal(missing.statusCode, 400)

  t.equal((await app.inject({ method: 'POST', url: '/v1/users', payload: userBody() })).statusCode, 401)
  const forbidden = await app.inject({ method: 'POST', url: '/v1/users', headers: bearer(plain.token), payload: userBody() })
  t.equal(forbidden.statusCode, 403)
  t.equal(forbidden.json().code, 'FORBIDDEN')
})

t.test('GET /v1/users: pagination and search', async t => {
  for (let i = 0; i < 5; i++) {
    const res = await app.inject({ method: 'POST', url: '/v1/users', headers: bearer(admin), payload: userBody({ fullName: `Pager Person ${i}` }) })
    t.equal(res.statusCode, 201)
  }
  const total = (await app.db.select({ id: users.id }).from(users)).length
  t.ok(total > 7)
  const seen: string[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const url: string = `/v1/users?limit=3${cursor ? `&cursor=${cursor}` : ''}`
    const res = await app.inject({ method: 'GET', url, headers: bearer(admin) })
    t.equal(res.statusCode, 200)
    const body = res.json()
    t.ok(body.items.length <= 3)
    seen.push(...body.items.map((u: { id: string }) => u.id))
    cursor = body.nextCursor
    pages++
  } while (cursor !== null && pages < 50)
  t.equal(seen.length, total, 'every user once')
  t.equal(new Set(seen).size, total, 'no duplicates')
  t.ok(pages >= 3)

  const found = await app.inject({ method: 'GET', url: '/v1/users?q=pager%20PERSON', headers: bearer(admin) })
  t.equal(found.json().items.length, 5, 'search by full name, ignoring case')
  const byEmail = await app.inject({ method: 'GET', url: `/v1/users?q=${encodeURIComponent(plain.email.toUpperCase())}`, headers: bearer(admin) })
  t.same(byEmail.json().items.map((u: { id: string }) => u.id), [plain.id])
  const wildcard = await app.inject({ method: 'GET', url: '/v1/users?q=%25', headers: bearer(admin) })
  t.equal(wildcard.json().items.length, 0, 'LIKE metacharacters are literal')
  t.notOk(JSON.stringify(found.json()).includes('argon2'))

  t.equal((await app.inject({ method: 'GET', url: '/v1/users?cursor=garbage', headers: bearer(admin) })).statusCode, 400)
  const forged = Buffer.from(JSON.stringify({ t: 'x', id: 'y' })).toString('base64url')
  t.equal((await app.inject({ method: 'GET', url: `/v1/users?cursor=${forged}`, headers: bearer(admin) })).statusCode, 400)
  t.equal((await app.inject({ method: 'GET', url: '/v1/users?limit=0', headers: bearer(admin) })).statusCode, 400)
  t.equal((await app.inject({ method: 'GET', url: '/v1/users?limit=101', headers: bearer(admin) })).statusCode, 400)
  t.equal((await app.inject({ method: 'GET', url: '/v1/users' })).statusCode, 401)
  t.equal((await app.inject({ method: 'GET', url: '/v1/users', headers: bearer(plain.token) })).statusCode, 403)
})

t.test('GET /v1/users/{id}', async t => {
  const res = await app.inject({ method: 'GET', url: `/v1/users/${plain.id}`, headers: bearer(admin) })
  t.equal(res.statusCode, 200)
  t.equal(res.json().username, plain.username)
  t.same(Object.keys(res.json()).sort(), USER_KEYS)
  const missing = await app.inject({ method: 'GET', url: '/v1/users/00000000-0000-4000-8000-000000000000', headers: bearer(admin) })
  t.equal(missing.statusCode, 404)
  t.equal(missing.json().code, 'NOT_FOUND')
  t.equal((await app.inject({ method: 'GET', url: '/v1/users/not-a-uuid', headers: bearer(admin) })).statusCode, 400)
  t.equal((await app.inject({ method: 'GET', url: `/v1/users/${plain.id}` })).statusCode, 401)
  t.equal((await app.inject({ method: 'GET', url: `/v1/users/${plain.id}`, headers: bearer(plain.token) })).statusCode, 403)
})

t.test('PATCH /v1/users/{id}', async t => {
  const target = await newUser(app, 'patched')
  const res = await app.inject({ method: 'PATCH', url: `/v1/users/${target.id}`, headers: bearer(admin), payload: { fullName: 'Patched Name', email: 'Patched.New@Example.test' } })
  t.equal(res.statusCode, 200, res.body)
  t.equal(res.json().fullName, 'Patched Name')
  t.equal(res.json().email, 'patched.new@example.test')
  t.ok(res.json().updatedAt >= res.json().createdAt)
  const audit = await auditFor('user.update', target.id)
  t.equal(audit.length, 1)
  t.match(audit[0].before, { email: target.email })
  t.match(audit[0].after, { email: 'patched.new@example.test', fullName: 'Patched Name' })

  const clash = await app.inject({ method: 'PATCH', url: `/v1/users/${target.id}`, headers: bearer(admin), payload: { username: plain.username.toUpperCase() } })
  t.equal(clash.statusCode, 409)
  const clashEmail = await app.inject({ method: 'PATCH', url: `/v1/users/${target.id}`, headers: bearer(admin), payload: { email: plain.email } })
  t.equal(clashEmail.statusCode, 409)
  t.equal((await app.inject({ method: 'PATCH', url: `/v1/users/${target.id}`, headers: bearer(admin), payload: {} })).statusCode, 400, 'empty change')
  t.equal((await app.inject({ method: 'PATCH', url: `/v1/users/${target.id}`, headers: bearer(admin), payload: { password: 'new password here' } })).statusCode, 400, 'unknown property')
  t.equal((await app.inject({ method: 'PATCH', url: `/v1/users/${target.id}`, headers: bearer(admin), payload: { isActive: 0 } })).statusCode, 400)
  t.equal((await app.inject({ method: 'PATCH', url: '/v1/users/00000000-0000-4000-8000-000000000000', headers: bearer(admin), payload: { fullName: 'x' } })).statusCode, 404)
  t.equal((await app.inject({ method: 'PATCH', url: `/v1/users/${target.id}`, payload: { fullName: 'x' } })).statusCode, 401)
  t.equal((await app.inject({ method: 'PATCH', url: `/v1/users/${target.id}`, headers: bearer(plain.token), payload: { fullName: 'x' } })).statusCode, 403)
})

t.test('disabling a user stops their tokens at once', async t => {
  const target = await newUser(app, 'disabled')
  const before = await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(target.token) })
  t.equal(before.statusCode, 200)
  const res = await app.inject({ method: 'PATCH', url: `/v1/users/${target.id}`, headers: bearer(admin), payload: { isActive: false } })
  t.equal(res.statusCode, 200)
  t.equal(res.json().isActive, false)
  const after = await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(target.token) })
  t.equal(after.statusCode, 401, 'the existing token fails on the next request')
  t.match(after.headers['www-authenticate'], /invalid_token/)
  const loginAgain = await app.inject({
    method: 'POST',
    url: '/v1/auth/token',
    payload: { grant_type: 'password', username: target.username, password: target.password }
  })
  t.equal(loginAgain.statusCode, 400, 'a disabled user cannot log in')

  const enabled = await app.inject({ method: 'PATCH', url: `/v1/users/${target.id}`, headers: bearer(admin), payload: { isActive: true } })
  t.equal(enabled.statusCode, 200)
  const old = await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(target.token) })
  t.equal(old.statusCode, 401, 're-enabling does not revive the old sessions')
  t.ok((await login(app, target.username, target.password)).access_token, 'but the user can log in again')
  t.equal((await auditFor('user.disable', target.id)).length, 1)
})

t.test('DELETE /v1/users/{id}', async t => {
  const target = await newUser(app, 'deleted')
  const res = await app.inject({ method: 'DELETE', url: `/v1/users/${target.id}`, headers: bearer(admin) })
  t.equal(res.statusCode, 204)
  t.equal(res.body, '')
  t.equal((await app.inject({ method: 'GET', url: `/v1/users/${target.id}`, headers: bearer(admin) })).statusCode, 404)
  t.equal((await app.db.select().from(roleAssignments).where(eq(roleAssignments.userId, target.id))).length, 0)
  t.equal((await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(target.token) })).statusCode, 401, 'their token stops working')
  t.equal((await app.inject({ method: 'DELETE', url: `/v1/users/${target.id}`, headers: bearer(admin) })).statusCode, 404)
  t.equal((await auditFor('user.delete', target.id)).length, 1)
  t.equal((await app.inject({ method: 'DELETE', url: `/v1/users/${plain.id}` })).statusCode, 401)
  t.equal((await app.inject({ method: 'DELETE', url: `/v1/users/${plain.id}`, headers: bearer(plain.token) })).statusCode, 403)
})

t.test('role assignments', async t => {
  const target = await newUser(app, 'assigned')
  const url = `/v1/users/${target.id}/roles`
  const created = await app.inject({ method: 'PUT', url: `${url}/editor`, headers: bearer(admin), payload: {} })
  t.equal(created.statusCode, 201, created.body)
  t.same(created.json(), { role: 'editor', tenant: null, expiresAt: null, createdAt: created.json().createdAt })
  const again = await app.inject({ method: 'PUT', url: `${url}/editor`, headers: bearer(admin), payload: {} })
  t.equal(again.statusCode, 200, 'idempotent')
  const noBody = await app.inject({ method: 'PUT', url: `${url}/moderator`, headers: bearer(admin) })
  t.equal(noBody.statusCode, 201, 'the body is optional')

  const expiresAt = new Date(Date.now() + 3_600_000).toISOString()
  const inTenant = await app.inject({ method: 'PUT', url: `${url}/author`, headers: bearer(admin), payload: { tenant: 'default', expiresAt } })
  t.equal(inTenant.statusCode, 201)
  t.same(inTenant.json(), { role: 'author', tenant: defaultTenant, expiresAt, createdAt: inTenant.json().createdAt })
  const byId = await app.inject({ method: 'PUT', url: `${url}/author`, headers: bearer(admin), payload: { tenant: defaultTenant } })
  t.equal(byId.statusCode, 200, 'the same assignment named by tenant id')
  t.equal(byId.json().expiresAt, null, 'PUT replaces the expiry')

  const list = await app.inject({ method: 'GET', url, headers: bearer(admin) })
  t.equal(list.statusCode, 200)
  t.same(list.json().items.map((a: { role: string, tenant: string | null }) => `${a.role}@${a.tenant ?? 'global'}`).sort(),
    [`author@${defaultTenant}`, 'editor@global', 'moderator@global', `user@${defaultTenant}`])
  const page1 = await app.inject({ method: 'GET', url: `${url}?limit=2`, headers: bearer(admin) })
  const page2 = await app.inject({ method: 'GET', url: `${url}?limit=2&cursor=${page1.json().nextCursor}`, headers: bearer(admin) })
  t.equal(page1.json().items.length, 2)
  t.equal(page2.json().items.length, 2)
  t.equal(page2.json().nextCursor, null)
  t.equal(new Set([...page1.json().items, ...page2.json().items].map((a: { role: string }) => a.role)).size, 4)
  const filtered = await app.inject({ method: 'GET', url: `${url}?tenant=default`, headers: bearer(admin) })
  t.same(filtered.json().items.map((a: { role: string }) => a.role).sort(), ['author', 'user'])

  const past = await app.inject({ method: 'PUT', url: `${url}/author`, headers: bearer(admin), payload: { expiresAt: '2001-01-01T00:00:00Z' } })
  t.equal(past.statusCode, 400, 'an expiry in the past')
  t.equal((await app.inject({ method: 'PUT', url: `${url}/author`, headers: bearer(admin), payload: { expiresAt: 'tomorrow' } })).statusCode, 400)
  t.equal((await app.inject({ method: 'PUT', url: `${url}/author`, headers: bearer(admin), payload: { role: 'x' } })).statusCode, 400)
  t.equal((await app.inject({ method: 'PUT', url: `${url}/no-such-role`, headers: bearer(admin), payload: {} })).statusCode, 404)
  t.equal((await app.inject({ method: 'PUT', url: `${url}/author`, headers: bearer(admin), payload: { tenant: 'no-such-tenant' } })).statusCode, 404)
  t.equal((await app.inject({ method: 'PUT', url: '/v1/users/00000000-0000-4000-8000-000000000000/roles/author', headers: bearer(admin), payload: {} })).statusCode, 404)
  t.equal((await app.inject({ method: 'PUT', url: `${url}/author`, payload: {} })).statusCode, 401)
  t.equal((await app.inject({ method: 'PUT', url: `${url}/author`, headers: bearer(plain.token), payload: {} })).statusCode, 403)
  t.equal((await app.inject({ method: 'GET', url, headers: bearer(plain.token) })).statusCode, 403)
  t.equal((await app.inject({ method: 'GET', url })).statusCode, 401)
  t.equal((await app.inject({ method: 'GET', url: `${url}?cursor=%%%`, headers: bearer(admin) })).statusCode, 400)
  t.equal((await app.inject({ method: 'GET', url: '/v1/users/00000000-0000-4000-8000-000000000000/roles', headers: bearer(admin) })).statusCode, 404)

  // the new rights apply to the user's existing token at once
  const before = await app.inject({ method: 'GET', url: '/v1/users', headers: bearer(target.token) })
  t.equal(before.statusCode, 403, 'the token was issued before moderator (users:read) and does not carry it')
  const fresh = (await login(app, target.username, target.password)).access_token
  t.equal((await app.inject({ method: 'GET', url: '/v1/users', headers: bearer(fresh) })).statusCode, 200)
  const removed = await app.inject({ method: 'DELETE', url: `${url}/moderator`, headers: bearer(admin) })
  t.equal(removed.statusCode, 204)
  t.equal((await app.inject({ method: 'GET', url: '/v1/users', headers: bearer(fresh) })).statusCode, 403, 'a removed role stops working at once')
  t.equal((await app.inject({ method: 'DELETE', url: `${url}/moderator`, headers: bearer(admin) })).statusCode, 404, 'not assigned any more')
  t.equal((await app.inject({ method: 'DELETE', url: `${url}/author`, headers: bearer(admin) })).statusCode, 404, 'author is assigned in a tenant, not globally')
  t.equal((await app.inject({ method: 'DELETE', url: `${url}/author?tenant=default`, headers: bearer(admin) })).statusCode, 204)
  t.equal((await app.inject({ method: 'DELETE', url: `${url}/editor`, headers: bearer(plain.token) })).statusCode, 403)
  t.equal((await app.inject({ method: 'DELETE', url: `${url}/editor` })).statusCode, 401)

  const assigned = await auditFor('role.assign', target.id)
  t.equal(assigned.length, 5)
  t.ok(assigned.every(e => e.outcome === 'success' && e.actorId === me.id))
  t.equal((await auditFor('role.unassign', target.id)).length, 2)
})

t.test('an expired assignment does not apply', async t => {
  const target = await newUser(app, 'expiring')
  const soon = new Date(Date.now() + 1500).toISOString()
  const res = await app.inject({ method: 'PUT', url: `/v1/users/${target.id}/roles/moderator`, headers: bearer(admin), payload: { expiresAt: soon } })
  t.equal(res.statusCode, 201)
  const token = (await login(app, target.username, target.password)).access_token
  t.equal((await app.inject({ method: 'GET', url: '/v1/users?limit=1', headers: bearer(token) })).statusCode, 200)
  await new Promise(resolve => setTimeout(resolve, 1600))
  t.equal((await app.inject({ method: 'GET', url: '/v1/users?limit=1', headers: bearer(token) })).statusCode, 403)
})

t.test('GET /v1/users/{id}/permissions', async t => {
  const target = await newUser(app, 'effective')
  await app.inject({ method: 'PUT', url: `/v1/users/${target.id}/roles/editor`, headers: bearer(admin), payload: { tenant: 'default' } })
  const res = await app.inject({ method: 'GET', url: `/v1/users/${target.id}/permissions`, headers: bearer(admin) })
  t.equal(res.statusCode, 200, res.body)
  const body = res.json()
  t.equal(body.tenant, defaultTenant)
  const byName = new Map<string, Array<{ path: string[], tenant: string | null, condition: unknown, expiresAt: string | null }>>(
    body.permissions.map((p: { name: string, via: [] }) => [p.name, p.via]))
  t.same([...byName.keys()].sort(), ['posts:create', 'posts:delete', 'posts:publish', 'posts:read', 'posts:update'])
  const update = byName.get('posts:update')!
  t.ok(update.some(v => v.condition === null && v.path.join('>') === 'editor'), 'editor grants posts:update outright')
  t.ok(update.some(v => v.path.join('>') === 'user' && JSON.stringify(v.condition) === '{"owner":true}'), 'user grants it to owners')
  t.ok(byName.get('posts:read')!.some(v => v.path.join('>') === 'editor>author>user' && v.tenant === defaultTenant && v.expiresAt === null),
    'path runs from the assigned role to the one holding the grant')

  const admins = await app.inject({ method: 'GET', url: `/v1/users/${me.id}/permissions?tenant=default`, headers: bearer(admin) })
  t.same(admins.json().permissions, [{ name: '*', via: [{ path: ['admin'], tenant: null, expiresAt: null, condition: null }] }])

  t.equal((await app.inject({ method: 'GET', url: `/v1/users/${target.id}/permissions?tenant=nope`, headers: bearer(admin) })).statusCode, 404)
  t.equal((await app.inject({ method: 'GET', url: '/v1/users/00000000-0000-4000-8000-000000000000/permissions', headers: bearer(admin) })).statusCode, 404)
  t.equal((await app.inject({ method: 'GET', url: `/v1/users/${target.id}/permissions` })).statusCode, 401)
  t.equal((await app.inject({ method: 'GET', url: `/v1/users/${target.id}/permissions`, headers: bearer(plain.token) })).statusCode, 403)
})

import t, { type Test } from 'tap'
import { and, eq, sql } from 'drizzle-orm'
import { decodeJwt } from 'jose'
import { build, bearer, login, loginAdmin, newUser, ADMIN_EMAIL } from '../helper.js'
import { auditEvents, clients, roleAssignments, roles, sessions, tenants, users } from '../../src/db/schema/index.js'

const app = await build(t)
const [defaultTenant] = await app.db.select().from(tenants).where(eq(tenants.isDefault, true))

const register = (payload: unknown) => app.inject({ method: 'POST', url: '/v1/auth/register', payload: payload as Record<string, unknown> })
const tokenFor = (username: string, password: string) => app.inject({
  method: 'POST',
  url: '/v1/auth/token',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  payload: new URLSearchParams({ grant_type: 'password', username, password }).toString()
})
const me = (token: string) => app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(token) })

function problemOf (t: Test, res: { statusCode: number, headers: Record<string, unknown>, json: () => any }, status: number, code: string) {
  t.equal(res.statusCode, status, JSON.stringify(res.json()))
  t.match(res.headers['content-type'], /^application\/problem\+json/)
  t.equal(res.json().code, code)
  t.equal(res.json().status, status)
}

t.test('register', async t => {
  t.test('201 with the user, never a hash; the default role in the default tenant', async t => {
    const res = await register({ email: 'Frank@Example.TEST', username: 'Frank', password: 'a perfectly fine passphrase', fullName: 'Frank Ocean' })
    t.equal(res.statusCode, 201, res.body)
    const body = res.json()
    t.same(Object.keys(body).sort(), ['createdAt', 'email', 'fullName', 'id', 'isActive', 'updatedAt', 'username'])
    t.match(body, { email: 'frank@example.test', username: 'Frank', fullName: 'Frank Ocean', isActive: true })
    t.match(body.id, /^[0-9a-f-]{36}$/)
    t.ok(new Date(body.createdAt).toISOString() === body.createdAt, 'ISO-8601 UTC')
    t.notMatch(res.body, /argon2|passwordHash|password/i)
    const [row] = await app.db.select().from(users).where(eq(users.id, body.id))
    t.match(row.passwordHash, /^\$argon2id\$/)
    const assigned = await app.db.select({ role: roles.name, tenantId: roleAssignments.tenantId })
      .from(roleAssignments).innerJoin(roles, eq(roles.id, roleAssignments.roleId)).where(eq(roleAssignments.userId, body.id))
    t.same(assigned, [{ role: 'user', tenantId: defaultTenant.id }])
    t.equal((await tokenFor('frank', 'a perfectly fine passphrase')).statusCode, 200, 'can log in')
    await app.audit.flush()
    const [event] = await app.db.select().from(auditEvents).where(and(eq(auditEvents.action, 'user.register'), eq(auditEvents.targetId, body.id)))
    t.equal(event?.outcome, 'success')
    t.notMatch(JSON.stringify(event), /argon2|a perfectly fine passphrase/)

    const minimal = await register({ email: 'minimal@example.test', username: 'minimal', password: 'another fine passphrase' })
    t.equal(minimal.statusCode, 201)
    t.equal(minimal.json().fullName, null)
  })

  t.test('409 on a taken email or username, case-insensitively', async t => {
    await register({ email: 'grace@example.test', username: 'grace', password: 'grace has a passphrase' })
    problemOf(t, await register({ email: 'GRACE@example.test', username: 'grace2', password: 'grace has a passphrase' }), 409, 'CONFLICT')
    problemOf(t, await register({ email: 'grace2@example.test', username: 'GrAcE', password: 'grace has a passphrase' }), 409, 'CONFLICT')
    const rows = await app.db.select().from(users).where(eq(users.email, 'grace2@example.test'))
    t.equal(rows.length, 0, 'nothing was created')
  })

  t.test('400 WEAK_PASSWORD', async t => {
    for (const [name, password, username] of [
      ['too short', 'short1!', 'heidi1'],
      ['common', 'password123', 'heidi2'],
      ['common, case folded', 'Password123', 'heidi3'],
      ['equal to the username', 'heidi-the-user', 'heidi-the-user'],
      ['too long', 'x'.repeat(129) + 'y', 'heidi4']
    ]) {
      const res = await register({ email: `${username}@example.test`, username, password })
      problemOf(t, res, 400, 'WEAK_PASSWORD')
      t.ok(res.json().detail, name)
    }
    const unicode = await register({ email: 'ivan@example.test', username: 'ivan', password: 'пароль-🔑-ключ' })
    t.equal(unicode.statusCode, 201, 'any Unicode, no composition rules')
    const eight = await register({ email: 'judy@example.test', username: 'judy', password: '🔑🔑🔑🔑🔑🔑🔑🔑' })
    t.equal(eight.statusCode, 201, 'eight code points are enough')
  })

  t.test('400 on unknown properties and wrong types (no coercion)', async t => {
    const base = { email: 'kate@example.test', username: 'kate', password: 'kate has a passphrase' }
    for (const [name, payload] of [
      ['unknown property', { ...base, role: 'admin' }],
      ['isActive', { ...base, isActive: false }],
      ['array for a string', { ...base, username: ['kate'] }],
      ['number for a string', { ...base, password: 12345678901 }],
      ['null email', { ...base, email: null }],
      ['object fullName', { ...base, fullName: { first: 'k' } }],
      ['missing password', { email: base.email, username: base.username }],
      ['not an email', { ...base, email: 'not-an-email' }],
      ['bad username', { ...base, username: 'k a t e' }],
      ['username with @', { ...base, username: 'kate@home' }],
      ['overlong fullName', { ...base, fullName: 'x'.repeat(201) }],
      ['array body', [base]]
    ] as Array<[string, unknown]>) {
      const res = await register(payload)
      problemOf(t, res, 400, 'VALIDATION_FAILED')
      t.ok(Array.isArray(res.json().errors) && res.json().errors.length > 0, `${name}: errors listed`)
      for (const e of res.json().errors) t.match(e, { path: String, message: String })
    }
    const unknown = await register({ ...base, role: 'admin' })
    t.same(unknown.json().errors.map((e: { path: string }) => e.path), ['body/role'])
    t.equal((await app.db.select().from(users).where(eq(users.username, 'kate'))).length, 0)
  })

  t.test('403 when registration is disabled', async t => {
    const closed = await build(t, { REGISTRATION_ENABLED: 'false' })
    const res = await closed.inject({ method: 'POST', url: '/v1/auth/register', payload: { email: 'leo@example.test', username: 'leo', password: 'leo has a passphrase' } })
    problemOf(t, res, 403, 'REGISTRATION_DISABLED')
    t.equal((await closed.db.select().from(users).where(eq(users.username, 'leo'))).length, 0)
    t.equal((await loginAdmin(closed)).token_type, 'Bearer', 'logging in still works')
  })
})

t.test('GET /me', async t => {
  const user = await newUser(app, 'me')
  const res = await me(user.token)
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.same(Object.keys(body).sort(), ['createdAt', 'email', 'fullName', 'id', 'isActive', 'permissions', 'roles', 'scopes', 'tenant', 'updatedAt', 'username'])
  t.match(body, { id: user.id, email: user.email, username: user.username, isActive: true, fullName: null })
  t.same(body.tenant, { id: defaultTenant.id, slug: defaultTenant.slug, name: defaultTenant.name })
  t.same(body.roles, ['user'])
  t.ok(body.permissions.includes('posts:read') && body.permissions.includes('posts:create'))
  t.notOk(body.permissions.includes('users:read'))
  t.same([...body.scopes].sort(), user.tokens.scope.split(' ').sort())

  const narrowed = await login(app, user.username, user.password, { scope: 'posts:read' })
  const narrowedMe = (await me(narrowed.access_token)).json()
  t.same(narrowedMe.scopes, ['posts:read'], 'scopes are the token\'s')
  t.ok(narrowedMe.permissions.includes('posts:create'), 'permissions are the user\'s')

  const admin = (await me((await loginAdmin(app)).access_token)).json()
  t.equal(admin.email, ADMIN_EMAIL)
  t.same(admin.roles, ['admin'])
  t.same(admin.permissions, ['*'])

  const none = await app.inject({ method: 'GET', url: '/v1/auth/me' })
  problemOf(t, none, 401, 'UNAUTHENTICATED')
  t.equal(none.headers['www-authenticate'], 'Bearer realm="warden"')

  t.test('a client (service) token gets 403', async t => {
    const [client] = await app.db.insert(clients).values({ name: 'svc', secretHash: 'x', scopes: ['authz:check'], tenantId: defaultTenant.id }).returning()
    const { token } = app.tokens.signAccessToken({ sub: client.id, tid: defaultTenant.id, scope: ['authz:check'], clientId: client.id })
    const res = await me(token)
    problemOf(t, res, 403, 'FORBIDDEN')
    const logout = await app.inject({ method: 'POST', url: '/v1/auth/logout', headers: bearer(token) })
    t.equal(logout.statusCode, 403, 'nor can a client log out')
  })
})

t.test('PATCH /me', async t => {
  const user = await newUser(app, 'patch')
  const other = await newUser(app, 'taken')
  const patch = (payload: unknown, token = user.token) => app.inject({ method: 'PATCH', url: '/v1/auth/me', headers: bearer(token), payload: payload as Record<string, unknown> })

  const named = await patch({ fullName: 'Patricia Patch' })
  t.equal(named.statusCode, 200, named.body)
  t.match(named.json(), { id: user.id, fullName: 'Patricia Patch', email: user.email })
  t.notOk('passwordHash' in named.json())
  t.ok(named.json().updatedAt >= named.json().createdAt)

  const moved = await patch({ email: 'Patricia.New@Example.TEST' })
  t.equal(moved.statusCode, 200)
  t.equal(moved.json().email, 'patricia.new@example.test')
  t.equal((await tokenFor('patricia.new@example.test', user.password)).statusCode, 200, 'log in with the new email')
  t.equal((await tokenFor(user.email, user.password)).statusCode, 400, 'not with the old one')

  const cleared = await patch({ fullName: null })
  t.equal(cleared.json().fullName, null)

  problemOf(t, await patch({ email: other.email.toUpperCase() }), 409, 'CONFLICT')
  for (const payload of [{ username: 'renamed' }, { isActive: false }, { password: 'new password here' }, { fullName: 'ok', roles: ['admin'] }, { email: 'nope' }, { fullName: ['x'] }, { email: ['a@b.test'] }]) {
    problemOf(t, await patch(payload), 400, 'VALIDATION_FAILED')
  }
  const [row] = await app.db.select().from(users).where(eq(users.id, user.id))
  t.equal(row.username, user.username)
  t.equal(row.isActive, true)

  await app.audit.flush()
  const events = await app.db.select().from(auditEvents).where(and(eq(auditEvents.action, 'user.update_self'), eq(auditEvents.targetId, user.id)))
  t.equal(events.length, 3)
})

t.test('POST /me/password', async t => {
  const user = await newUser(app, 'pw')
  const other = await login(app, user.username, user.password)
  const change = (payload: unknown) => app.inject({ method: 'POST', url: '/v1/auth/me/password', headers: bearer(user.token), payload: payload as Record<string, unknown> })

  problemOf(t, await change({ currentPassword: 'not my password', newPassword: 'a brand new passphrase' }), 400, 'INVALID_PASSWORD')
  problemOf(t, await change({ currentPassword: user.password, newPassword: 'password1' }), 400, 'WEAK_PASSWORD')
  problemOf(t, await change({ currentPassword: user.password, newPassword: 'short' }), 400, 'WEAK_PASSWORD')
  problemOf(t, await change({ currentPassword: user.password, newPassword: user.username }), 400, 'WEAK_PASSWORD')
  problemOf(t, await change({ currentPassword: user.password }), 400, 'VALIDATION_FAILED')
  problemOf(t, await change({ currentPassword: user.password, newPassword: 'a brand new passphrase', logoutOthers: false }), 400, 'VALIDATION_FAILED')
  t.equal((await me(other.access_token)).statusCode, 200, 'failed changes end nothing')

  const ok = await change({ currentPassword: user.password, newPassword: 'a brand new passphrase' })
  t.equal(ok.statusCode, 204)
  t.equal(ok.body, '')
  t.equal((await me(user.token)).statusCode, 200, 'the current session goes on')
  t.equal((await me(other.access_token)).statusCode, 401, 'the other session ends at once')
  const otherRefresh = await app.inject({ method: 'POST', url: '/v1/auth/token', payload: { grant_type: 'refresh_token', refresh_token: other.refresh_token } })
  t.equal(otherRefresh.json().error, 'invalid_grant')
  const ownRefresh = await app.inject({ method: 'POST', url: '/v1/auth/token', payload: { grant_type: 'refresh_token', refresh_token: user.tokens.refresh_token } })
  t.equal(ownRefresh.statusCode, 200, 'the current session can still refresh')
  t.equal((await tokenFor(user.username, user.password)).statusCode, 400, 'the old password no longer works')
  t.equal((await tokenFor(user.username, 'a brand new passphrase')).statusCode, 200)
  await app.audit.flush()
  const events = await app.db.select().from(auditEvents).where(and(eq(auditEvents.action, 'user.password_change'), eq(auditEvents.targetId, user.id)))
  t.same(events.map(e => e.outcome).sort(), ['failure', 'success'])
})

t.test('logout', async t => {
  const user = await newUser(app, 'logout')
  const other = await login(app, user.username, user.password)
  const res = await app.inject({ method: 'POST', url: '/v1/auth/logout', headers: bearer(user.token) })
  t.equal(res.statusCode, 204)
  t.equal(res.body, '')
  t.equal((await me(user.token)).statusCode, 401, 'the token stops working on the next request')
  const refreshed = await app.inject({ method: 'POST', url: '/v1/auth/token', payload: { grant_type: 'refresh_token', refresh_token: user.tokens.refresh_token } })
  t.equal(refreshed.json().error, 'invalid_grant', 'its refresh family is gone')
  t.equal((await me(other.access_token)).statusCode, 200, 'other sessions live on')
  const again = await app.inject({ method: 'POST', url: '/v1/auth/logout', headers: bearer(user.token) })
  t.equal(again.statusCode, 401)

  const third = await login(app, user.username, user.password)
  const all = await app.inject({ method: 'POST', url: '/v1/auth/logout?all=true', headers: bearer(third.access_token) })
  t.equal(all.statusCode, 204)
  t.equal((await me(other.access_token)).statusCode, 401)
  t.equal((await me(third.access_token)).statusCode, 401)
  const live = await app.db.select().from(sessions).where(and(eq(sessions.userId, user.id)))
  t.ok(live.every(s => s.revokedAt !== null), 'every session revoked')
  const badQuery = await app.inject({ method: 'POST', url: '/v1/auth/logout?all=maybe', headers: bearer((await login(app, user.username, user.password)).access_token) })
  problemOf(t, badQuery, 400, 'VALIDATION_FAILED')
  problemOf(t, await app.inject({ method: 'POST', url: '/v1/auth/logout' }), 401, 'UNAUTHENTICATED')
})

t.test('sessions: list and delete', async t => {
  const user = await newUser(app, 'sessions')
  const second = await app.inject({
    method: 'POST',
    url: '/v1/auth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'SessionTest/1.0' },
    remoteAddress: '192.0.2.44',
    payload: new URLSearchParams({ grant_type: 'password', username: user.username, password: user.password, scope: 'posts:read' }).toString()
  })
  const secondToken = second.json().access_token as string
  const third = await login(app, user.username, user.password)
  const list = (token: string, query = '') => app.inject({ method: 'GET', url: '/v1/auth/sessions' + query, headers: bearer(token) })

  const res = await list(user.token)
  t.equal(res.statusCode, 200)
  const { items, nextCursor } = res.json()
  t.equal(items.length, 3)
  t.equal(nextCursor, null)
  t.same(items.map((s: { id: string }) => s.id).sort(), [user.token, secondToken, third.access_token].map(tk => decodeJwt(tk).sid).sort())
  t.same(items.filter((s: { current: boolean }) => s.current).map((s: { id: string }) => s.id), [decodeJwt(user.token).sid], 'exactly the caller\'s session is current')
  const described = items.find((s: { id: string }) => s.id === decodeJwt(secondToken).sid)
  t.match(described, { tenantId: defaultTenant.id, userAgent: 'SessionTest/1.0', ip: '192.0.2.44', scopes: ['posts:read'] })
  for (const s of items) t.same(Object.keys(s).sort(), ['createdAt', 'current', 'expiresAt', 'id', 'ip', 'lastUsedAt', 'scopes', 'tenantId', 'userAgent'])
  const sorted = [...items].sort((a, b) => b.createdAt.localeCompare(a.createdAt))
  t.same(items.map((s: { id: string }) => s.id), sorted.map((s: { id: string }) => s.id), 'newest first')

  const seen: string[] = []
  let cursor: string | null = null
  do {
    const page = await list(user.token, '?limit=1' + (cursor ? '&cursor=' + cursor : ''))
    t.equal(page.statusCode, 200, page.body)
    t.ok(page.json().items.length <= 1)
    seen.push(...page.json().items.map((s: { id: string }) => s.id))
    cursor = page.json().nextCursor
  } while (cursor)
  t.same(seen, items.map((s: { id: string }) => s.id), 'pages walk the same order')
  problemOf(t, await list(user.token, '?cursor=garbage'), 400, 'INVALID_CURSOR')
  problemOf(t, await list(user.token, '?limit=0'), 400, 'VALIDATION_FAILED')
  problemOf(t, await list(user.token, '?limit=101'), 400, 'VALIDATION_FAILED')

  const stranger = await newUser(app, 'stranger')
  const strangers = (await list(stranger.token)).json().items
  t.equal(strangers.length, 1, 'only one\'s own sessions')
  const del = (id: string, token = user.token) => app.inject({ method: 'DELETE', url: '/v1/auth/sessions/' + id, headers: bearer(token) })
  problemOf(t, await del(strangers[0].id), 404, 'NOT_FOUND')
  t.equal((await me(stranger.token)).statusCode, 200, 'the stranger\'s session is untouched')
  problemOf(t, await del('00000000-0000-4000-8000-000000000000'), 404, 'NOT_FOUND')
  problemOf(t, await del('not-a-uuid'), 400, 'VALIDATION_FAILED')

  const gone = await del(decodeJwt(secondToken).sid as string)
  t.equal(gone.statusCode, 204)
  t.equal((await me(secondToken)).statusCode, 401, 'the deleted session\'s token stops working')
  problemOf(t, await del(decodeJwt(secondToken).sid as string), 404, 'NOT_FOUND')
  t.equal((await list(user.token)).json().items.length, 2, 'ended sessions are not listed')

  t.test('pages do not skip sessions created within the same millisecond', async t => {
    const base = await app.db.select().from(sessions).where(eq(sessions.id, decodeJwt(third.access_token).sid as string))
    const { id: _id, ...template } = base[0]
    // three sessions a few microseconds apart: JavaScript dates only hold milliseconds
    const ids: string[] = []
    for (const micros of ['123456', '123400', '123300']) {
      const [row] = await app.db.insert(sessions).values({ ...template, createdAt: new Date('2099-01-01T00:00:00.123Z') }).returning()
      await app.db.execute(sql`update sessions set created_at = ${'2099-01-01 00:00:00.' + micros + '+00'}::timestamptz where id = ${row.id}`)
      ids.push(row.id)
    }
    const walked: string[] = []
    let next: string | null = null
    do {
      const page = await list(third.access_token, '?limit=1' + (next ? '&cursor=' + next : ''))
      walked.push(...page.json().items.map((s: { id: string }) => s.id))
      next = page.json().nextCursor
    } while (next)
    for (const id of ids) t.ok(walked.includes(id), `session ${id} listed`)
    t.equal(walked.length, new Set(walked).size, 'no duplicates')
  })
})

import t from 'tap'
import { bearer, build, login, loginAdmin, newUser } from '../helper.js'

/** GET /v1/users/{id}/sessions and DELETE /v1/users/{id}/sessions/{sid}: an administrator's view of a user's sessions (console, issue 14). */
t.test('an administrator lists and ends a user\'s sessions', async t => {
  const app = await build(t)
  const admin = bearer((await loginAdmin(app)).access_token)
  const ada = await newUser(app, 'ada')
  const second = await login(app, ada.username, ada.password)
  const bob = await newUser(app, 'bob')
  const call = (method: 'GET' | 'DELETE', url: string, headers = admin) => app.inject({ method, url, headers })

  const listed = await call('GET', `/v1/users/${ada.id}/sessions`)
  t.equal(listed.statusCode, 200, listed.body)
  const items = (listed.json() as { items: Array<{ id: string, current: boolean }> }).items
  t.equal(items.length, 2, 'both of ada\'s sessions')
  t.ok(items.every(s => s.current === false), 'none is the administrator\'s own')
  const sidOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).sid as string
  t.same(items.map(s => s.id).sort(), [sidOf(ada.token), sidOf(second.access_token)].sort())

  t.equal((await call('GET', `/v1/users/${ada.id}/sessions`, bearer(bob.token))).statusCode, 403, 'a user without users:read may not look')
  t.equal((await call('DELETE', `/v1/users/${ada.id}/sessions/${sidOf(ada.token)}`, bearer(bob.token))).statusCode, 403, 'nor end one')
  t.equal((await call('DELETE', `/v1/users/${ada.id}/sessions/${sidOf(bob.token)}`)).statusCode, 404, 'another user\'s session is not ada\'s')
  t.equal((await call('DELETE', `/v1/users/${ada.id}/sessions/00000000-0000-4000-8000-000000000000`)).statusCode, 404)
  t.equal((await call('DELETE', `/v1/users/${ada.id}/sessions/not-a-uuid`)).statusCode, 400)

  const ended = await call('DELETE', `/v1/users/${ada.id}/sessions/${sidOf(ada.token)}`)
  t.equal(ended.statusCode, 204, ended.body)
  t.equal((await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(ada.token) })).statusCode, 401, 'the ended session\'s token is refused at once')
  t.equal((await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(second.access_token) })).statusCode, 200, 'the other session goes on')
  const refresh = await app.inject({ method: 'POST', url: '/v1/auth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: ada.tokens.refresh_token! }).toString() })
  t.equal(refresh.statusCode, 400, 'and its refresh token no longer works')
  t.equal((await call('DELETE', `/v1/users/${ada.id}/sessions/${sidOf(ada.token)}`)).statusCode, 404, 'an ended session is not found again')
  const after = (await call('GET', `/v1/users/${ada.id}/sessions`)).json() as { items: Array<{ id: string }> }
  t.same(after.items.map(s => s.id), [sidOf(second.access_token)])

  await app.audit.flush()
  const audit = await call('GET', `/v1/audit?action=user.session_delete&target=${sidOf(ada.token)}`)
  t.equal((audit.json() as { items: unknown[] }).items.length, 1, 'audited')
})

t.test('a tenant-scoped administrator sees only its members\' sessions', async t => {
  const app = await build(t)
  const admin = bearer((await loginAdmin(app)).access_token)
  const post = (url: string, payload: object) => app.inject({ method: 'POST', url, headers: admin, payload })
  t.equal((await post('/v1/tenants', { slug: 'acme', name: 'Acme' })).statusCode, 201)
  t.equal((await post('/v1/roles', { name: 'acme-admin', permissions: ['users:read', 'users:update'] })).statusCode, 201)
  const tom = await newUser(app, 'tom')
  const member = await newUser(app, 'member')
  for (const u of [tom, member]) {
    const put = await app.inject({ method: 'PUT', url: `/v1/users/${u.id}/roles/${u === tom ? 'acme-admin' : 'user'}`, headers: admin, payload: { tenant: 'acme' } })
    t.ok([200, 201].includes(put.statusCode), put.body)
  }
  const outsider = await newUser(app, 'outsider')
  const tomToken = bearer((await login(app, tom.username, tom.password, { tenant: 'acme' })).access_token)
  t.equal((await app.inject({ method: 'GET', url: `/v1/users/${member.id}/sessions`, headers: tomToken })).statusCode, 200, 'a member of acme: visible')
  t.equal((await app.inject({ method: 'GET', url: `/v1/users/${outsider.id}/sessions`, headers: tomToken })).statusCode, 404, 'another tenant\'s user: not found')
})

import t from 'tap'
import { eq } from 'drizzle-orm'
import { decodeJwt } from 'jose'
import { build, bearer, login, loginAdmin, newUser, type TokenSet } from '../helper.js'
import { auditEvents, refreshTokens, sessions, users } from '../../src/db/schema/index.js'
import type { App } from '../../src/app.js'
import { changed } from '../../src/access/changes.js'

const app = await build(t)

type Fields = Record<string, string>

function token (target: App, fields: Fields, headers: Record<string, string> = {}) {
  return target.inject({
    method: 'POST',
    url: '/v1/auth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    payload: new URLSearchParams(fields).toString()
  })
}

const refresh = (refreshToken: string, extra: Fields = {}, target: App = app) =>
  token(target, { grant_type: 'refresh_token', refresh_token: refreshToken, ...extra })

const me = (accessToken: string, target: App = app) =>
  target.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(accessToken) })

const revoke = (fields: Fields) => app.inject({
  method: 'POST',
  url: '/v1/auth/revoke',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  payload: new URLSearchParams(fields).toString()
})

async function sessionRow (target: App, accessToken: string) {
  const [row] = await target.db.select().from(sessions).where(eq(sessions.id, decodeJwt(accessToken).sid as string))
  return row
}

t.test('rotation: a new refresh token each time, the old one stops working', async t => {
  const user = await newUser(app, 'rot')
  const first = await refresh(user.tokens.refresh_token!)
  t.equal(first.statusCode, 200, first.body)
  t.equal(first.headers['cache-control'], 'no-store')
  const body = first.json() as TokenSet
  t.type(body.refresh_token, 'string')
  t.not(body.refresh_token, user.tokens.refresh_token)
  t.not(body.access_token, user.token)
  t.equal(body.token_type, 'Bearer')
  t.equal(body.expires_in, 900)
  t.equal(body.scope, user.tokens.scope, 'the scopes are kept')
  const claims = decodeJwt(body.access_token)
  t.equal(claims.sid, decodeJwt(user.token).sid, 'same session')
  t.equal(claims.sub, user.id)
  t.equal((await me(body.access_token)).statusCode, 200)

  const old = await refresh(user.tokens.refresh_token!)
  t.equal(old.statusCode, 400)
  t.same(old.json(), { error: 'invalid_grant', error_description: old.json().error_description })

  const second = await refresh(body.refresh_token!)
  t.equal(second.statusCode, 200, 'the successor rotates in turn')
  const rows = await app.db.select().from(refreshTokens).where(eq(refreshTokens.sessionId, claims.sid as string))
  t.equal(rows.length, 3)
  t.equal(rows.filter(r => r.rotatedAt === null).length, 1, 'one live token per family')
  t.notOk(rows.some(r => [user.tokens.refresh_token, body.refresh_token].includes(r.tokenHash)), 'stored hashed')

  const garbage = await refresh('not-a-token')
  t.equal(garbage.json().error, 'invalid_grant')
})

t.test('reuse within the grace window is only invalid_grant: the session survives', async t => {
  const user = await newUser(app, 'grace')
  const next = (await refresh(user.tokens.refresh_token!)).json() as TokenSet
  const reuse = await refresh(user.tokens.refresh_token!)
  t.equal(reuse.statusCode, 400)
  t.equal(reuse.json().error, 'invalid_grant')
  t.equal((await me(next.access_token)).statusCode, 200, 'the access token still works')
  t.notOk((await sessionRow(app, next.access_token)).revokedAt)
  t.equal((await refresh(next.refresh_token!)).statusCode, 200, 'the successor still works')
})

t.test('reuse after the grace window revokes the whole family', async t => {
  const strict = await build(t, { REFRESH_REUSE_GRACE: '0' })
  const user = await newUser(strict, 'reuse')
  const stolen = user.tokens.refresh_token!
  const legit = (await refresh(stolen, {}, strict)).json() as TokenSet
  t.ok(legit.refresh_token)
  await new Promise(resolve => setTimeout(resolve, 5))

  const replay = await refresh(stolen, {}, strict)
  t.equal(replay.statusCode, 400)
  t.equal(replay.json().error, 'invalid_grant')
  const row = await sessionRow(strict, legit.access_token)
  t.ok(row.revokedAt, 'the session is revoked')
  t.equal(row.revokedReason, 'refresh token reuse')
  t.equal((await refresh(legit.refresh_token!, {}, strict)).json().error, 'invalid_grant', 'the live successor is dead too')
  const after = await me(legit.access_token, strict)
  t.equal(after.statusCode, 401, 'the access token of the family stops working at once')
  t.match(after.headers['www-authenticate'], /error="invalid_token"/)
  t.equal((await me(user.token, strict)).statusCode, 401)

  await strict.audit.flush()
  const events = await strict.db.select().from(auditEvents).where(eq(auditEvents.action, 'auth.refresh_reuse'))
  t.equal(events.length, 1)
  t.equal(events[0].targetId, row.id)
  t.equal(events[0].outcome, 'denied')

  const again = await login(strict, user.username, user.password)
  t.equal((await me(again.access_token, strict)).statusCode, 200, 'a new login opens a new session')
})

t.test('exactly one of several concurrent refreshes wins', async t => {
  const user = await newUser(app, 'race')
  const results = await Promise.all(Array.from({ length: 5 }, () => refresh(user.tokens.refresh_token!)))
  const winners = results.filter(r => r.statusCode === 200)
  t.equal(winners.length, 1, results.map(r => r.statusCode).join(','))
  for (const r of results.filter(r => r.statusCode !== 200)) {
    t.equal(r.statusCode, 400)
    t.equal(r.json().error, 'invalid_grant')
  }
  const won = winners[0].json() as TokenSet
  t.equal((await me(won.access_token)).statusCode, 200, 'the losers (within grace) did not revoke the session')
  t.equal((await refresh(won.refresh_token!)).statusCode, 200)
  const rows = await app.db.select().from(refreshTokens).where(eq(refreshTokens.sessionId, decodeJwt(won.access_token).sid as string))
  t.equal(rows.length, 3, 'one successor per rotation, none for the losers')
})

t.test('scopes: kept, may narrow, cannot widen', async t => {
  const user = await newUser(app, 'scope')
  const narrow = await login(app, user.username, user.password, { scope: 'posts:read posts:create' })
  t.equal(narrow.scope, 'posts:read posts:create')

  const kept = (await refresh(narrow.refresh_token!)).json() as TokenSet
  t.equal(kept.scope, 'posts:read posts:create')
  t.equal(decodeJwt(kept.access_token).scope, 'posts:read posts:create')

  const narrower = await refresh(kept.refresh_token!, { scope: 'posts:read' })
  t.equal(narrower.statusCode, 200, narrower.body)
  t.equal(narrower.json().scope, 'posts:read')
  t.same((await me(narrower.json().access_token)).json().scopes, ['posts:read'])

  const wider = await refresh(narrower.json().refresh_token, { scope: 'posts:read posts:update' })
  t.equal(wider.statusCode, 400)
  t.equal(wider.json().error, 'invalid_scope')
  const foreign = await refresh(narrower.json().refresh_token, { scope: 'users:read' })
  t.equal(foreign.json().error, 'invalid_scope')
  const unknown = await refresh(narrower.json().refresh_token, { scope: 'nonsense' })
  t.equal(unknown.json().error, 'invalid_scope')

  const afterRefusal = await refresh(narrower.json().refresh_token)
  t.equal(afterRefusal.statusCode, 200, 'a refused refresh does not consume the refresh token')
  t.equal(afterRefusal.json().scope, 'posts:read posts:create', 'without scope: the session\'s original grant (RFC 6749 section 6)')

  const admin = await loginAdmin(app)
  t.equal(admin.scope, '*')
  const adminNarrow = await refresh(admin.refresh_token!, { scope: 'users:read audit:read' })
  t.equal(adminNarrow.statusCode, 200, `a * session may narrow to named permissions: ${adminNarrow.body}`)
  t.equal(adminNarrow.json().scope, 'users:read audit:read')
  const adminWildcard = await refresh(adminNarrow.json().refresh_token, { scope: 'posts:*' })
  t.equal(adminWildcard.statusCode, 200, adminWildcard.body)
  t.equal(adminWildcard.json().scope, 'posts:*')
})

t.test('a disabled user cannot refresh', async t => {
  const user = await newUser(app, 'disabled')
  await app.db.update(users).set({ isActive: false }).where(eq(users.id, user.id))
  await app.changes.publish(changed.user(user.id))
  const res = await refresh(user.tokens.refresh_token!)
  t.equal(res.statusCode, 400)
  t.equal(res.json().error, 'invalid_grant')
  await app.db.update(users).set({ isActive: true }).where(eq(users.id, user.id))
  await app.changes.publish(changed.user(user.id))
  t.equal((await refresh(user.tokens.refresh_token!)).statusCode, 200, 'enabled again: the same refresh token works (the refusal did not consume it)')
})

t.test('an expired session cannot refresh', async t => {
  const user = await newUser(app, 'expired')
  await app.db.update(sessions).set({ expiresAt: new Date(Date.now() - 1000) }).where(eq(sessions.id, decodeJwt(user.token).sid as string))
  const res = await refresh(user.tokens.refresh_token!)
  t.equal(res.json().error, 'invalid_grant')
})

t.test('the refresh token in a cookie', async t => {
  const user = await newUser(app, 'cookie')
  const res = await token(app, { grant_type: 'password', username: user.username, password: user.password, refresh_in_cookie: 'true' })
  t.equal(res.statusCode, 200, res.body)
  t.notOk('refresh_token' in res.json(), 'no refresh_token in the body')
  const setCookie = String(res.headers['set-cookie'])
  t.match(setCookie, /HttpOnly/i)
  t.match(setCookie, /Secure/i)
  t.match(setCookie, /SameSite=Strict/i)
  t.match(setCookie, /Path=\/v1\/auth(;|$)/)
  const cookie = res.cookies[0]
  t.equal(cookie.path, '/v1/auth')
  t.ok(cookie.value.length >= 43)

  const json = await app.inject({ method: 'POST', url: '/v1/auth/token', payload: { grant_type: 'password', username: user.username, password: user.password, refresh_in_cookie: true } })
  t.equal(json.statusCode, 200)
  t.notOk('refresh_token' in json.json(), 'JSON boolean works too')
  t.ok(json.cookies[0]?.value)

  const send = (headers: Record<string, string>) => app.inject({
    method: 'POST',
    url: '/v1/auth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    cookies: { warden_refresh: cookie.value },
    payload: 'grant_type=refresh_token'
  })

  const noHeader = await send({})
  t.equal(noHeader.statusCode, 400, 'CSRF: the cookie alone is not enough')
  t.equal(noHeader.json().error, 'invalid_request')
  const wrongHeader = await send({ 'x-requested-with': 'XMLHttpRequest' })
  t.equal(wrongHeader.statusCode, 400)
  const foreign = await send({ 'x-requested-with': 'warden', origin: 'https://evil.example' })
  t.equal(foreign.statusCode, 400, 'a foreign Origin is refused')
  t.equal(foreign.json().error, 'invalid_request')
  const nullOrigin = await send({ 'x-requested-with': 'warden', origin: 'null' })
  t.equal(nullOrigin.statusCode, 400, 'an opaque Origin is refused')

  const ok = await send({ 'x-requested-with': 'warden', origin: 'http://warden.test' })
  t.equal(ok.statusCode, 200, ok.body)
  t.notOk('refresh_token' in ok.json(), 'still in the cookie')
  const rotated = ok.cookies.find(c => c.name === 'warden_refresh')
  t.ok(rotated && rotated.value !== cookie.value, 'the cookie rotates')
  t.ok(rotated?.httpOnly && rotated.secure && rotated.sameSite === 'Strict')

  const replay = await send({ 'x-requested-with': 'warden' })
  t.equal(replay.statusCode, 400, 'the old cookie value was rotated away')
  t.equal(replay.json().error, 'invalid_grant')

  const noOrigin = await app.inject({
    method: 'POST',
    url: '/v1/auth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-requested-with': 'warden' },
    cookies: { warden_refresh: rotated!.value },
    payload: 'grant_type=refresh_token'
  })
  t.equal(noOrigin.statusCode, 200, 'no Origin (a non-browser client) with the header is fine')
})

t.test('revoke (RFC 7009)', async t => {
  const user = await newUser(app, 'revoke')
  const second = await login(app, user.username, user.password)

  const res = await revoke({ token: user.tokens.refresh_token! })
  t.equal(res.statusCode, 200)
  t.equal(res.body, '')
  t.equal(res.headers['cache-control'], 'no-store')
  t.equal((await refresh(user.tokens.refresh_token!)).json().error, 'invalid_grant')
  t.equal((await me(user.token)).statusCode, 401, 'the session\'s access token stops working')
  t.equal((await me(second.access_token)).statusCode, 200, 'the user\'s other session is untouched')
  const row = await sessionRow(app, user.token)
  t.ok(row.revokedAt)

  for (const fields of [{ token: 'garbage' }, { token: user.tokens.refresh_token! }, { token: 'a.b.c', token_type_hint: 'access_token' }, { token: 'x', token_type_hint: 'something_else' }] as Fields[]) {
    const again = await revoke(fields)
    t.equal(again.statusCode, 200, `always 200: ${JSON.stringify(fields)}`)
  }
  const json = await app.inject({ method: 'POST', url: '/v1/auth/revoke', payload: { token: second.refresh_token } })
  t.equal(json.statusCode, 200, 'JSON works too')
  t.equal((await me(second.access_token)).statusCode, 401)

  const third = await login(app, user.username, user.password)
  t.equal((await revoke({ token: third.access_token, token_type_hint: 'access_token' })).statusCode, 200)
  t.equal((await refresh(third.refresh_token!)).json().error, 'invalid_grant', 'revoking the access token ends its session')

  const missing = await revoke({})
  t.equal(missing.statusCode, 400)
  t.equal(missing.json().error, 'invalid_request')

  await app.audit.flush()
  const events = await app.db.select().from(auditEvents).where(eq(auditEvents.action, 'auth.revoke'))
  t.ok(events.some(e => e.targetId === row.id))
})

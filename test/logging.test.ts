import t from 'tap'
import { sql } from 'drizzle-orm'
import { buildApp } from '../src/app.js'
import { users } from '../src/db/schema/index.js'
import { createTestDatabase, testConfig, ADMIN_EMAIL, ADMIN_PASSWORD, bearer } from './helper.js'

// Never log secrets, passwords or tokens: run a login, a refresh and authenticated calls at
// trace level and search everything that was logged.
t.test('logs carry no passwords, tokens or cookies', async t => {
  const db = await createTestDatabase(t)
  const lines: string[] = []
  const app = await buildApp(testConfig(db.url, { LOG_LEVEL: 'trace' }), { database: db.handle, logStream: { write: line => { lines.push(line) } } })
  t.teardown(() => app.close())
  await app.ready()

  const login = await app.inject({ method: 'POST', url: '/v1/auth/token', payload: { grant_type: 'password', username: ADMIN_EMAIL, password: ADMIN_PASSWORD, refresh_in_cookie: true } })
  t.equal(login.statusCode, 200)
  const token = login.json().access_token
  const cookie = login.cookies.find(c => c.name === 'warden_refresh')!.value
  await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(token) })
  await app.inject({ method: 'GET', url: `/v1/auth/me?access_token=${token}` })
  await app.inject({ method: 'POST', url: '/v1/auth/token', headers: { cookie: `warden_refresh=${cookie}`, 'x-requested-with': 'warden' }, payload: { grant_type: 'refresh_token' } })
  await app.inject({ method: 'POST', url: '/v1/auth/token', payload: { grant_type: 'password', username: ADMIN_EMAIL, password: 'wrong-password-123' } })

  const log = lines.join('')
  t.ok(lines.length > 5, 'something was logged')
  t.ok(log.includes('/v1/auth/me'), 'requests are logged')
  for (const [name, secret] of [['password', ADMIN_PASSWORD], ['wrong password', 'wrong-password-123'], ['access token', token], ['refresh cookie', cookie]]) {
    t.notOk(log.includes(secret), `no ${name} in the log`)
  }
  t.notOk(log.includes(token.split('.')[2]), 'not even a token signature')
})

// Failed queries: drizzle's error message carries the query's parameters, and the server's
// message quotes values. Neither may reach the log, nor the response.
t.test('failed queries are logged without their parameters', async t => {
  const db = await createTestDatabase(t)
  const lines: string[] = []
  const app = await buildApp(testConfig(db.url, { LOG_LEVEL: 'trace' }), { database: db.handle, logStream: { write: line => { lines.push(line) } } })
  t.teardown(() => app.close())
  const hash = '$argon2id$v=19$m=19456,t=2,p=1$c2VjcmV0c2FsdA$aGFzaGhhc2hoYXNoaGFzaA'
  const token = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl'
  const DUPLICATE = 'private.person@example.test'
  app.get('/test/failing-query', { config: { public: true }, schema: { hide: true } }, async () => {
    // a statement the server refuses, quoting its parameters in its own message
    await app.db.execute(sql`select ${hash}::uuid, ${token}::integer`)
    return { ok: true }
  })
  app.get('/test/failing-insert', { config: { public: true }, schema: { hide: true } }, async () => {
    // a constraint violation: the server's detail quotes the duplicate value
    await app.db.insert(users).values({ email: DUPLICATE, username: 'dup-1', passwordHash: hash })
    await app.db.insert(users).values({ email: DUPLICATE, username: 'dup-2', passwordHash: hash })
    return { ok: true }
  })
  await app.ready()

  for (const url of ['/test/failing-query', '/test/failing-insert']) {
    const res = await app.inject({ method: 'GET', url })
    t.equal(res.statusCode, 500, url)
    t.notOk(res.body.includes(hash) || res.body.includes(token), 'not in the answer')
  }
  // and the real route the fuzzer found: a user created with a U+0000 full name
  const admin = await app.inject({ method: 'POST', url: '/v1/auth/token', payload: { grant_type: 'password', username: ADMIN_EMAIL, password: ADMIN_PASSWORD } })
  const created = await app.inject({
    method: 'POST',
    url: '/v1/users',
    headers: bearer(admin.json().access_token),
    payload: { email: 'nul@example.test', username: 'nul-name', password: 'a long enough password', fullName: '\u0000' }
  })
  t.equal(created.statusCode, 400)

  const log = lines.join('')
  t.match(log, /"type":"DatabaseError"/, 'the failures are logged')
  t.match(log, /22P02/, 'with their SQLSTATE')
  t.match(log, /23505/, 'the duplicate too')
  for (const [name, secret] of [['hash', hash], ['hash salt', 'c2VjcmV0c2FsdA'], ['token', token], ['duplicate email', DUPLICATE], ['admin password', ADMIN_PASSWORD], ['argon2 prefix', '$argon2id$']]) {
    t.notOk(log.includes(secret), `no ${name} in the log`)
  }
  t.notMatch(log, /params:|Failed query/, 'no query text with parameters')
})

import t from 'tap'
import { buildApp } from '../src/app.js'
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

import t from 'tap'
import { randomBytes } from 'node:crypto'
import { build, bearer, createTestDatabase, newUser } from '../helper.js'
import type { App } from '../../src/app.js'

/**
 * Login limits count per account (its username and e-mail forms share one budget) and, with
 * REDIS_URL, are shared by every instance; the general rate limit counts per principal or per
 * address, answers 429 problem+json with Retry-After and RateLimit-* headers, and spares the
 * health probes. Before the fix one address had instances x 2 x 10 password tries per account,
 * and nothing limited other routes.
 */
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const prefix = () => `warden-test:${randomBytes(4).toString('hex')}:`

function password (app: App, username: string, pw: string, remoteAddress = '203.0.113.50') {
  return app.inject({
    method: 'POST',
    url: '/v1/auth/token',
    remoteAddress,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ grant_type: 'password', username, password: pw }).toString()
  })
}

t.test('the username and e-mail forms of an account share one budget', async t => {
  const app = await build(t, { LOGIN_MAX_FAILURES: '10' })
  const victim = await newUser(app, 'forms')
  const statuses: number[] = []
  for (let i = 0; i < 12; i++) {
    statuses.push((await password(app, i % 2 === 0 ? victim.username : victim.email.toUpperCase(), `wrong-${i}`)).statusCode)
  }
  t.same(statuses.slice(0, 10), new Array(10).fill(400), statuses.join(','))
  t.same(statuses.slice(10), [429, 429], 'the 11th try, under either name, is refused')
  const blocked = await password(app, victim.email, victim.password)
  t.equal(blocked.statusCode, 429, 'from that address, even the right password waits')
  t.ok(Number(blocked.headers['retry-after']) >= 1 && Number(blocked.headers['retry-after']) <= 900)
  t.equal((await password(app, victim.username, victim.password, '198.51.100.77')).statusCode, 200, 'another address is unaffected')
})

t.test('with REDIS_URL, instances share the login budget', async t => {
  const db = await createTestDatabase(t)
  const env = { REDIS_URL, REDIS_KEY_PREFIX: prefix(), LOGIN_MAX_FAILURES: '10' }
  const a = await build(t, env, db)
  const b = await build(t, env, db)
  t.equal(a.redis?.status, 'ready', 'connected to Redis')
  const victim = await newUser(a, 'shared')
  const statuses: number[] = []
  for (let i = 0; i < 12; i++) statuses.push((await password(i % 2 === 0 ? a : b, victim.username, `wrong-${i}`)).statusCode)
  t.same(statuses, [...new Array(10).fill(400), 429, 429], `alternating instances: ${statuses.join(',')}`)
  t.equal((await password(b, victim.email, victim.password)).statusCode, 429, 'B refuses what A counted')
})

t.test('the general rate limit', async t => {
  const app = await build(t, { RATE_LIMIT_MAX: '5', RATE_LIMIT_WINDOW: '60' })
  const alice = await newUser(app, 'rla')
  const bob = await newUser(app, 'rlb')
  const me = (token: string) => app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(token) })

  const answers = []
  for (let i = 0; i < 6; i++) answers.push(await me(alice.token))
  t.same(answers.map(a => a.statusCode), [200, 200, 200, 200, 200, 429])
  t.notOk(answers[0].headers['ratelimit-limit'], 'no RateLimit-* headers below the limit')
  const limited = answers[5]
  t.equal(limited.headers['ratelimit-limit'], '5')
  t.equal(limited.headers['ratelimit-remaining'], '0')
  t.ok(Number(limited.headers['ratelimit-reset']) > 0)
  t.match(limited.headers['content-type'], /^application\/problem\+json/)
  t.match(limited.json(), { status: 429, code: 'RATE_LIMITED', title: 'Too Many Requests' })
  t.ok(Number(limited.headers['retry-after']) >= 1, `Retry-After ${limited.headers['retry-after']}`)
  t.ok(limited.headers['x-request-id'])

  t.equal((await me(bob.token)).statusCode, 200, 'another principal has a budget of its own')
  for (let i = 0; i < 10; i++) t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'health probes are exempt')
  const anon = []
  for (let i = 0; i < 6; i++) anon.push((await app.inject({ method: 'GET', url: '/.well-known/jwks.json', remoteAddress: '192.0.2.8' })).statusCode)
  t.same(anon, [200, 200, 200, 200, 200, 429], 'without a token, per address')
  t.equal((await app.inject({ method: 'GET', url: '/.well-known/jwks.json', remoteAddress: '192.0.2.9' })).statusCode, 200, 'another address is unaffected')

  const garbage = []
  for (let i = 0; i < 6; i++) garbage.push((await app.inject({ method: 'GET', url: '/v1/auth/me', remoteAddress: '192.0.2.10', headers: bearer('not.a.token' + i) })).statusCode)
  t.same(garbage, [401, 401, 401, 401, 401, 429], 'bad tokens are counted per address, before they are checked')

  const oauth = []
  for (let i = 0; i < 6; i++) oauth.push(await password(app, 'nobody', 'x', '192.0.2.11'))
  t.equal(oauth[5].statusCode, 429)
  t.same(Object.keys(oauth[5].json()).sort(), ['error', 'error_description'], 'the OAuth endpoint answers in RFC 6749 shape')
})

t.test('with REDIS_URL, instances share the rate limit', async t => {
  const db = await createTestDatabase(t)
  const env = { REDIS_URL, REDIS_KEY_PREFIX: prefix(), RATE_LIMIT_MAX: '6' }
  const a = await build(t, env, db)
  const b = await build(t, env, db)
  const statuses = []
  for (let i = 0; i < 8; i++) statuses.push((await (i % 2 === 0 ? a : b).inject({ method: 'GET', url: '/.well-known/jwks.json', remoteAddress: '192.0.2.30' })).statusCode)
  t.same(statuses, [200, 200, 200, 200, 200, 200, 429, 429], statuses.join(','))
})

t.test('an unreachable Redis falls back to per-instance counting', async t => {
  const app = await build(t, { REDIS_URL: 'redis://127.0.0.1:1', REDIS_KEY_PREFIX: prefix(), LOGIN_MAX_FAILURES: '3', RATE_LIMIT_MAX: '1000' })
  const u = await newUser(app, 'noredis')
  const statuses = []
  for (let i = 0; i < 4; i++) statuses.push((await password(app, u.username, 'wrong-' + i)).statusCode)
  t.same(statuses, [400, 400, 400, 429], 'login limits still hold')
  t.equal((await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(u.token) })).statusCode, 200, 'other routes answer')
})

import t, { type Test } from 'tap'
import { inArray } from 'drizzle-orm'
import { buildApp, type App } from '../src/app.js'
import { openDatabase } from '../src/db/client.js'
import { posts } from '../src/db/schema/index.js'
import { bearer, createTestDatabase, login, loginAdmin, newUser, testConfig } from './helper.js'
import { startTcpProxy, type TcpProxy } from './lib/tcp-proxy.js'

/**
 * The database goes away under a small mixed load, then comes back. Wanted (API.md): no crash,
 * no 500 and no hang (503 SERVICE_UNAVAILABLE with Retry-After within DB_TIMEOUT_MS + 1 s),
 * /readyz 503 then 200, recovery within 2 s of the database returning with no restart, every
 * acknowledged write kept, and a change made right after recovery refused on a second
 * instance within 1 s. Before the fix: 500s, hangs of up to 20 s, ~11 s of reconnect backoff,
 * and caches that missed the changes made while the listener was down.
 */
const DB_TIMEOUT_MS = 1000
const skip = process.env.TEST_DATABASE_URL ? false : 'an outage needs a PostgreSQL server (TEST_DATABASE_URL); PGlite runs inside the process'

interface Answer { at: number, ms: number, route: string, status: number, type: string, code: string | null, retryAfter: string | null }

async function instance (t: Test, url: string) {
  const handle = await openDatabase({ databaseUrl: url, dataDir: 'memory://', poolSize: 4, timeoutMs: DB_TIMEOUT_MS })
  const app = await buildApp(testConfig(url, { DB_TIMEOUT_MS: String(DB_TIMEOUT_MS) }), { database: handle, logger: false })
  await app.ready()
  t.teardown(async () => { await app.close(); await handle.close() })
  return app
}

async function setUp (t: Test) {
  const real = await createTestDatabase(t)
  const proxy = await startTcpProxy(Number(new URL(real.url!).port || 5432))
  t.teardown(() => proxy.close())
  const proxied = new URL(real.url!)
  proxied.host = `127.0.0.1:${proxy.port}`
  const a = await instance(t, proxied.toString())
  const b = await instance(t, proxied.toString())
  return { real, proxy, a, b }
}

/** Runs a mixed load on both instances until stopped, recording every answer. */
function mixedLoad (a: App, b: App, tokens: { user: string, username: string, password: string }) {
  const answers: Answer[] = []
  const acknowledged: string[] = []
  const state = { running: true }
  const started = Date.now()
  const requests: Array<[string, (app: App) => Promise<{ statusCode: number, headers: Record<string, unknown>, body: string, json: () => any }>]> = [
    ['GET /v1/auth/me', app => app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(tokens.user) })],
    ['POST /v1/authz/check', app => app.inject({ method: 'POST', url: '/v1/authz/check', headers: bearer(tokens.user), payload: { permission: 'posts:read' } })],
    ['POST /v1/posts', app => app.inject({ method: 'POST', url: '/v1/posts', headers: bearer(tokens.user), payload: { title: 'during the outage', content: 'x' } })],
    ['GET /v1/posts', app => app.inject({ method: 'GET', url: '/v1/posts?limit=5', headers: bearer(tokens.user) })],
    ['POST /v1/auth/token', app => app.inject({ method: 'POST', url: '/v1/auth/token', payload: { grant_type: 'refresh_token', refresh_token: 'not-a-real-one' } })],
    ['GET /healthz', app => app.inject({ method: 'GET', url: '/healthz' })],
    ['GET /.well-known/jwks.json', app => app.inject({ method: 'GET', url: '/.well-known/jwks.json' })]
  ]
  const worker = async (app: App, offset: number) => {
    for (let i = offset; state.running; i++) {
      const [route, send] = requests[i % requests.length]
      const t0 = Date.now()
      const res = await send(app)
      const ms = Date.now() - t0
      let code: string | null = null
      try { code = res.json().code ?? res.json().error ?? null } catch {}
      answers.push({ at: t0 - started, ms, route, status: res.statusCode, type: String(res.headers['content-type'] ?? ''), code, retryAfter: (res.headers['retry-after'] as string | undefined) ?? null })
      if (route === 'POST /v1/posts' && res.statusCode === 201) acknowledged.push(res.json().id)
      await new Promise(resolve => setTimeout(resolve, 5))
    }
  }
  const workers = [worker(a, 0), worker(a, 3), worker(b, 1), worker(b, 5)]
  return {
    answers,
    acknowledged,
    started,
    async stop () { state.running = false; await Promise.all(workers) }
  }
}

async function waitFor (what: string, check: () => Promise<boolean>, ms: number): Promise<number> {
  const started = Date.now()
  while (!await check()) {
    if (Date.now() - started > ms) throw new Error(`${what}: not within ${ms} ms`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  return Date.now() - started
}

const ready = async (app: App) => (await app.inject({ method: 'GET', url: '/readyz' })).statusCode

function checkAnswers (t: Test, answers: Answer[]) {
  const failures = answers.filter(a => a.status >= 500 && a.status !== 503)
  t.same(failures, [], 'no 5xx but 503')
  const unavailable = answers.filter(a => a.status === 503)
  t.ok(unavailable.length > 0, `${unavailable.length} answers were 503`)
  for (const a of unavailable) {
    if (a.route === 'POST /v1/auth/token') {
      t.equal(a.code, 'temporarily_unavailable', 'the token endpoint answers in RFC 6749 shape')
    } else {
      t.match(a.type, /^application\/problem\+json/)
      t.equal(a.code, 'SERVICE_UNAVAILABLE')
    }
    t.ok(a.retryAfter !== null && Number(a.retryAfter) >= 1, `${a.route}: Retry-After ${a.retryAfter}`)
  }
  const slowest = answers.reduce((max, a) => a.ms > max.ms ? a : max, answers[0])
  t.ok(slowest.ms <= DB_TIMEOUT_MS + 1000, `slowest answer ${slowest.ms} ms (${slowest.route}, ${slowest.status})`)
  for (const route of ['GET /healthz', 'GET /.well-known/jwks.json']) {
    t.ok(answers.filter(a => a.route === route).every(a => a.status === 200), `${route} answers from memory throughout`)
  }
}

t.test('the database stops and comes back', { skip }, async t => {
  const { real, proxy, a, b } = await setUp(t)
  const user = await newUser(a, 'outage')
  const watched = await newUser(a, 'watched')
  const admin = (await loginAdmin(a)).access_token
  // B serves both users before the outage: their state is in its caches
  for (const token of [user.token, watched.token]) t.equal((await b.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(token) })).statusCode, 200)

  const load = mixedLoad(a, b, { user: user.token, username: user.username, password: user.password })
  await new Promise(resolve => setTimeout(resolve, 800))
  proxy.cut('refuse')
  const cutAt = Date.now()
  await waitFor('/readyz 503 on A', async () => await ready(a) === 503, DB_TIMEOUT_MS + 1000)
  t.equal(await ready(b), 503, '/readyz 503 on B')
  await new Promise(resolve => setTimeout(resolve, 2500))
  proxy.restore()
  const restoredAt = Date.now()
  const recoveredA = await waitFor('A ready again', async () => await ready(a) === 200, 2000)
  const recoveredB = await waitFor('B ready again', async () => await ready(b) === 200, 2000)
  t.pass(`ready again after ${recoveredA} ms (A), ${Date.now() - restoredAt} ms (B, ${recoveredB})`)
  const served = await waitFor('a write through A', async () =>
    (await a.inject({ method: 'POST', url: '/v1/posts', headers: bearer(user.token), payload: { title: 'after', content: 'x' } })).statusCode === 201, 2000)
  t.ok(Date.now() - restoredAt <= 2000, `writes served ${Date.now() - restoredAt} ms after the database returned (${served})`)

  // a change right after recovery is refused on the other instance within a second. The change
  // itself is sent as a client does, again after a 503 (Retry-After): one write through A has
  // been served, but another pooled connection can still be re-establishing (CI saw a 503 here
  // on a loaded machine); a 503 is the contract's answer for that, and nothing may be lost
  const statuses: number[] = []
  await waitFor('the change through A', async () => {
    const res = await a.inject({ method: 'PATCH', url: `/v1/users/${watched.id}`, headers: bearer(admin), payload: { isActive: false } })
    statuses.push(res.statusCode)
    return res.statusCode !== 503
  }, 2000)
  t.equal(statuses.at(-1), 200, `the change is made (answers: ${statuses.join(', ')})`)
  t.ok(statuses.every(s => s === 200 || s === 503), 'no other answer while the pool recovers')
  const refusedIn = await waitFor('B refusing the disabled user', async () =>
    (await b.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(watched.token) })).statusCode === 401, 1000)
  t.pass(`B refused the disabled user after ${refusedIn} ms`)

  await new Promise(resolve => setTimeout(resolve, 500))
  await load.stop()
  const during = load.answers.filter(x => x.at + load.started >= cutAt && x.at + load.started < restoredAt)
  t.ok(during.length > 10, `${during.length} requests during the outage`)
  checkAnswers(t, load.answers)
  const after = load.answers.filter(x => x.at + load.started > restoredAt + 2000)
  t.ok(after.every(x => x.status < 500), 'everything answers normally 2 s after the database returned')

  const stored = await real.handle.db.select({ id: posts.id }).from(posts).where(inArray(posts.id, load.acknowledged))
  t.equal(stored.length, load.acknowledged.length, `all ${load.acknowledged.length} acknowledged writes are stored`)
  t.ok(load.acknowledged.length > 3, 'writes were acknowledged')
})

t.test('a network partition: connections hang instead of closing', { skip }, async t => {
  const { proxy, a, b } = await setUp(t)
  const user = await newUser(a, 'partition')
  const load = mixedLoad(a, b, { user: user.token, username: user.username, password: user.password })
  await new Promise(resolve => setTimeout(resolve, 500))
  proxy.cut('blackhole')
  await waitFor('/readyz 503', async () => await ready(a) === 503, DB_TIMEOUT_MS + 1000)
  await new Promise(resolve => setTimeout(resolve, 2500))
  proxy.restore()
  const restoredAt = Date.now()
  await waitFor('A ready again', async () => await ready(a) === 200, 2000)
  await waitFor('B ready again', async () => await ready(b) === 200, 2000)
  await waitFor('a login through B', async () => {
    try {
      await login(b, user.username, user.password)
      return true
    } catch {
      return false
    }
  }, 2000)
  t.ok(Date.now() - restoredAt <= 2000, `recovered ${Date.now() - restoredAt} ms after the partition ended`)
  await load.stop()
  checkAnswers(t, load.answers)
})

t.test('changes made while an instance was cut off are enforced when it is back', { skip }, async t => {
  // A reaches the database directly; only B loses it, and so misses A's notifications
  const real = await createTestDatabase(t)
  const proxy: TcpProxy = await startTcpProxy(Number(new URL(real.url!).port || 5432))
  t.teardown(() => proxy.close())
  const proxied = new URL(real.url!)
  proxied.host = `127.0.0.1:${proxy.port}`
  const a = await instance(t, real.url!)
  const b = await instance(t, proxied.toString())
  const admin = (await loginAdmin(a)).access_token
  const watched = await newUser(a, 'missed')
  const me = (app: App) => app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(watched.token) })
  t.equal((await me(b)).statusCode, 200, 'B has the user cached')

  proxy.cut('refuse')
  await waitFor('B to notice', async () => await ready(b) === 503, DB_TIMEOUT_MS + 1000)
  t.equal((await a.inject({ method: 'PATCH', url: `/v1/users/${watched.id}`, headers: bearer(admin), payload: { isActive: false } })).statusCode, 200, 'A disables the user while B is cut off')
  const whileCut = await me(b)
  t.equal(whileCut.statusCode, 503, 'B does not answer from caches it cannot keep fresh')
  proxy.restore()
  const refusedIn = await waitFor('B refusing the user', async () => (await me(b)).statusCode === 401, 1000)
  t.pass(`B refused the user ${refusedIn} ms after the database returned`)
})

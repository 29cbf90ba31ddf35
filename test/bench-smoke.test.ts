import { test } from 'tap'
import { startServer } from '../bench/lib/server-process.js'
import { request } from '../bench/lib/http.js'
import { median, turnedOrder } from '../bench/lib/load.js'
import { serverEnv, setUp } from '../bench/lib/fixture.js'
import { runEngine } from '../bench/scenarios/engine.js'

// The bench harness starts (no timings here: `npm run bench` measures, the test suite does not).

test('the bench server starts, serves the three bench routes and reports its state', async t => {
  const server = await startServer(serverEnv({ dataDir: 'memory://' }), { cpu: null, compiled: null })
  t.teardown(() => server.stop())
  t.equal((await request(server.url, 'GET', '/bench/bare')).status, 200, 'public route')
  t.equal((await request(server.url, 'GET', '/bench/authn')).status, 401, 'authenticated route without a token')
  t.equal((await request(server.url, 'GET', '/bench/perm', { token: 'not.a.token' })).status, 401, 'permission route with a bad token')
  const stats = await server.stats()
  t.ok(stats.queries > 0, 'the query counter sees the start-up queries')
  t.ok(stats.rss > 0)
  const users = await server.call('seedUsers', { count: 2, prefix: 'smoke', role: 'user', tenant: null })
  const [minted] = await server.call('mintTokens', { userIds: [users[0].id], tenant: null })
  const res = await request(server.url, 'GET', '/bench/perm', { token: minted.accessToken })
  t.equal(res.status, 200, 'a minted token of a user with posts:read passes')
  t.same(res.json(), { ok: true })
})

test('each ceiling of R answers what its real route answers, without a token', async t => {
  const server = await startServer(serverEnv({ dataDir: 'memory://' }), { cpu: null, compiled: null })
  t.teardown(() => server.stop())
  const f = await setUp(server, 3)
  const same = async (label: string, raw: string, real: string, token: string) => {
    const [a, b] = [await request(server.url, 'GET', raw), await request(server.url, 'GET', real, { token })]
    t.equal(b.status, 200, `${label}: the real route answers`)
    t.equal(a.status, 200, `${label}: its ceiling answers`)
    t.same(a.json(), b.json(), `${label}: the same answer`)
  }
  await same('post list', `/bench/raw/posts?tenant=${f.tenantId}&subject=${f.user.id}&drafts=none&limit=20`, '/v1/posts?limit=20', f.user.token)
  await same('post', `/bench/raw/posts/${f.postId}?tenant=${f.tenantId}`, `/v1/posts/${f.postId}`, f.user.token)
  await same('user list', '/bench/raw/users?limit=20', '/v1/users?limit=20', f.adminToken)
  await same('permissions', `/bench/raw/users/${f.user.id}/permissions?tenant=${f.tenantId}`, `/v1/users/${f.user.id}/permissions`, f.adminToken)
  const list = await request(server.url, 'GET', '/v1/posts?limit=20', { token: f.user.token })
  t.equal(list.json().items.length, 20, 'a full page')
  t.ok(list.json().items.every((p: { isPublished: boolean }) => p.isPublished), 'the bench user sees no draft')
  t.equal((await request(server.url, 'POST', '/bench/bare', { json: { permission: 'posts:read' } })).status, 200, 'the POST ceiling')
})

test('the engine, node-casbin and a bare Map agree on the H policy', async t => {
  // runEngine throws if any contender disagrees on any of the 65,536 queries
  const result = await runEngine(0.01)
  t.equal(result.policy.users, 1000)
  t.equal(result.policy.roles, 100)
  t.equal(result.policy.permissions, 200)
  t.ok(result.allowedShare > 0 && result.allowedShare < 1, 'the queries mix allowed and denied')
  t.ok(result.rates['node-casbin enforceSync, random pairs'] > 0)
})

test('interleaved rounds: every load takes every place in turn; ratios are medians', t => {
  const ids = ['B', 'C', 'D']
  t.same([1, 2, 3, 4].map(r => turnedOrder(ids, r)), [['B', 'C', 'D'], ['C', 'D', 'B'], ['D', 'B', 'C'], ['B', 'C', 'D']])
  t.same(turnedOrder([], 3), [])
  t.equal(median([0.9, 0.5, 0.8]), 0.8)
  t.equal(median([4, 1, 3, 2]), 2.5)
  t.ok(Number.isNaN(median([])))
  t.end()
})

import t from 'tap'
import { spawn, spawnSync } from 'node:child_process'
import { bearer, build, loginAdmin, newUser } from '../helper.js'

const app = await build(t, { METRICS_PUBLIC: 'true' })
const admin = (await loginAdmin(app)).access_token
const alice = await newUser(app, 'alice')
const bob = await newUser(app, 'bob')

async function scrape (): Promise<string> {
  const res = await app.inject({ method: 'GET', url: '/metrics' })
  if (res.statusCode !== 200) throw new Error(`/metrics: ${res.statusCode}`)
  return res.body
}

async function decisions (): Promise<{ allowed: number, denied: number }> {
  const text = await scrape()
  const value = (outcome: string) => {
    const m = new RegExp(`^warden_authz_decisions_total\\{outcome="${outcome}"\\} (\\d+)$`, 'm').exec(text)
    return m === null ? 0 : Number(m[1])
  }
  return { allowed: value('allowed'), denied: value('denied') }
}

const post = (url: string, token: string, payload: object) =>
  app.inject({ method: 'POST', url, headers: bearer(token), payload })

t.test('every decision of the check API is counted, allowed or not', async t => {
  const before = await decisions()
  const one = await post('/v1/authz/check', alice.token, { permission: 'posts:read' })
  t.equal(one.json().allowed, true)
  t.equal((await post('/v1/authz/check', alice.token, { permission: 'posts:delete' })).json().allowed, false)
  t.equal((await post('/v1/authz/check', alice.token, { permission: 'nothing:known' })).json().allowed, false, 'an unknown permission is a denial too')
  const batch = await post('/v1/authz/check-batch', alice.token, {
    checks: [{ permission: 'posts:read' }, { permission: 'posts:create' }, { permission: 'users:delete' }]
  })
  t.same(batch.json().results.map((r: { allowed: boolean }) => r.allowed), [true, true, false])
  const others = await post('/v1/authz/check-batch', admin, {
    checks: [{ permission: 'posts:read', subject: alice.id }, { permission: 'users:read', subject: alice.id }]
  })
  t.same(others.json().results.map((r: { allowed: boolean }) => r.allowed), [true, false])
  // alice may not ask about others: the call's refusal is one denial
  t.equal((await post('/v1/authz/check', alice.token, { permission: 'posts:read', subject: bob.id })).statusCode, 403)

  const after = await decisions()
  t.equal(after.allowed - before.allowed, 4, 'allowed: 1 check, 2 of a batch, 1 about another subject')
  t.equal(after.denied - before.denied, 5, 'denied: 2 checks, 1 of a batch, 1 about another subject, 1 refused call')
})

t.test('route checks keep counting', async t => {
  const before = await decisions()
  t.equal((await app.inject({ method: 'GET', url: '/v1/users', headers: bearer(alice.token) })).statusCode, 403)
  t.equal((await app.inject({ method: 'GET', url: '/v1/users', headers: bearer(admin) })).statusCode, 200)
  const after = await decisions()
  t.equal(after.denied - before.denied, 1)
  t.ok(after.allowed - before.allowed >= 1)
})

t.test('no gauge is named like a counter', async t => {
  const text = await scrape()
  const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map(m => ({ name: m[1], type: m[2] }))
  t.ok(types.length > 10, 'default metrics are there')
  t.ok(types.some(m => m.name === 'warden_nodejs_active_handles'), 'the labelled active handles gauge stays')
  for (const { name, type } of types) {
    if (name.endsWith('_total')) t.equal(type, 'counter', `${name} is a counter`)
  }
})

const promtool = spawnSync('promtool', ['--version']).error === undefined
t.test('promtool check metrics passes without warnings', {
  // CI installs promtool (.ci/run): there its absence is a failure, not a skip
  skip: !promtool && process.env.CI !== 'true' ? 'promtool is not installed' : false
}, async t => {
  // a sample of every family: requests, latency, decisions both ways, a 404
  await post('/v1/authz/check', alice.token, { permission: 'posts:read' })
  await post('/v1/authz/check', alice.token, { permission: 'posts:delete' })
  await app.inject({ method: 'GET', url: '/no/such/route' })
  const text = await scrape()
  t.match(text, /^warden_authz_decisions_total\{outcome="denied"\} \d+$/m)
  t.match(text, /^warden_http_request_duration_seconds_bucket\{/m)

  const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', chunk => { output += chunk })
  child.stderr.on('data', chunk => { output += chunk })
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', resolve)
    child.stdin.end(text)
  })
  t.equal(output.trim(), '', 'no warnings')
  t.equal(code, 0, 'exit 0')
})

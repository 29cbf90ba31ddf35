/**
 * Scenarios A-G: HTTP load with autocannon against one bench server (PostgreSQL or PGlite).
 */
import type { AutocannonRequest } from 'autocannon'
import { BENCH_PASSWORD, type MintedToken } from '../lib/protocol.js'
import { sanityChecks, setUp, type Fixture } from '../lib/fixture.js'
import { request } from '../lib/http.js'
import { combine, measure, measureInterleaved, measureTogether, median, rotating, type Load, type LoadResult, type Timing } from '../lib/load.js'
import type { ScenarioResult } from '../lib/report.js'
import type { ServerHandle } from '../lib/server-process.js'

export interface ApiOptions {
  only: (id: string) => boolean
  timing: Timing
  /** connections of the login flood (G) */
  loginConnections: number
  /** A-D run interleaved in this many rounds */
  rounds: number
  /** prefix of profile file names */
  label: string
  log: (line: string) => void
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
const JSON_HEADERS = { 'content-type': 'application/json' }
const FORM_HEADERS = { 'content-type': 'application/x-www-form-urlencoded' }

/**
 * A scenario's figures with its ratios to A: the median of its per-round ratios when it was
 * measured interleaved with A (`perRound`), else its whole window over A's.
 */
function ratio (id: string, title: string, load: LoadResult, a: LoadResult | undefined, min?: number, perRound?: { rps: number[], cpu: number[] }): ScenarioResult {
  const ratioToA = a === undefined ? undefined : perRound !== undefined ? median(perRound.rps) : load.rps / a.rps
  return {
    id,
    title,
    load,
    ratioToA,
    cpuRatioToA: a === undefined ? undefined : perRound !== undefined ? median(perRound.cpu) : a.cpuMicrosPerRequest / load.cpuMicrosPerRequest,
    ...(perRound === undefined ? {} : { roundRatios: perRound.rps.map(r => Number(r.toFixed(3))) }),
    target: min === undefined ? undefined : `>= ${min} A`,
    met: min === undefined || ratioToA === undefined ? undefined : ratioToA >= min && load.errors + load.non2xx + load.timeouts === 0
  }
}

/** The login flood: password grants rotating over the bench users (argon2 verification each). */
function loginFlood (f: Fixture, connections: number): Load {
  const requests: AutocannonRequest[] = f.users.slice(0, 1000).map(u => ({
    method: 'POST',
    path: '/v1/auth/token',
    headers: FORM_HEADERS,
    body: new URLSearchParams({ grant_type: 'password', username: u.username, password: BENCH_PASSWORD }).toString()
  }))
  return { path: '/v1/auth/token', method: 'POST', setupClient: rotating(requests, connections), connections }
}

/** Refresh grants: each connection follows its own session's rotation chain. */
function refreshChains (f: Fixture, connections: number): Load {
  const pool = f.tokens.slice(-connections * 4).map(t => t.refreshToken)
  return {
    path: '/v1/auth/token',
    method: 'POST',
    connections,
    setupClient: client => {
      const state = { token: pool.pop()! }
      client.setRequests([{
        method: 'POST',
        path: '/v1/auth/token',
        headers: FORM_HEADERS,
        setupRequest: req => ({ ...req, body: `grant_type=refresh_token&refresh_token=${state.token}` }),
        onResponse: (status, body) => {
          if (status === 200) state.token = JSON.parse(body).refresh_token
        }
      }])
    }
  }
}

export async function runApiScenarios (server: ServerHandle, opts: ApiOptions): Promise<{ results: ScenarioResult[], checks: Record<string, string> }> {
  const { only, timing, log } = opts
  log('  set-up: roles r1 > r2 > r3, 1,000 users and tokens, a post')
  const f = await setUp(server)
  const checks = await sanityChecks(server, f)
  log(`  sanity checks passed (${Object.keys(checks).length})`)
  // every D token once, so that D measures the steady state of 1,000 warm users, not first loads
  for (const t of f.tokens) await request(server.url, 'GET', '/bench/perm', { token: t.accessToken })

  const results: ScenarioResult[] = []
  const report = (entry: ScenarioResult) => {
    const r = entry.load!
    results.push(entry)
    log(`  ${entry.id}: ${entry.title}\n     ${Math.round(r.rps)} req/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, non-2xx ${r.non2xx}, errors ${r.errors + r.timeouts}, SQL/req ${r.queriesPerRequest.toFixed(2)}, server CPU ${r.serverCpu.toFixed(2)} (${r.cpuMicrosPerRequest.toFixed(1)} µs/req), runner CPU ${r.runnerCpu.toFixed(2)}${entry.ratioToA === undefined ? '' : `, ${entry.ratioToA.toFixed(3)} A (CPU ${entry.cpuRatioToA!.toFixed(3)})`}`)
  }

  // A-D: interleaved rounds (A B C D A B C D ...), so that a shift in the machine's background
  // load hits every scenario alike; A is every other figure's denominator
  const token = f.user.token
  const rotation = f.tokens.map(t => ({ method: 'GET', path: '/bench/perm', headers: bearer(t.accessToken) }))
  const core: Array<{ id: string, title: string, load: Load, min?: number }> = [
    { id: 'A', title: 'bare route, no auth', load: { path: '/bench/bare' } },
    { id: 'B', title: 'authenticated route (one token)', load: { path: '/bench/authn', headers: bearer(token) }, min: 0.9 },
    { id: 'C', title: 'permission via role 3 levels deep (one token)', load: { path: '/bench/perm', headers: bearer(token) }, min: 0.85 },
    { id: 'D', title: 'permission, 1,000 users\' tokens in rotation', load: { path: '/bench/perm', setupClient: rotating(rotation, timing.connections) }, min: 0.75 },
    // a real route every single-page app calls on load: served from the access state, no SQL
    { id: 'M', title: 'GET /v1/auth/me (one token)', load: { path: '/v1/auth/me', headers: bearer(token) }, min: 0.8 }
  ].filter(s => s.id === 'A' || only(s.id) || (s.id === 'C' && only('G')))
  const rounds = Math.max(1, opts.rounds)
  const perRound = { ...timing, rounds, duration: Math.max(1, Math.round(timing.duration / rounds)) }
  for (const s of core) if (timing.warmup > 0) await measure(server, s.load, { ...timing, duration: timing.warmup, warmup: 0, profileDir: null })
  const [base, ...others] = core
  const measured = await measureInterleaved(server, base, others, perRound, (id, round) => `${opts.label}-${id}-r${round}`)
  const a = combine(measured.windows.get('A')!)
  const c = measured.windows.has('C') ? combine(measured.windows.get('C')!) : undefined
  for (const s of core) {
    report(ratio(s.id, s.title, combine(measured.windows.get(s.id)!), a, s.min,
      s.id === 'A' ? undefined : { rps: measured.ratios.get(s.id)!, cpu: measured.cpuRatios.get(s.id)! }))
  }
  if (a.serverCpu < 0.85) {
    results[0].notes = [`the server used ${a.serverCpu.toFixed(2)} of a core during A: the machine (or the load generator) limited it, so req/s ratios are blurred; the CPU ratio (server CPU per request) is the better guide`]
    log(`  note: ${results[0].notes[0]}`)
  }

  const run = async (id: string, title: string, load: Load) => {
    const result = await measure(server, load, timing, `${opts.label}-${id}`)
    report(ratio(id, title, result, a))
    return result
  }
  if (only('E')) await run('E', 'GET /v1/posts/{id}, resource-level rule (1 indexed read)', { path: `/v1/posts/${f.postId}`, headers: bearer(token) })
  if (only('F')) {
    const check = await run('F1', 'POST /v1/authz/check', {
      path: '/v1/authz/check', method: 'POST', headers: { ...JSON_HEADERS, ...bearer(token) }, body: JSON.stringify({ permission: 'posts:read' })
    })
    results[results.length - 1].figures = { 'decisions/s': check.rps }
    const allowed = Array.from({ length: 100 }, (_, i) => ({ permission: 'posts:read', resource: { type: 'post', id: `p${i}`, ownerId: f.user.id } }))
    const batch = await run('F2', 'POST /v1/authz/check-batch, 100 checks (all allowed)', {
      path: '/v1/authz/check-batch', method: 'POST', headers: { ...JSON_HEADERS, ...bearer(token) }, body: JSON.stringify({ checks: allowed })
    })
    results[results.length - 1].figures = { 'decisions/s': batch.rps * 100 }
    // half of them denied: every denial is audited (batched inserts off the request path)
    const mixed = allowed.map((c, i) => i % 2 === 0 ? c : { permission: 'posts:update', resource: { type: 'post', id: `p${i}`, ownerId: f.users[1].id } })
    const mixedResult = await run('F3', 'POST /v1/authz/check-batch, 100 checks (50 denied, audited)', {
      path: '/v1/authz/check-batch', method: 'POST', headers: { ...JSON_HEADERS, ...bearer(token) }, body: JSON.stringify({ checks: mixed })
    })
    results[results.length - 1].figures = { 'decisions/s': mixedResult.rps * 100 }
  }
  if (['R', 'R1', 'R3', 'R4', 'R5', 'R6'].some(only)) await runRealRoutes(server, f, opts, report)
  if (only('G')) {
    const flood = loginFlood(f, opts.loginConnections)
    const logins = await measure(server, flood, timing, `${opts.label}-G1`)
    results.push({ id: 'G1', title: `password grant flood, ${opts.loginConnections} connections`, load: logins, figures: { 'logins/s': logins.rps } })
    log(`  G1: password grant flood (${opts.loginConnections} connections)\n     ${logins.rps.toFixed(1)} logins/s, p50 ${logins.p50.toFixed(1)} ms, p99 ${logins.p99.toFixed(1)} ms, non-2xx ${logins.non2xx}`)

    const [perm, during] = await measureTogether(server, [{ path: '/bench/perm', headers: bearer(token) }, flood], timing)
    const keep = c === undefined ? undefined : perm.rps / c.rps
    results.push({
      ...ratio('G2', 'C while logins flood', perm, a),
      target: '>= 0.5 of C',
      met: keep === undefined ? undefined : keep >= 0.5,
      figures: { 'C kept (ratio to C alone)': keep ?? null, 'logins/s meanwhile': during.rps, 'login p99 ms': during.p99 }
    })
    log(`  G2: scenario C during the login flood\n     C ${Math.round(perm.rps)} req/s (${keep?.toFixed(2)} of C alone), logins ${during.rps.toFixed(1)}/s`)

    const refresh = await measure(server, refreshChains(f, timing.connections), timing, `${opts.label}-G3`)
    results.push({ ...ratio('G3', 'refresh grant (rotating)', refresh, a), figures: { 'refreshes/s': refresh.rps, 'SQL statements per refresh': Number(refresh.queriesPerRequest.toFixed(2)) } })
    log(`  G3: refresh grant (rotation chains)\n     ${refresh.rps.toFixed(1)} refreshes/s, p50 ${refresh.p50.toFixed(1)} ms, p99 ${refresh.p99.toFixed(1)} ms, non-2xx ${refresh.non2xx}`)
  }
  return { results, checks }
}

/**
 * R: the routes clients call, each interleaved with its own ceiling (issue 12). The check API
 * against a bare POST with the same JSON body; the read routes against `/bench/raw/...` routes
 * that run the same repository call and answer mapping without authentication or authorization
 * (bench/lib/seed.ts). Then the same with 1,000 users' tokens in rotation.
 */
async function runRealRoutes (server: ServerHandle, f: Fixture, opts: ApiOptions, report: (entry: ScenarioResult) => void): Promise<void> {
  const { timing } = opts
  const rounds = Math.max(1, opts.rounds)
  const perRound = { ...timing, rounds, duration: Math.max(1, Math.round(timing.duration / rounds)) }
  const user = bearer(f.user.token)
  const admin = bearer(f.adminToken)
  const each = (path: (t: MintedToken) => string, extra: Partial<AutocannonRequest> = {}): Load => ({
    path: path(f.tokens[0]),
    setupClient: rotating(f.tokens.map(t => ({ method: 'GET', path: path(t), headers: bearer(t.accessToken), ...extra })), timing.connections)
  })
  const checkBody = JSON.stringify({ permission: 'posts:read' })
  const batchBody = JSON.stringify({ checks: Array.from({ length: 100 }, (_, i) => ({ permission: 'posts:read', resource: { type: 'post', id: `p${i}`, ownerId: f.user.id } })) })
  const post = (path: string, body: string, headers: Record<string, string> = {}): Load => ({ path, method: 'POST', headers: { ...JSON_HEADERS, ...headers }, body })
  // the real list route shows f.user (posts:read only) the published posts: drafts 'none'
  const listAs = `tenant=${f.tenantId}&subject=${f.user.id}&drafts=none&limit=20`
  const groups: Array<{ ceiling: { id: string, title: string, load: Load }, routes: Array<{ id: string, title: string, load: Load, min?: number }> }> = [
    {
      ceiling: { id: 'R0', title: 'ceiling: POST /bench/bare with the check body, no auth', load: post('/bench/bare', checkBody) },
      routes: [
        { id: 'R1', title: 'POST /v1/authz/check { permission: posts:read } (one token)', load: post('/v1/authz/check', checkBody, user), min: 0.85 },
        { id: 'R1d', title: 'R1 with 1,000 users\' tokens in rotation', load: { ...post('/v1/authz/check', checkBody), setupClient: rotating(f.tokens.map(t => ({ method: 'POST', path: '/v1/authz/check', headers: { ...JSON_HEADERS, ...bearer(t.accessToken) }, body: checkBody })), timing.connections) } },
        { id: 'R2', title: 'POST /v1/authz/check-batch, 100 checks (one token)', load: post('/v1/authz/check-batch', batchBody, user) }
      ]
    },
    {
      ceiling: { id: 'R3c', title: 'ceiling: the list query and answer, no auth', load: { path: `/bench/raw/posts?${listAs}` } },
      routes: [
        { id: 'R3', title: 'GET /v1/posts?limit=20 (one token)', load: { path: '/v1/posts?limit=20', headers: user }, min: 0.8 },
        { id: 'R3d', title: 'R3 with 1,000 users\' tokens in rotation', load: each(() => '/v1/posts?limit=20') }
      ]
    },
    {
      ceiling: { id: 'R4c', title: 'ceiling: the post query and answer, no auth', load: { path: `/bench/raw/posts/${f.postId}?tenant=${f.tenantId}` } },
      routes: [
        { id: 'R4', title: 'GET /v1/posts/{id} (one token)', load: { path: `/v1/posts/${f.postId}`, headers: user }, min: 0.8 },
        { id: 'R4d', title: 'R4 with 1,000 users\' tokens in rotation', load: each(() => `/v1/posts/${f.postId}`) }
      ]
    },
    {
      ceiling: { id: 'R5c', title: 'ceiling: the user list query and answer, no auth', load: { path: '/bench/raw/users?limit=20' } },
      routes: [{ id: 'R5', title: 'GET /v1/users?limit=20 (global admin)', load: { path: '/v1/users?limit=20', headers: admin }, min: 0.7 }]
    },
    {
      ceiling: { id: 'R6c', title: 'ceiling: the user query and effective set, no auth', load: { path: `/bench/raw/users/${f.user.id}/permissions?tenant=${f.tenantId}` } },
      routes: [{ id: 'R6', title: 'GET /v1/users/{id}/permissions (global admin)', load: { path: `/v1/users/${f.user.id}/permissions`, headers: admin }, min: 0.7 }]
    }
  ]
  let single: LoadResult | undefined
  // --only R: every group; --only R1,R4: the groups of those routes
  for (const { ceiling, routes } of groups.filter(g => opts.only('R') || opts.only(g.routes[0].id))) {
    for (const s of [ceiling, ...routes]) if (timing.warmup > 0) await measure(server, s.load, { ...timing, duration: timing.warmup, warmup: 0, profileDir: null })
    const measured = await measureInterleaved(server, ceiling, routes, perRound, (id, round) => `${opts.label}-${id}-r${round}`)
    const base = combine(measured.windows.get(ceiling.id)!)
    report({ ...ratio(ceiling.id, ceiling.title, base, undefined), ratioToA: undefined })
    for (const r of routes) {
      const entry = ratio(r.id, r.title, combine(measured.windows.get(r.id)!), base, r.min,
        { rps: measured.ratios.get(r.id)!, cpu: measured.cpuRatios.get(r.id)! })
      entry.ceiling = ceiling.id
      if (r.min !== undefined) entry.target = `>= ${r.min} ${ceiling.id}`
      if (r.id === 'R1') single = entry.load
      if (r.id === 'R2' && single !== undefined) {
        const perSecond = entry.load!.rps * 100
        const times = perSecond / single.rps
        entry.figures = { 'decisions/s': Math.round(perSecond), 'x single checks': Number(times.toFixed(1)) }
        entry.target = '>= 20x R1 decisions/s'
        entry.met = times >= 20 && entry.load!.errors + entry.load!.non2xx + entry.load!.timeouts === 0
      }
      report(entry)
    }
  }
}

/**
 * G4 (experiment, not Warden's code): G1 and G2 again on a server whose libuv threadpool, where
 * argon2 runs, has been reniced (BENCH_NICE_THREADPOOL, see bench/server.ts), against C alone
 * on the same server.
 */
export async function runNicedLoginFlood (server: ServerHandle, nice: number, opts: ApiOptions): Promise<ScenarioResult[]> {
  const { timing, log } = opts
  const f = await setUp(server)
  const perm: Load = { path: '/bench/perm', headers: bearer(f.user.token) }
  const flood = loginFlood(f, opts.loginConnections)
  const alone = await measure(server, perm, timing)
  const logins = await measure(server, flood, timing)
  const [during, meanwhile] = await measureTogether(server, [perm, flood], timing)
  const keep = during.rps / alone.rps
  log(`  G4: threadpool at nice ${nice}: ${logins.rps.toFixed(1)} logins/s alone; C keeps ${keep.toFixed(2)} of ${Math.round(alone.rps)} req/s while logins flood (${meanwhile.rps.toFixed(1)} logins/s meanwhile)`)
  return [{
    id: 'G4',
    title: `experiment: C while logins flood, threadpool threads at nice ${nice}`,
    load: during,
    target: '>= 0.5 of C',
    met: keep >= 0.5,
    figures: { 'C alone req/s': Math.round(alone.rps), 'C kept (ratio to C alone)': Number(keep.toFixed(3)), 'logins/s alone': Number(logins.rps.toFixed(1)), 'logins/s meanwhile': Number(meanwhile.rps.toFixed(1)), 'login p99 ms meanwhile': Number(meanwhile.p99.toFixed(1)) },
    notes: ['not Warden\'s code: bench/server.ts renices the threadpool when BENCH_NICE_THREADPOOL is set; see the proposal in bench/README.md']
  }]
}

/**
 * Scenario I: scale. 1,000,000 users (generate_series, one shared argon2 hash), 100 tenants,
 * 10,000 permissions, 1,000 roles in 100 inheritance chains ten deep (every tenth role with a
 * second parent), posts:read granted only at the bottom of the chains, and 100,000 tenant-scoped
 * assignments of top-of-chain roles. Measures the seed time, the start of a fresh server process
 * against it, its resident memory, and A/C/D at that size.
 */
import postgres from 'postgres'
import { createPasswordHasher } from '../../src/security/passwords.js'
import { serverEnv } from '../lib/fixture.js'
import { expect, passwordLogin } from '../lib/http.js'
import { combine, measure, rotating, type Load, type LoadResult, type Timing } from '../lib/load.js'
import { createDatabase } from '../lib/pg.js'
import { BENCH_PASSWORD } from '../lib/protocol.js'
import type { ScenarioResult } from '../lib/report.js'
import { startServer, type StartOptions } from '../lib/server-process.js'

export interface ScaleOptions {
  serverUrl: string
  users: number
  timing: Timing & { rounds: number }
  server: Omit<StartOptions, 'timeoutMs'>
  /** C's and D's ratios to A at the small size, same run (to compare) */
  small: { C?: number, D?: number }
  log: (line: string) => void
}

const ASSIGNMENTS = 100_000
const BENCH_USERS = 1000

async function seed (url: string, users: number, log: (line: string) => void): Promise<Record<string, number>> {
  const sql = postgres(url, { max: 1, onnotice: () => {} })
  const hash = await createPasswordHasher().hash(BENCH_PASSWORD)
  const assignments = Math.min(ASSIGNMENTS, users)
  const steps: Record<string, number> = {}
  const step = async (name: string, run: () => Promise<unknown>) => {
    const t0 = performance.now()
    await run()
    steps[name] = (performance.now() - t0) / 1000
    log(`    ${name}: ${steps[name].toFixed(1)} s`)
  }
  try {
    await step('10,000 permissions, 100 tenants, 1,000 roles', () => sql.begin(async tx => {
      await tx`insert into permissions (name) select 'scale' || r || ':' || a from generate_series(0, 2499) r, unnest(array['read', 'write', 'delete', 'admin']) a`
      await tx`insert into tenants (slug, name) select 'scale-' || t, 'Scale ' || t from generate_series(0, 99) t`
      await tx`insert into roles (name) select 'scale-l' || l || '-' || i from generate_series(0, 9) l, generate_series(0, 99) i`
      // role k = level * 100 + i grants permissions 10k .. 10k+9 (each permission once)
      await tx`
        insert into role_permissions (role_id, permission)
        select r.id, 'scale' || (p / 4) || ':' || (array['read', 'write', 'delete', 'admin'])[p % 4 + 1]
        from generate_series(0, 9) l, generate_series(0, 99) i, generate_series(0, 9) j,
          lateral (select ((l * 100 + i) * 10 + j) as p) x, roles r
        where r.name = 'scale-l' || l || '-' || i`
      await tx`insert into role_permissions (role_id, permission) select id, 'posts:read' from roles where name like 'scale-l9-%'`
      await tx`
        insert into role_inheritance (role_id, parent_id)
        select c.id, p.id from generate_series(0, 8) l, generate_series(0, 99) i, roles c, roles p
        where c.name = 'scale-l' || l || '-' || i and p.name = 'scale-l' || (l + 1) || '-' || i`
      await tx`
        insert into role_inheritance (role_id, parent_id)
        select c.id, p.id from generate_series(0, 8) l, generate_series(0, 99, 10) i, roles c, roles p
        where c.name = 'scale-l' || l || '-' || i and p.name = 'scale-l' || (l + 1) || '-' || ((i + 50) % 100)`
    }))
    await step(`${users.toLocaleString('en-US')} users`, () =>
      sql`insert into users (email, username, password_hash)
          select 'scale' || lpad(n::text, 7, '0') || '@bench.test', 'scale' || lpad(n::text, 7, '0'), ${hash}
          from generate_series(0, ${users - 1}) n`)
    // the first 1,000 users (the bench's C/D users) in the default tenant, the others spread over 100 tenants
    await step(`${assignments.toLocaleString('en-US')} tenant-scoped assignments`, () =>
      sql`insert into role_assignments (user_id, role_id, tenant_id)
          select u.id, r.id, t.id from generate_series(0, ${assignments - 1}) n, users u, roles r, tenants t
          where u.email = 'scale' || lpad(n::text, 7, '0') || '@bench.test'
            and r.name = 'scale-l0-' || (n % 100)
            and t.slug = case when n < ${BENCH_USERS} then 'default' else 'scale-' || (n % 100) end`)
    await step('analyze', () => sql`analyze`)
    steps.total = Object.values(steps).reduce((a, b) => a + b, 0)
    return steps
  } finally {
    await sql.end({ timeout: 5 })
  }
}

export async function runScaleScenario (opts: ScaleOptions): Promise<ScenarioResult[]> {
  const { log, timing } = opts
  const db = await createDatabase(opts.serverUrl)
  const env = serverEnv({ databaseUrl: db.url })
  try {
    // a first start migrates and seeds the defaults (tenant, roles, administrator)
    const first = await startServer(env, opts.server)
    await first.stop()
    log(`  seeding ${opts.users.toLocaleString('en-US')} users`)
    const steps = await seed(db.url, opts.users, log)

    const server = await startServer(env, opts.server)
    try {
      const started = await server.stats()
      log(`  fresh start: ${server.startupMs.toFixed(0)} ms to listening (process start), ${server.spawnToReadyMs.toFixed(0)} ms from spawn; RSS ${(started.rss / 2 ** 20).toFixed(0)} MB`)
      const users = await server.call('findUsers', { prefix: 'scale', count: BENCH_USERS })
      const t0 = performance.now()
      const login = await passwordLogin(server.url, users[0].username, BENCH_PASSWORD)
      const t1 = performance.now()
      await expect(200, server.url, 'GET', '/bench/perm', { token: login.access_token })
      const firstRequestMs = performance.now() - t1
      const loginMs = t1 - t0
      const tokens = await server.call('mintTokens', { userIds: users.map(u => u.id), tenant: null })
      for (const t of tokens) await expect(200, server.url, 'GET', '/bench/perm', { token: t.accessToken })
      // a user without any assignment is refused
      const denied = opts.users > ASSIGNMENTS ? await server.call('findUsers', { prefix: 'scale' + String(opts.users - 1).padStart(7, '0'), count: 1 }) : []
      if (denied.length === 1) {
        const [t] = await server.call('mintTokens', { userIds: [denied[0].id], tenant: null })
        await expect(403, server.url, 'GET', '/bench/perm', { token: t.accessToken })
      }
      const graph = await server.call('timeGraph', {})
      const warm = await server.stats()
      log(`  role graph load + compile ${graph.ms.toFixed(0)} ms (${graph.heapMb.toFixed(1)} MB heap); RSS with 1,000 users warm ${(warm.rss / 2 ** 20).toFixed(0)} MB`)

      // Diagnostic: the same user with a token asking only for what the route needs. A token
      // without `scope` carries every effective permission (the contract), which at this size
      // makes the Authorization header several times larger than at the small size.
      const scoped = await passwordLogin(server.url, users[0].username, BENCH_PASSWORD, 'posts:read')
      log(`  token sizes: without scope ${login.access_token.length} bytes, with scope=posts:read ${scoped.access_token.length} bytes`)
      const loads: Array<{ id: string, load: Load }> = [
        { id: 'A', load: { path: '/bench/bare' } },
        { id: 'C', load: { path: '/bench/perm', headers: { authorization: `Bearer ${login.access_token}` } } },
        { id: 'Cs', load: { path: '/bench/perm', headers: { authorization: `Bearer ${scoped.access_token}` } } },
        { id: 'D', load: { path: '/bench/perm', setupClient: rotating(tokens.map(t => ({ method: 'GET', path: '/bench/perm', headers: { authorization: `Bearer ${t.accessToken}` } })), timing.connections) } }
      ]
      for (const l of loads) if (timing.warmup > 0) await measure(server, l.load, { ...timing, duration: timing.warmup, warmup: 0, profileDir: null })
      const rounds = Math.max(1, timing.rounds)
      const perRound = { ...timing, warmup: 0, duration: Math.max(1, Math.round(timing.duration / rounds)), profileDir: null }
      const measured = new Map<string, LoadResult[]>(loads.map(l => [l.id, []]))
      for (let round = 0; round < rounds; round++) {
        for (const l of loads) measured.get(l.id)!.push(await measure(server, l.load, perRound))
      }
      const after = await server.stats()
      const a = combine(measured.get('A')!)
      const out: ScenarioResult[] = [{
        id: 'I',
        title: `scale: ${opts.users.toLocaleString('en-US')} users, ${Math.min(ASSIGNMENTS, opts.users).toLocaleString('en-US')} tenant-scoped assignments, 1,000 roles ten deep, 10,000 permissions`,
        figures: {
          'seed s': Number(steps.total.toFixed(1)),
          'start ms (process start to listening)': Math.round(server.startupMs),
          'start ms (spawn to ready, as seen by the runner)': Math.round(server.spawnToReadyMs),
          'first authorized request ms': Math.round(firstRequestMs),
          'role graph load + compile ms': Math.round(graph.ms),
          'role graph heap MB': Number(graph.heapMb.toFixed(1)),
          'password login ms': Math.round(loginMs),
          'RSS MB at start': Math.round(started.rss / 2 ** 20),
          'RSS MB, 1,000 users warm': Math.round(warm.rss / 2 ** 20),
          'RSS MB after the load': Math.round(after.rss / 2 ** 20)
        },
        target: 'start < 5 s, RSS < 300 MB',
        met: server.spawnToReadyMs < 5000 && after.rss < 300 * 2 ** 20,
        notes: Object.entries(steps).filter(([k]) => k !== 'total').map(([k, v]) => `seed ${k}: ${v.toFixed(1)} s`)
      }]
      for (const id of ['A', 'C', 'D', 'Cs']) {
        const load = combine(measured.get(id)!)
        const ratioToA = load.rps / a.rps
        const small = id === 'A' ? undefined : opts.small[(id === 'Cs' ? 'C' : id) as 'C' | 'D']
        out.push({
          id: `I-${id}`,
          title: id === 'Cs' ? 'C at scale, token with scope=posts:read (diagnostic)' : `${id} at scale`,
          load,
          ratioToA,
          cpuRatioToA: a.cpuMicrosPerRequest / load.cpuMicrosPerRequest,
          target: small === undefined ? undefined : `within 10% of the small-size ratio (${small.toFixed(2)})`,
          met: small === undefined ? undefined : Math.abs(ratioToA - small) / small <= 0.1 && load.errors + load.non2xx + load.timeouts === 0
        })
        log(`  ${id} at scale: ${Math.round(load.rps)} req/s, p99 ${load.p99.toFixed(2)} ms, ${ratioToA.toFixed(3)} A, SQL/req ${load.queriesPerRequest.toFixed(2)}, non-2xx ${load.non2xx}`)
      }
      return out
    } finally {
      await server.stop()
    }
  } finally {
    await db.drop()
  }
}

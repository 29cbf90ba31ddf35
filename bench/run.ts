/**
 * `npm run bench [-- options]`: Warden's benchmark suite (issue 5). See bench/README.md.
 *
 *   --only A,B,C      scenarios to run (default: all, A-K, M, Q and R); A always runs with any of B-G, M and R;
 *                     R1, R3, R4, R5, R6 run one group of R (the route with its ceiling)
 *   --duration 10     measured seconds per HTTP scenario; --warmup 3 seconds before each
 *   --rounds 10       A-D (and I's loads) are measured interleaved with A in this many rounds
 *                     (A B A C A D A, the order turning each round; see measureInterleaved)
 *   --connections 10  autocannon connections; --login-connections 8 for the login flood (G)
 *   --db postgres,pglite   backends for A-G (I and J need PostgreSQL)
 *   --pg URL          PostgreSQL server (default postgres://postgres@127.0.0.1:5432/postgres)
 *   --scale-users N   users for I (default 1000000); --trials N for J (default 200)
 *   --tsx             run the server from source through tsx (default: compiled with tsc first)
 *   --no-build        reuse the last compilation (node_modules/.cache/warden-bench)
 *   --nice-threadpool N   G4 experiment: the login flood again with the server's threadpool at nice N instead of THREADPOOL_NICE (default 0: skip)
 *   --server FILE     a compiled bench server to run instead (another build, to compare versions)
 *   --server-env K=V,K=V   extra environment for the bench servers (e.g. UV_THREADPOOL_SIZE=1)
 *   --no-pin          do not pin the server to CPU 0 and the load generator to CPU 1
 *   --profile DIR     profile each measured window of A-G, and one extra window of each I load
 *                     (V8 sampling profiler in the server)
 *                     into DIR/<backend>-<scenario>.cpuprofile; see bench/profile-summary.ts
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { serverEnv } from './lib/fixture.js'
import { buildServer, builtServer } from './lib/build.js'
import { closeAgent } from './lib/http.js'
import { createDatabase } from './lib/pg.js'
import { figureList, loadTable, type ScenarioResult } from './lib/report.js'
import { pin, startServer } from './lib/server-process.js'
import { runScript } from './lib/child.js'
import { runApiScenarios, runNicedLoginFlood } from './scenarios/api.js'
import type { HotPathResult } from './scenarios/hotpath.js'
import { engineResults } from './scenarios/engine-report.js'
import type { EngineResult } from './scenarios/engine.js'
import { runScaleScenario } from './scenarios/scale.js'
import { runPropagationScenario } from './scenarios/propagation.js'
import type { QueryCountResult } from './scenarios/queries.js'

const { values } = parseArgs({
  options: {
    only: { type: 'string', default: 'A,B,C,D,E,F,G,H,I,J,K,M,Q,R' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '10' },
    'login-connections': { type: 'string', default: '8' },
    db: { type: 'string', default: 'postgres,pglite' },
    pg: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
    'scale-users': { type: 'string', default: '1000000' },
    trials: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '10' },
    'no-pin': { type: 'boolean', default: false },
    tsx: { type: 'boolean', default: false },
    'no-build': { type: 'boolean', default: false },
    'server-env': { type: 'string', default: '' },
    server: { type: 'string' },
    'nice-threadpool': { type: 'string', default: '0' },
    profile: { type: 'string' }
  }
})

const selected = new Set(values.only.split(',').map(s => s.trim().toUpperCase()).filter(Boolean))
const only = (id: string) => selected.has(id)
const timing = { duration: Number(values.duration), warmup: Number(values.warmup), connections: Number(values.connections) }
const backends = values.db.split(',').map(s => s.trim()) as Array<'postgres' | 'pglite'>
const pinned = !values['no-pin'] && os.cpus().length >= 2
const serverCpu = pinned ? 0 : null
const profileDir = values.profile ? path.resolve(values.profile) : null
const log = (line: string) => process.stdout.write(line + '\n')
const extraEnv = Object.fromEntries(values['server-env'].split(',').filter(Boolean).map(kv => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]))

if (pinned && !pin(process.pid, 1)) log('could not pin the load generator (taskset); continuing unpinned')

const startedAt = new Date()
const results: Record<string, ScenarioResult[]> = {}
const checks: Record<string, Record<string, string>> = {}

if (profileDir) await mkdir(profileDir, { recursive: true })
let compiled: string | null = null
if (!values.tsx) {
  if (!values['no-build'] && !values.server) log('compiling src/ and the bench server (tsc) into node_modules/.cache/warden-bench')
  compiled = values.server ? path.resolve(values.server) : values['no-build'] ? builtServer : await buildServer()
}
const serverOptions = { cpu: serverCpu, compiled }

for (const backend of backends) {
  if (!['A', 'B', 'C', 'D', 'E', 'F', 'G', 'M', 'R', 'R1', 'R3', 'R4', 'R5', 'R6'].some(only)) break
  log(`\n== A-G on ${backend}`)
  const pg = backend === 'postgres' ? await createDatabase(values.pg) : null
  const dataDir = backend === 'pglite' ? await mkdtemp(path.join(os.tmpdir(), 'warden-bench-')) : null
  const env = serverEnv(pg ? { databaseUrl: pg.url } : { dataDir: dataDir! }, extraEnv)
  const server = await startServer(env, serverOptions)
  try {
    const out = await runApiScenarios(server, {
      only, timing: { ...timing, profileDir }, loginConnections: Number(values['login-connections']), rounds: Number(values.rounds), label: backend, log
    })
    results[backend] = out.results
    checks[backend] = out.checks
  } finally {
    await server.stop()
    await pg?.drop()
    if (dataDir) await rm(dataDir, { recursive: true, force: true })
  }
}

if (only('G') && backends.includes('postgres') && Number(values['nice-threadpool']) > 0) {
  log(`\n== G4 (experiment): login flood with the threadpool at nice ${values['nice-threadpool']} (PostgreSQL)`)
  const pg = await createDatabase(values.pg)
  const server = await startServer(serverEnv({ databaseUrl: pg.url }, { ...extraEnv, BENCH_NICE_THREADPOOL: values['nice-threadpool'] }), serverOptions)
  try {
    results.postgres.push(...await runNicedLoginFlood(server, Number(values['nice-threadpool']), {
      only, timing: { ...timing, profileDir: null }, loginConnections: Number(values['login-connections']), rounds: 1, label: 'postgres-nice', log
    }))
  } finally {
    await server.stop()
    await pg.drop()
  }
}
if (only('K')) {
  log('\n== K: auth hooks in process (diagnostic)')
  const k = await runScript<HotPathResult>('hotpath', [String(Math.min(timing.duration, 3))], { cpu: serverCpu, compiled: compiled !== null })
  for (const [name, ns] of Object.entries(k.nsPerRequest)) log(`  ${name}: ${ns.toFixed(0)} ns/request`)
  results.hotpath = [{ id: 'K', title: 'auth hooks in process, ns per request over the baseline', figures: Object.fromEntries(Object.entries(k.authNs).map(([n, v]) => [n, Math.round(v)])), notes: [`baseline (a fresh header string and one hook call): ${k.nsPerRequest.baseline.toFixed(0)} ns`] }]
}
if (only('H')) {
  log('\n== H: engine in process')
  const h = await runScript<EngineResult>('engine', [String(Math.min(timing.duration, 3))], { cpu: serverCpu, compiled: compiled !== null })
  for (const [name, perSecond] of Object.entries(h.rates)) log(`  ${name}: ${Math.round(perSecond).toLocaleString('en-US')}/s`)
  results.engine = engineResults(h)
}
if (only('I')) {
  log('\n== I: scale (PostgreSQL)')
  const small = Object.fromEntries((results.postgres ?? []).filter(r => r.id === 'C' || r.id === 'D').map(r => [r.id, r.ratioToA]))
  results.scale = await runScaleScenario({
    serverUrl: values.pg, users: Number(values['scale-users']), timing: { ...timing, rounds: Number(values.rounds), profileDir }, server: serverOptions, small, log
  })
}
if (only('J')) {
  log('\n== J: propagation between two instances (PostgreSQL)')
  results.propagation = [await runPropagationScenario({ serverUrl: values.pg, trials: Number(values.trials), server: serverOptions, log })]
}
if (only('Q')) {
  log('\n== Q: SQL statements per request, every operation of the OpenAPI document (in process, warm)')
  const tables: string[] = []
  for (const backend of backends) {
    const db = backend === 'postgres' ? await createDatabase(values.pg) : null
    try {
      const q = await runScript<QueryCountResult>('queries', [db === null ? 'pglite' : db.url], { cpu: serverCpu, compiled: compiled !== null })
      const odd = q.rows.filter(r => r.expect === undefined ? r.status >= 300 : r.status !== r.expect)
      if (odd.length > 0) throw new Error(`Q: ${odd.map(r => `${r.operationId} answered ${r.status}`).join(', ')}`)
      if (q.notMeasured.length > 0) log(`  not measured (add a request to bench/scenarios/queries.ts): ${q.notMeasured.join(', ')}`)
      tables.push(`#### ${backend}\n\n| operation | method | path | kind | SQL statements |\n|---|---|---|---|---:|\n` +
        q.rows.map(r => `| ${r.operationId} | ${r.method} | \`${r.path}\` | ${r.kind} | ${r.queries} |`).join('\n'))
      results[`queries-${backend}`] = [{ id: 'Q', title: `SQL statements per request (${backend})`, figures: Object.fromEntries(q.rows.map(r => [r.operationId, r.queries])) }]
    } finally {
      await db?.drop()
    }
  }
  log('\n' + tables.join('\n\n'))
}
closeAgent()

const report = {
  startedAt: startedAt.toISOString(),
  finishedAt: new Date().toISOString(),
  command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
  options: { ...values, pinned },
  machine: {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    memoryMb: Math.round(os.totalmem() / 2 ** 20),
    loadAverageAtStart: os.loadavg(),
    node: process.version
  },
  checks,
  results
}
const dir = fileURLToPath(new URL('./results/', import.meta.url))
await mkdir(dir, { recursive: true })
const file = path.join(dir, `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`)
await writeFile(file, JSON.stringify(report, null, 2) + '\n')

log('')
for (const [name, list] of Object.entries(results)) {
  log(`### ${name}\n`)
  if (list.some(r => r.load || r.pending)) log(loadTable(list) + '\n')
  const figures = figureList(list)
  if (figures) log(figures + '\n')
}
log(`results: ${path.relative(process.cwd(), file)}`)

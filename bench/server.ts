/**
 * The bench server: the real Warden app (buildApp) plus three bench-only routes that share one
 * trivial handler, so that the difference between them is the cost of authentication and
 * authorization alone. Started by bench/run.ts as a child process (Node IPC), configured by the
 * same environment variables as src/server.ts. A harness, not production code.
 */
import { pbkdf2 } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import os from 'node:os'
import { Session } from 'node:inspector/promises'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { openCountingDatabase } from './lib/counting-db.js'
import type { Commands, Ready, Reply, Request, ServerStats } from './lib/protocol.js'
import { addBenchRoutes, benchSeeder } from './lib/seed.js'

const config = loadConfig(process.env)
const database = await openCountingDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir })
const app = await buildApp(config, { database })

addBenchRoutes(app)

// Experiment (G4): BENCH_NICE_THREADPOOL=19 lowers the priority of the libuv threadpool's
// threads (where argon2 runs), so that request handling on the main thread wins the CPU against
// password hashing. Linux only (nice values are per thread there). The pool's threads are the
// ones that burn CPU while it runs a batch of pbkdf2 jobs.
if (process.env.BENCH_NICE_THREADPOOL) {
  const size = Number(process.env.UV_THREADPOOL_SIZE ?? 4)
  const cpuTicks = () => new Map(readdirSync('/proc/self/task').map(tid => {
    const fields = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ')
    return [tid, Number(fields[11]) + Number(fields[12])] as const
  }))
  const before = cpuTicks()
  await Promise.all(Array.from({ length: size * 2 }, () => new Promise(resolve => pbkdf2('bench', 'salt', 300_000, 32, 'sha256', resolve))))
  const busiest = [...cpuTicks()].map(([tid, t]) => [tid, t - (before.get(tid) ?? 0)] as const).sort((a, b) => b[1] - a[1]).slice(0, size)
  for (const [tid] of busiest) os.setPriority(Number(tid), Number(process.env.BENCH_NICE_THREADPOOL))
  process.stderr.write(`bench server: reniced threads ${busiest.map(([tid, t]) => `${tid} (${t} ticks)`).join(', ')} to ${process.env.BENCH_NICE_THREADPOOL}\n`)
}

const seeder = benchSeeder(app)

await app.listen({ host: config.host, port: config.port })
const address = app.server.address()
const port = typeof address === 'object' && address !== null ? address.port : config.port

let profiler: Session | null = null

const handlers: { [K in keyof Commands]: (args: Commands[K]['args']) => Promise<Commands[K]['result']> } = {
  async stats (): Promise<ServerStats> {
    const cpu = process.cpuUsage()
    const mem = process.memoryUsage()
    return { queries: database.queries(), rss: mem.rss, heapUsed: mem.heapUsed, cpuMicros: cpu.user + cpu.system, access: app.access.stats() }
  },

  seedUsers: seeder.seedUsers,
  mintTokens: seeder.mintTokens,
  findUsers: seeder.findUsers,

  async timeGraph () {
    const gc = (globalThis as { gc?: () => void }).gc
    app.access.invalidate('graph')
    gc?.()
    const before = process.memoryUsage().heapUsed
    const t0 = performance.now()
    await app.access.getGraph()
    const ms = performance.now() - t0
    gc?.()
    return { ms, heapMb: (process.memoryUsage().heapUsed - before) / 2 ** 20 }
  },

  async profileStart () {
    profiler = new Session()
    profiler.connect()
    await profiler.post('Profiler.enable')
    await profiler.post('Profiler.setSamplingInterval', { interval: 100 })
    await profiler.post('Profiler.start')
    return null
  },

  async profileStop ({ file }) {
    if (profiler === null) throw new Error('the profiler is not running')
    const { profile } = await profiler.post('Profiler.stop')
    profiler.disconnect()
    profiler = null
    await writeFile(file, JSON.stringify(profile))
    return null
  },

  async close () {
    setImmediate(() => {
      app.close()
        .then(() => database.close())
        .finally(() => process.exit(0))
    })
    return null
  }
}

process.on('message', (message: Request) => {
  const run = handlers[message.cmd] as (args: unknown) => Promise<unknown>
  run(message.args).then(
    result => process.send!({ id: message.id, ok: true, result } satisfies Reply),
    (err: Error) => process.send!({ id: message.id, ok: false, error: err.stack ?? String(err) } satisfies Reply)
  )
})
process.on('disconnect', () => process.exit(0))

process.send!({ type: 'ready', port, startupMs: performance.now(), readyAtMs: Date.now() } satisfies Ready)

/**
 * The bench server: the real Warden app (buildApp) plus three bench-only routes that share one
 * trivial handler, so that the difference between them is the cost of authentication and
 * authorization alone. Started by bench/run.ts as a child process (Node IPC), configured by the
 * same environment variables as src/server.ts. A harness, not production code.
 */
import { writeFile } from 'node:fs/promises'
import { Session } from 'node:inspector/promises'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { openCountingDatabase } from './lib/counting-db.js'
import type { Commands, Ready, Reply, Request, ServerStats } from './lib/protocol.js'
import { addBenchRoutes, benchSeeder } from './lib/seed.js'
import { lowerThreadpoolPriority } from '../src/lib/threadpool-priority.js'
import { changed } from '../src/access/changes.js'

const config = loadConfig(process.env)
const database = await openCountingDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir })
const app = await buildApp(config, { database })

addBenchRoutes(app)

// As src/server.ts does: the threadpool (argon2) runs below request handling. G4 sets
// BENCH_NICE_THREADPOOL to try other values; THREADPOOL_NICE=0 turns it off.
const nice = process.env.BENCH_NICE_THREADPOOL !== undefined ? Number(process.env.BENCH_NICE_THREADPOOL) : config.threadpoolNice
const reniced = await lowerThreadpoolPriority(nice)
if (reniced.length > 0) process.stderr.write(`bench server: threadpool threads ${reniced.join(', ')} at nice ${nice}\n`)

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
    app.access.invalidate(changed.graph)
    gc?.()
    const before = process.memoryUsage().heapUsed
    const t0 = performance.now()
    await app.access.getGraph()
    const ms = performance.now() - t0
    gc?.()
    return { ms, heapMb: (process.memoryUsage().heapUsed - before) / 2 ** 20 }
  },

  async memoryAfterGc () {
    const gc = (globalThis as { gc?: () => void }).gc
    gc?.()
    const mem = process.memoryUsage()
    return { rss: mem.rss, heapUsed: mem.heapUsed }
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

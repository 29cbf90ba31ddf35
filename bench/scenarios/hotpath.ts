/**
 * Scenario K (diagnostic): the cost of the auth hooks alone, in process, without HTTP. Builds the
 * app on an in-memory PGlite, takes the onRequest/preHandler hooks that authn and authz attach to
 * the bench routes, and calls them with request-shaped objects whose Authorization header is a
 * fresh string each time (as the HTTP parser makes it). Nanoseconds per request, for one hot
 * token and for 1,000 users' tokens in rotation: far less noisy than req/s on a shared machine.
 *
 * Run by bench/run.ts in its own process: `node node_modules/.cache/warden-bench/bench/scenarios/hotpath.js`.
 */
import { fileURLToPath } from 'node:url'
import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { permissions, roleInheritance, rolePermissions, roles } from '../../src/db/schema/index.js'
import { addBenchRoutes, benchSeeder } from '../lib/seed.js'
import { changed } from '../../src/access/changes.js'

type Hook = (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => void

export interface HotPathResult {
  nsPerRequest: Record<string, number>
  /** auth cost over the baseline (making the header string and calling a hook) */
  authNs: Record<string, number>
}

/**
 * A route's authentication and authorization hooks: the callback-style ones (request, reply,
 * done). The rate limit's hook, an async function, is left out: K times auth alone, and the
 * HTTP scenarios include the rate limit.
 */
const asHooks = (h: unknown): Hook[] => ((h === undefined ? [] : Array.isArray(h) ? h : [h]) as Hook[]).filter(hook => hook.length === 3)

export async function runHotPath (seconds: number): Promise<HotPathResult> {
  const app = await buildApp(loadConfig({ DATA_DIR: 'memory://', LOG_LEVEL: 'silent', WARDEN_ADMIN_EMAIL: 'admin@bench.test', WARDEN_ADMIN_PASSWORD: 'bench admin password 0123' }))
  const routes = new Map<string, RouteOptions>()
  app.addHook('onRoute', route => { if (route.url.startsWith('/bench/')) routes.set(route.url, route as RouteOptions) })
  addBenchRoutes(app)
  await app.ready()

  // r3 (posts:read) <- r2 <- r1, as in scenario C
  const ids: string[] = []
  for (const name of ['bench-r3', 'bench-r2', 'bench-r1']) {
    const [row] = await app.db.insert(roles).values({ name }).returning({ id: roles.id })
    ids.push(row.id)
  }
  await app.db.insert(rolePermissions).values({ roleId: ids[0], permission: 'posts:read' })
  await app.db.insert(roleInheritance).values([{ roleId: ids[1], parentId: ids[0] }, { roleId: ids[2], parentId: ids[1] }])
  await app.changes.publish(changed.graph)
  const seeder = benchSeeder(app)
  const users = await seeder.seedUsers({ count: 1000, prefix: 'hot', role: 'bench-r1', tenant: null })
  const tokens = await seeder.mintTokens({ userIds: users.map(u => u.id), tenant: null })
  const headers = tokens.map(t => Buffer.from('Bearer ' + t.accessToken, 'latin1'))

  // I-D's shape: 100 roles `wide-i`, each granting 60 permissions of its own and inheriting
  // bench-r1; 1,000 users, user n holding wide-(n % 100): tokens of 61 permissions (~1.6 KB),
  // 100 different effective sets
  const wideUsers = []
  for (let i = 0; i < 100; i++) {
    const names = Array.from({ length: 60 }, (_, j) => `wide${i * 15 + (j >> 2)}:${['read', 'write', 'delete', 'admin'][j & 3]}`)
    await app.db.insert(permissions).values(names.map(name => ({ name })))
    const [role] = await app.db.insert(roles).values({ name: `wide-${i}` }).returning({ id: roles.id })
    await app.db.insert(rolePermissions).values(names.map(permission => ({ roleId: role.id, permission })))
    await app.db.insert(roleInheritance).values({ roleId: role.id, parentId: ids[2] })
  }
  await app.changes.publish(changed.graph)
  for (let i = 0; i < 100; i++) wideUsers.push(...await seeder.seedUsers({ count: 10, prefix: `wide${i}-`, role: `wide-${i}`, tenant: null }))
  const wideTokens = await seeder.mintTokens({ userIds: wideUsers.map(u => u.id), tenant: null })
  const wideHeaders = wideTokens.map(t => Buffer.from('Bearer ' + t.accessToken, 'latin1'))

  const authn = routes.get('/bench/authn')!
  const perm = routes.get('/bench/perm')!
  const chains: Record<string, Hook[]> = {
    baseline: [(_q, _r, done) => done()],
    B: asHooks(authn.onRequest),
    C: [...asHooks(perm.onRequest), ...asHooks(perm.preHandler)]
  }
  const reply = { header: () => reply } as unknown as FastifyReply
  let failures = 0
  let calls = 0
  const done = (err?: Error) => { calls++; if (err) failures++ }

  // one request object per timed loop, and one connection (`raw.socket`) with it: a loop is one
  // kept-alive connection, and its rotation cycles tokens over it as D's connections do
  const newRequest = () => ({ headers: { authorization: '' }, raw: { socket: {} }, principal: null, ip: '127.0.0.1', method: 'GET', routeOptions: { url: '/bench/perm' } }) as unknown as FastifyRequest & { headers: { authorization: string } }

  // first use of each token loads its session and user (asynchronously): let that happen first
  for (const header of [...headers, ...wideHeaders]) {
    const request = newRequest()
    request.headers.authorization = header.toString('latin1')
    for (const hook of chains.C) {
      await new Promise<void>((resolve, reject) => hook(request, reply, err => err ? reject(err) : resolve()))
    }
  }

  function time (chain: Hook[], rotation: number, from = headers): number {
    const request = newRequest()
    const run = (n: number) => {
      for (let i = 0; i < n; i++) {
        request.headers.authorization = from[i % rotation].toString('latin1')
        request.principal = null
        const before = calls
        for (const hook of chain) hook(request, reply, done)
        if (calls - before !== chain.length) throw new Error('a hook did not finish synchronously: state was not warm')
      }
    }
    run(50_000) // warm caches and the JIT; loads every user's state once
    let n = 20_000
    for (;;) {
      const t0 = performance.now()
      run(n)
      const ms = performance.now() - t0
      if (ms >= seconds * 1000) return ms * 1e6 / n
      n = Math.ceil(n * Math.min(10, (seconds * 1000) / Math.max(ms, 1) * 1.1))
    }
  }

  const nsPerRequest: Record<string, number> = {
    baseline: time(chains.baseline, 1000),
    'B (one token)': time(chains.B, 1),
    'C (one token)': time(chains.C, 1),
    'D (1,000 tokens)': time(chains.C, 1000),
    'C, a token of 61 permissions': time(chains.C, 1, wideHeaders),
    'D, 1,000 tokens of 61 permissions': time(chains.C, 1000, wideHeaders)
  }
  if (failures > 0) throw new Error(`${failures} hook calls failed`)
  await app.close()
  const authNs: Record<string, number> = {}
  for (const [k, v] of Object.entries(nsPerRequest)) if (k !== 'baseline') authNs[k] = v - nsPerRequest.baseline
  return { nsPerRequest, authNs }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = await runHotPath(Number(process.argv[2] ?? 2))
  process.stdout.write(JSON.stringify(result) + '\n')
}

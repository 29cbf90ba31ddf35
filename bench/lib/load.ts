import path from 'node:path'
import autocannon, { type AutocannonRequest, type Client, type Result } from 'autocannon'
import type { ServerHandle } from './server-process.js'

export interface Timing {
  /** when set, the measured window of each scenario is profiled into `<dir>/<label>.cpuprofile` */
  profileDir?: string | null
  /** seconds of load before the measured window, results discarded */
  warmup: number
  /** seconds measured */
  duration: number
  connections: number
}

export interface Load {
  path: string
  method?: string
  headers?: Record<string, string>
  body?: string
  /** per-connection request sequences (rotating tokens, refresh chains); see autocannon's setupClient */
  setupClient?: (client: Client) => void
  connections?: number
}

export interface LoadResult {
  rps: number
  p50: number
  p99: number
  mean: number
  total: number
  errors: number
  timeouts: number
  non2xx: number
  seconds: number
  /** the server's CPU use during the window, in cores (1 = one core fully busy) */
  serverCpu: number
  /** the load generator's CPU use during the window, in cores */
  runnerCpu: number
  /** server CPU time per request in microseconds: a cost that background load on a shared machine disturbs less than req/s */
  cpuMicrosPerRequest: number
  /** SQL statements the server sent per request during the window */
  queriesPerRequest: number
}

// autocannon's histogram keeps whole milliseconds; loopback latencies are fractions of one, so
// every response time is also kept here (a ring of the last 2^20) for percentiles in µs
const RING = 1 << 20

interface Fired { result: Result, p50: number, p99: number }

async function fire (base: string, load: Load, duration: number, connections: number): Promise<Fired> {
  let n = 0
  const times = new Float64Array(RING)
  const instance = autocannon({
    url: base + load.path,
    method: load.method ?? 'GET',
    headers: load.headers,
    body: load.body,
    setupClient: load.setupClient,
    connections: load.connections ?? connections,
    duration,
    timeout: 10
  })
  instance.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) => { times[n++ & (RING - 1)] = ms })
  const result = await (instance as unknown as Promise<Result>)
  const kept = times.slice(0, Math.min(n, RING)).sort()
  const at = (p: number) => kept.length === 0 ? 0 : kept[Math.min(kept.length - 1, Math.ceil(p * kept.length) - 1)]
  return { result, p50: at(0.5), p99: at(0.99) }
}

export function summarize ({ result, p50, p99 }: Fired, seconds: number): Omit<LoadResult, 'serverCpu' | 'runnerCpu' | 'queriesPerRequest' | 'cpuMicrosPerRequest'> {
  return {
    rps: result.requests.total / seconds,
    p50,
    p99,
    mean: result.latency.mean,
    total: result.requests.total,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    seconds
  }
}

/** Warm-up run (discarded), then the measured run, with the server's CPU and query count over the window. */
export async function measure (server: ServerHandle, load: Load, timing: Timing, label?: string): Promise<LoadResult> {
  if (timing.warmup > 0) await fire(server.url, load, timing.warmup, timing.connections)
  const profile = timing.profileDir && label ? path.join(timing.profileDir, `${label}.cpuprofile`) : null
  if (profile) await server.call('profileStart', {})
  const before = await server.stats()
  const runnerBefore = process.cpuUsage()
  const t0 = performance.now()
  const result = await fire(server.url, load, timing.duration, timing.connections)
  const seconds = (performance.now() - t0) / 1000
  const runner = process.cpuUsage(runnerBefore)
  const after = await server.stats()
  if (profile) await server.call('profileStop', { file: profile })
  const base = summarize(result, result.result.duration || seconds)
  return {
    ...base,
    serverCpu: (after.cpuMicros - before.cpuMicros) / 1e6 / seconds,
    cpuMicrosPerRequest: base.total === 0 ? 0 : (after.cpuMicros - before.cpuMicros) / base.total,
    runnerCpu: (runner.user + runner.system) / 1e6 / seconds,
    // the two stats calls themselves run no SQL
    queriesPerRequest: base.total === 0 ? 0 : (after.queries - before.queries) / base.total
  }
}

/** Two loads at once against the same server (e.g. a login flood next to protected reads). */
export async function measureTogether (server: ServerHandle, loads: [Load, Load], timing: Timing): Promise<[LoadResult, LoadResult]> {
  if (timing.warmup > 0) await Promise.all(loads.map(l => fire(server.url, l, timing.warmup, timing.connections)))
  const before = await server.stats()
  const runnerBefore = process.cpuUsage()
  const t0 = performance.now()
  const results = await Promise.all(loads.map(l => fire(server.url, l, timing.duration, timing.connections)))
  const seconds = (performance.now() - t0) / 1000
  const runner = process.cpuUsage(runnerBefore)
  const after = await server.stats()
  const serverCpu = (after.cpuMicros - before.cpuMicros) / 1e6 / seconds
  const runnerCpu = (runner.user + runner.system) / 1e6 / seconds
  const total = results.reduce((n, r) => n + r.result.requests.total, 0)
  const qpr = total === 0 ? 0 : (after.queries - before.queries) / total
  const cpuPerRequest = total === 0 ? 0 : (after.cpuMicros - before.cpuMicros) / total
  return results.map(r => ({ ...summarize(r, r.result.duration || seconds), serverCpu, runnerCpu, queriesPerRequest: qpr, cpuMicrosPerRequest: cpuPerRequest })) as [LoadResult, LoadResult]
}

/**
 * Deals `requests` out to the connections (with C connections, connection k sends the requests
 * k, k + C, k + 2C, ... in turn), so that every request of the list is in rotation and
 * concurrent connections never present the same one in lockstep. Each connection holds only its
 * share: autocannon builds a buffer per request per connection, and a full copy of 1,000
 * requests for every connection made the load generator, not the server, the bottleneck.
 */
export function rotating (requests: AutocannonRequest[], connections: number): (client: Client) => void {
  let n = 0
  return client => {
    const k = n++ % connections
    const share = requests.filter((_, i) => i % connections === k)
    client.setRequests((share.length > 0 ? share : requests).map(r => ({ ...r })))
  }
}

/** The median of some numbers (NaN for none). */
export const median = (xs: readonly number[]): number => {
  if (xs.length === 0) return Number.NaN
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}

/**
 * Several rounds of one scenario as one result: throughput over the summed windows, latency
 * percentiles as the median of the rounds' percentiles, counts summed.
 */
export function combine (rounds: LoadResult[]): LoadResult {
  const seconds = rounds.reduce((n, r) => n + r.seconds, 0)
  const total = rounds.reduce((n, r) => n + r.total, 0)
  const weighted = (f: (r: LoadResult) => number) => rounds.reduce((n, r) => n + f(r) * r.seconds, 0) / seconds
  return {
    rps: total / seconds,
    p50: median(rounds.map(r => r.p50)),
    p99: median(rounds.map(r => r.p99)),
    mean: weighted(r => r.mean),
    total,
    errors: rounds.reduce((n, r) => n + r.errors, 0),
    timeouts: rounds.reduce((n, r) => n + r.timeouts, 0),
    non2xx: rounds.reduce((n, r) => n + r.non2xx, 0),
    seconds,
    serverCpu: weighted(r => r.serverCpu),
    cpuMicrosPerRequest: total === 0 ? 0 : rounds.reduce((n, r) => n + r.cpuMicrosPerRequest * r.total, 0) / total,
    runnerCpu: weighted(r => r.runnerCpu),
    queriesPerRequest: total === 0 ? 0 : rounds.reduce((n, r) => n + r.queriesPerRequest * r.total, 0) / total
  }
}

/** What `measureInterleaved` gives: every window, and each load's ratios to the A windows around it. */
export interface Interleaved {
  /** per load id, its windows in order (the base's included) */
  windows: Map<string, LoadResult[]>
  /** per non-base load id, one throughput ratio per round: its window over the mean of the two base windows around it */
  ratios: Map<string, number[]>
  /** the same for server CPU per request (base over load) */
  cpuRatios: Map<string, number[]>
}

/** Round `round` (from 1) of an interleaved measurement: the loads in order, turned by one per round. */
export function turnedOrder<T> (loads: readonly T[], round: number): T[] {
  const turn = (round - 1) % Math.max(1, loads.length)
  return [...loads.slice(turn), ...loads.slice(0, turn)]
}

/**
 * Measures loads against a base (scenario A) on a machine whose speed drifts from second to
 * second (a shared VM: the bare route alone swings between 33,000 and 72,000 req/s in one-second
 * windows here). Each round runs A X1 A X2 A ... Xn A, every X between two A windows; the order
 * of the Xs turns by one each round. A load's ratio is taken per round against the mean of its two
 * neighbouring A windows, and the figure to report is the median of those per-round ratios.
 */
export async function measureInterleaved (
  server: ServerHandle,
  base: { id: string, load: Load },
  others: Array<{ id: string, load: Load }>,
  timing: Timing & { rounds: number },
  label: (id: string, round: number) => string | undefined = () => undefined
): Promise<Interleaved> {
  const windows = new Map<string, LoadResult[]>([[base.id, []], ...others.map(o => [o.id, []] as [string, LoadResult[]])])
  const ratios = new Map<string, number[]>(others.map(o => [o.id, []]))
  const cpuRatios = new Map<string, number[]>(others.map(o => [o.id, []]))
  const window = { ...timing, warmup: 0 }
  for (let round = 1; round <= timing.rounds; round++) {
    const order = turnedOrder(others, round)
    let before = await measure(server, base.load, window, label(base.id, round))
    windows.get(base.id)!.push(before)
    for (const o of order) {
      const result = await measure(server, o.load, window, label(o.id, round))
      const after = await measure(server, base.load, window, label(base.id, round))
      windows.get(o.id)!.push(result)
      windows.get(base.id)!.push(after)
      const baseRps = (before.rps + after.rps) / 2
      const baseCpu = (before.cpuMicrosPerRequest + after.cpuMicrosPerRequest) / 2
      ratios.get(o.id)!.push(result.rps / baseRps)
      if (result.cpuMicrosPerRequest > 0) cpuRatios.get(o.id)!.push(baseCpu / result.cpuMicrosPerRequest)
      before = after
    }
  }
  return { windows, ratios, cpuRatios }
}

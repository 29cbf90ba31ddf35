/**
 * Scenario J: two instances on one PostgreSQL database. A role assignment is removed through
 * instance 1's admin API; instance 2 is polled with the user's token (one request at a time on
 * a kept-alive connection) until its first 403. Then the role is given back and instance 2 is
 * polled until it allows again. p50/p99 over the trials.
 */
import { setUp, serverEnv } from '../lib/fixture.js'
import { expect, request } from '../lib/http.js'
import { createDatabase } from '../lib/pg.js'
import type { ScenarioResult } from '../lib/report.js'
import { startServer, type StartOptions } from '../lib/server-process.js'

export interface PropagationOptions {
  serverUrl: string
  trials: number
  server: Omit<StartOptions, 'timeoutMs'>
  log: (line: string) => void
}

function percentile (sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]
}

/** Polls `path` on `base` until the status is `status`; the time of that answer (performance.now()). */
async function pollUntil (base: string, path: string, token: string, status: number, timeoutMs = 10_000): Promise<{ at: number, polls: number }> {
  const started = performance.now()
  for (let polls = 1; ; polls++) {
    const res = await request(base, 'GET', path, { token })
    const at = performance.now()
    if (res.status === status) return { at, polls }
    if (at - started > timeoutMs) throw new Error(`${path} still ${res.status} after ${timeoutMs} ms (waiting for ${status})`)
  }
}

export async function runPropagationScenario (opts: PropagationOptions): Promise<ScenarioResult> {
  const { log } = opts
  const db = await createDatabase(opts.serverUrl)
  const env = serverEnv({ databaseUrl: db.url })
  const one = await startServer(env, opts.server)
  const two = await startServer(env, opts.server)
  try {
    const f = await setUp(one, 10)
    const user = f.user
    const assignment = `/v1/users/${user.id}/roles/bench-r1`
    await pollUntil(two.url, '/bench/perm', user.token, 200)

    const refusal: number[] = []
    const afterCommit: number[] = []
    const regrant: number[] = []
    log(`  ${opts.trials} trials`)
    for (let trial = 0; trial < opts.trials; trial++) {
      const t0 = performance.now()
      let t1 = 0
      const removal = expect(204, one.url, 'DELETE', `${assignment}?tenant=default`, { token: f.adminToken }).then(() => { t1 = performance.now() })
      const refused = await pollUntil(two.url, '/bench/perm', user.token, 403)
      await removal
      refusal.push(refused.at - t0)
      afterCommit.push(refused.at - t1)

      const g0 = performance.now()
      await expect(201, one.url, 'PUT', assignment, { token: f.adminToken, json: { tenant: 'default' } })
      const allowed = await pollUntil(two.url, '/bench/perm', user.token, 200)
      regrant.push(allowed.at - g0)
    }
    const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b)
    const r = sorted(refusal)
    const c = sorted(afterCommit)
    const g = sorted(regrant)
    const p99 = percentile(r, 0.99)
    const figures = {
      trials: opts.trials,
      'refusal p50 ms (from the DELETE sent)': Number(percentile(r, 0.5).toFixed(2)),
      'refusal p99 ms': Number(p99.toFixed(2)),
      'refusal max ms': Number(r[r.length - 1].toFixed(2)),
      'refusal p50 ms after the 204': Number(percentile(c, 0.5).toFixed(2)),
      'refusal p99 ms after the 204': Number(percentile(c, 0.99).toFixed(2)),
      're-grant p50 ms (from the PUT sent)': Number(percentile(g, 0.5).toFixed(2)),
      're-grant p99 ms': Number(percentile(g, 0.99).toFixed(2))
    }
    log(`  refusal on instance 2: p50 ${figures['refusal p50 ms (from the DELETE sent)']} ms, p99 ${figures['refusal p99 ms']} ms (after the 204: p50 ${figures['refusal p50 ms after the 204']}, p99 ${figures['refusal p99 ms after the 204']})`)
    return {
      id: 'J',
      title: 'propagation of a role removal to a second instance',
      figures,
      target: 'p99 < 100 ms',
      met: p99 < 100,
      notes: ['"after the 204" is negative when instance 2 refused before instance 1\'s answer reached the client']
    }
  } finally {
    await one.stop()
    await two.stop()
    await db.drop()
  }
}

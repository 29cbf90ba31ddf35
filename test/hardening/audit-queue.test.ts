import t from 'tap'
import { like } from 'drizzle-orm'
import { buildApp } from '../../src/app.js'
import { auditEvents } from '../../src/db/schema/index.js'
import { createTestDatabase, testConfig } from '../helper.js'

/**
 * The audit queue is bounded (50,000 events waiting for the database). A flood of audited
 * denials beyond that drops events; what is dropped is counted on /metrics, and the log says so
 * once per flush interval with the count, not once per event (a line per event would be tens of
 * thousands of lines a second in a flood of denials).
 */
t.test('a full audit queue: drops are counted, and logged once with their number', async t => {
  const db = await createTestDatabase(t)
  const lines: string[] = []
  const app = await buildApp(testConfig(db.url, { LOG_LEVEL: 'warn', METRICS_PUBLIC: 'true' }), { database: db.handle, logStream: { write: line => { lines.push(line) } } })
  t.teardown(() => app.close())
  await app.ready()

  const flood = 50_000 + 1_234
  for (let i = 0; i < flood; i++) app.audit.record(null, { action: 'authz.check', outcome: 'denied', detail: `flood ${i}` })
  const warned = () => lines.map(l => JSON.parse(l)).filter(l => /audit/.test(l.msg))
  // the warning comes with the next flush interval, not with each event
  t.equal(warned().length, 0, 'nothing logged per dropped event')
  // the next tick of the 200 ms interval logs them; wait for it (up to 5 s on a busy machine)
  for (let waited = 0; warned().length === 0 && waited < 5000; waited += 50) await new Promise(resolve => setTimeout(resolve, 50))
  await new Promise(resolve => setTimeout(resolve, 250)) // and one more tick, which must log nothing
  const warnings = warned()
  t.equal(warnings.length, 1, 'one warning')
  t.equal(warnings[0]?.dropped, 1_234, 'with the number dropped')

  const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body
  t.match(metrics, /^warden_audit_events_dropped_total 1234$/m, 'counted on /metrics')

  await app.audit.flush()
  const written = await db.handle.db.$count(auditEvents, like(auditEvents.detail, 'flood %'))
  t.equal(written, 50_000, 'the 50,000 queued are all written')
})

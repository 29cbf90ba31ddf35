import fp from 'fastify-plugin'
import { Counter } from 'prom-client'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { auditEvents } from '../db/schema/index.js'
import { isDatabaseUnavailable } from '../lib/db-errors.js'

export interface AuditEvent {
  action: string
  outcome: 'success' | 'denied' | 'failure'
  targetType?: string | null
  targetId?: string | null
  tenantId?: string | null
  before?: unknown
  after?: unknown
  detail?: string | null
}

type Row = typeof auditEvents.$inferInsert

declare module 'fastify' {
  interface FastifyInstance {
    audit: {
      /** Queues an event; written in batches off the request path. */
      record: (request: FastifyRequest | null, event: AuditEvent) => void
      /** Writes what is queued now (tests, shutdown). */
      flush: () => Promise<void>
    }
  }
}

const BATCH = 500
const INTERVAL_MS = 200
const MAX_QUEUE = 50_000

/** Strips secrets from before/after snapshots, whatever the caller passed. */
function scrub (value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value ?? null
  if (Array.isArray(value)) return value.map(scrub)
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) {
    if (/password|secret|hash|token/i.test(k)) continue
    out[k] = v instanceof Date ? v.toISOString() : scrub(v)
  }
  return out
}

/**
 * The audit log: administrative changes and denied decisions, with actor, target, before and
 * after, request id and source address. Events are queued in memory and inserted in batches
 * every 200 ms (and on close), so recording costs the request path nothing but a push.
 */
export default fp(async function auditPlugin (app: FastifyInstance) {
  let queue: Row[] = []
  let writing: Promise<void> = Promise.resolve()

  async function write () {
    while (queue.length > 0) {
      const batch = queue.slice(0, BATCH)
      queue = queue.slice(BATCH)
      try {
        await app.db.insert(auditEvents).values(batch)
      } catch (err) {
        if (isDatabaseUnavailable(err)) {
          // kept for the next attempt (the timer's): an outage must not erase the record of what happened
          queue = batch.concat(queue).slice(0, MAX_QUEUE)
          app.log.warn({ count: queue.length }, 'audit events wait for the database')
          return
        }
        app.log.error({ err, count: batch.length }, 'audit batch write failed')
      }
    }
  }

  function flush () {
    writing = writing.then(write)
    return writing
  }

  // Events past MAX_QUEUE are dropped: counted, and logged once per interval with their number,
  // never once per event.
  const dropped = new Counter({
    name: 'warden_audit_events_dropped_total',
    help: 'Audit events dropped because the queue waiting for the database was full',
    registers: [app.metrics.registry]
  })
  let droppedUnlogged = 0

  const timer = setInterval(() => {
    if (droppedUnlogged > 0) {
      app.log.warn({ dropped: droppedUnlogged, queued: queue.length }, 'audit queue full: events dropped')
      droppedUnlogged = 0
    }
    if (queue.length > 0) flush()
  }, INTERVAL_MS)
  timer.unref()

  app.decorate('audit', {
    record (request: FastifyRequest | null, event: AuditEvent) {
      if (queue.length >= MAX_QUEUE) {
        dropped.inc()
        droppedUnlogged++
        return
      }
      const principal = request?.principal ?? null
      queue.push({
        actorId: principal?.sub ?? null,
        actorKind: principal?.kind ?? null,
        action: event.action,
        outcome: event.outcome,
        targetType: event.targetType ?? null,
        targetId: event.targetId ?? null,
        tenantId: event.tenantId ?? principal?.tid ?? null,
        before: event.before === undefined ? null : scrub(event.before),
        after: event.after === undefined ? null : scrub(event.after),
        detail: event.detail ?? null,
        requestId: request?.id ?? null,
        ip: request?.ip ?? null
      })
    },
    flush
  })

  app.addHook('onClose', async () => {
    clearInterval(timer)
    await flush()
  })
}, { name: 'audit', dependencies: ['db', 'metrics'] })

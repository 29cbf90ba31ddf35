import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

declare module 'fastify' {
  interface FastifyInstance {
    metrics: {
      registry: Registry
      decisions: Counter<'outcome'>
      /** hot-path tallies, added to `decisions` when it is read (a labelled inc() hashes its labels: ~70 ns) */
      allowed: { inc: () => void }
      denied: { inc: () => void }
    }
  }
}

/**
 * Prometheus metrics: request counts and latency by route, authorization decisions, process
 * defaults; GET /metrics is served by routes/metrics. One registry per app, so test apps do not
 * share counters. Registered before authn and authz, which count into it.
 * @see https://github.com/siimon/prom-client
 */
export default fp(async function metricsPlugin (app: FastifyInstance) {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'warden_' })
  // `_total` is for counters (promtool check metrics refuses gauges named so). prom-client's
  // nodejs_active_{handles,requests,resources}_total gauges are each the sum of the labelled
  // gauge of the same name without it: sum(warden_nodejs_active_handles) gives the same.
  for (const metric of registry.getMetricsAsArray()) {
    if (metric instanceof Gauge && metric.name.endsWith('_total')) registry.removeSingleMetric(metric.name)
  }
  const requests = new Counter({
    name: 'warden_http_requests_total',
    help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry]
  })
  const latency = new Histogram({
    name: 'warden_http_request_duration_seconds',
    help: 'HTTP request latency by route',
    labelNames: ['route'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry]
  })
  let allowed = 0
  let denied = 0
  const decisions = new Counter({
    name: 'warden_authz_decisions_total',
    help: 'Authorization decisions by outcome',
    labelNames: ['outcome'] as const,
    registers: [registry],
    collect () {
      this.inc({ outcome: 'allowed' }, allowed)
      this.inc({ outcome: 'denied' }, denied)
      allowed = 0
      denied = 0
    }
  })
  app.decorate('metrics', {
    registry,
    decisions,
    allowed: { inc: () => { allowed++ } },
    denied: { inc: () => { denied++ } }
  })

  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched'
    requests.inc({ method: request.method, route, status: reply.statusCode })
    latency.observe({ route }, reply.elapsedTime / 1000)
    done()
  })
}, { name: 'metrics', dependencies: ['config'] })

import type { FastifyInstance } from 'fastify'

/** GET /metrics: the Prometheus text format. Needs `metrics:read` unless METRICS_PUBLIC=true. */
export default async function metricsRoutes (app: FastifyInstance) {
  const { registry } = app.metrics
  app.get('/metrics', {
    config: app.config.metricsPublic ? { public: true } : { permissions: ['metrics:read'] },
    schema: {
      tags: ['operations'],
      operationId: 'metrics',
      summary: 'Prometheus metrics',
      description: 'The Prometheus text format (0.0.4): request counts and latency by route, authorization decisions by outcome, process metrics. Needs metrics:read (a scraper\'s client token) unless METRICS_PUBLIC=true.',
      produces: ['text/plain'],
      response: { 200: { description: 'The metrics', content: { 'text/plain': { schema: { type: 'string' } } } } }
    }
  }, async (_request, reply) => {
    reply.type(registry.contentType)
    return registry.metrics()
  })
}

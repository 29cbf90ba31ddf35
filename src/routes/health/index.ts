import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ServiceUnavailable } from '../../errors.js'
import { errorResponses, StatusSchema } from '../../schemas/common.js'
import { ref } from '../../schemas/registry.js'

const health: FastifyPluginAsyncTypebox = async app => {
  // probes are never rate limited
  app.get('/healthz', {
    config: { public: true, rateLimit: false },
    schema: { tags: ['operations'], operationId: 'healthz', summary: 'The process is alive', description: 'Answers from memory: never touches the database.', response: { 200: ref(StatusSchema), 400: errorResponses[400] } }
  }, async () => ({ status: 'ok' }))

  app.get('/readyz', {
    config: { public: true, rateLimit: false },
    schema: {
      tags: ['operations'],
      operationId: 'readyz',
      summary: 'The database is reachable and changes are being heard',
      description: '503 while the database does not answer within DB_TIMEOUT_MS, or while the connection that hears other instances\' changes is down.',
      response: { 200: ref(StatusSchema), 400: errorResponses[400], 503: errorResponses[503] }
    }
  }, async () => {
    try {
      await app.database.ping()
    } catch {
      throw new ServiceUnavailable('database unreachable')
    }
    if (!app.database.listening()) throw new ServiceUnavailable('not hearing changes from the database yet')
    return { status: 'ready' }
  })
}

export default health

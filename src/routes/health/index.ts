import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { ServiceUnavailable } from '../../errors.js'
import { ProblemSchema } from '../../schemas/common.js'

const Status = Type.Object({ status: Type.String() })

const health: FastifyPluginAsyncTypebox = async app => {
  app.get('/healthz', {
    config: { public: true },
    schema: { tags: ['operations'], operationId: 'healthz', summary: 'The process is alive', response: { 200: Status } }
  }, async () => ({ status: 'ok' }))

  app.get('/readyz', {
    config: { public: true },
    schema: { tags: ['operations'], operationId: 'readyz', summary: 'The database is reachable', response: { 200: Status, 503: ProblemSchema } }
  }, async () => {
    try {
      await app.database.ping()
    } catch {
      throw new ServiceUnavailable('database unreachable')
    }
    return { status: 'ready' }
  })
}

export default health

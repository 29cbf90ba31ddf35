import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { protectedErrors } from '../../schemas/common.js'
import { keyStatus, listKeys } from '../../tokens/key-store.js'

const TAGS = ['keys']
const Timestamp = Type.String({ format: 'date-time' })

const KeySchema = Type.Object({
  kid: Type.String({ description: 'RFC 7638 thumbprint of the public key' }),
  alg: Type.String(),
  status: Type.Union([Type.Literal('active'), Type.Literal('published'), Type.Literal('retired')], {
    description: '`active` signs new tokens; `published` no longer signs but stays in the JWKS until the last token it signed has expired (`retiresAt`); `retired` is gone from the JWKS'
  }),
  createdAt: Timestamp,
  retiresAt: Type.Union([Timestamp, Type.Null()])
})

const RotatedKeySchema = Type.Object({ kid: Type.String(), alg: Type.String(), createdAt: Timestamp })

/** Signing keys: the list (never private parts) and rotation. */
const keysRoutes: FastifyPluginAsyncTypebox = async app => {
  app.get('/', {
    config: { permissions: ['keys:read'], global: true },
    schema: {
      tags: TAGS,
      operationId: 'listKeys',
      summary: 'List signing keys',
      description: 'Newest first.',
      response: { 200: Type.Object({ items: Type.Array(KeySchema) }), ...protectedErrors }
    }
  }, async () => {
    const now = Date.now()
    const rows = await listKeys(app.db)
    return {
      items: rows.map(row => ({
        kid: row.kid,
        alg: row.alg,
        status: keyStatus(row, now),
        createdAt: row.createdAt.toISOString(),
        retiresAt: row.retiresAt?.toISOString() ?? null
      }))
    }
  })

  app.post('/rotate', {
    config: { permissions: ['keys:rotate'], global: true },
    schema: {
      tags: TAGS,
      operationId: 'rotateKeys',
      summary: 'Rotate the signing key',
      description: 'A new key (of the configured SIGNING_ALG) signs from now on, on every instance. The previous key stays in the JWKS until the last token it signed has expired, so no token stops verifying.',
      response: { 201: RotatedKeySchema, ...protectedErrors }
    }
  }, async (request, reply) => {
    const key = await app.tokens.rotate()
    app.audit.record(request, { action: 'key.rotate', outcome: 'success', targetType: 'signing_key', targetId: key.kid, tenantId: null, after: { kid: key.kid, alg: key.alg } })
    return reply.code(201).send({ kid: key.kid, alg: key.alg, createdAt: key.createdAt.toISOString() })
  })
}

export default keysRoutes

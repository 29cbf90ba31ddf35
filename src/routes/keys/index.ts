import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { protectedErrors } from '../../schemas/common.js'
import { KeyListSchema, RotatedKeySchema } from '../../schemas/keys.js'
import { ref } from '../../schemas/registry.js'
import { activatesAt, keyStatus, signerAt } from '../../tokens/key-store.js'

const TAGS = ['keys']

/** Signing keys: the list (never private parts) and rotation. */
const keysRoutes: FastifyPluginAsyncTypebox = async app => {
  app.get('/', {
    config: { permissions: ['keys:read'], global: true },
    schema: {
      tags: TAGS,
      operationId: 'listKeys',
      summary: 'List signing keys',
      description: 'Newest first.',
      response: { 200: ref(KeyListSchema), ...protectedErrors }
    }
  }, async () => {
    const now = Date.now()
    const rows = await app.keysRepository.list()
    const signer = signerAt(rows, now)
    return {
      items: rows.map(row => ({
        kid: row.kid,
        alg: row.alg,
        status: keyStatus(row, signer, now),
        createdAt: row.createdAt.toISOString(),
        activatesAt: activatesAt(row).toISOString(),
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
      description: 'Announces a new key (of the configured SIGNING_ALG): it is in the JWKS at once and signs from `activatesAt` (KEY_ACTIVATION_DELAY seconds later) on, on every instance, so verifiers that cached the JWKS know it before they meet it. The previous key signs until then and stays in the JWKS until the last token it signed has expired. `immediate=true` (a compromised key) signs with the new key at once.',
      querystring: Type.Object({
        immediate: Type.Optional(Type.Boolean({ description: 'sign with the new key at once instead of after KEY_ACTIVATION_DELAY' }))
      }),
      response: { 201: ref(RotatedKeySchema), ...protectedErrors }
    }
  }, async (request, reply) => {
    const immediate = request.query.immediate === true
    const key = await app.tokens.rotate({ immediate })
    const activates = key.activatesAt.toISOString()
    app.audit.record(request, { action: 'key.rotate', outcome: 'success', targetType: 'signing_key', targetId: key.kid, tenantId: null, after: { kid: key.kid, alg: key.alg, activatesAt: activates, immediate } })
    return reply.code(201).send({ kid: key.kid, alg: key.alg, createdAt: key.createdAt.toISOString(), activatesAt: activates })
  })
}

export default keysRoutes

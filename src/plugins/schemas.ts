import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { namedSchemas } from '../schemas/registry.js'
import '../schemas/index.js'

/**
 * Gives Fastify the named schemas (src/schemas/registry.ts) before any route refers to them:
 * validation and serialization resolve `$ref`s against them, and the OpenAPI document lists
 * them under components.schemas.
 */
export default fp(async function schemasPlugin (app: FastifyInstance) {
  for (const schema of namedSchemas()) app.addSchema(schema)
}, { name: 'schemas' })

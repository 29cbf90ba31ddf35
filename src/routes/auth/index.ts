import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import tokenRoutes from './token.js'
import accountRoutes from './account.js'
import introspectRoutes from './introspect.js'

/** /v1/auth: the OAuth endpoints and self-service account routes. */
const auth: FastifyPluginAsyncTypebox = async app => {
  await app.register(tokenRoutes)
  await app.register(introspectRoutes)
  await app.register(accountRoutes)
}
export default auth

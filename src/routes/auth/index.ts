import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import tokenRoutes from './token.js'
import accountRoutes from './account.js'
import introspectRoutes from './introspect.js'
import authorizeRoutes from './authorize.js'
import mfaRoutes from './mfa.js'

/** /v1/auth: the OAuth and OpenID Connect endpoints and self-service account routes. */
const auth: FastifyPluginAsyncTypebox = async app => {
  await app.register(tokenRoutes)
  await app.register(introspectRoutes)
  await app.register(accountRoutes)
  await app.register(authorizeRoutes)
  await app.register(mfaRoutes)
}
export default auth

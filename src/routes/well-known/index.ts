import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { permissions } from '../../db/schema/index.js'

const Jwks = Type.Object({ keys: Type.Array(Type.Record(Type.String(), Type.Unknown())) })

/** Discovery: the JWKS of every key that may still have live tokens, and the server metadata. */
const wellKnown: FastifyPluginAsyncTypebox = async app => {
  app.get('/.well-known/jwks.json', {
    config: { public: true },
    schema: { tags: ['discovery'], operationId: 'jwks', summary: 'Public signing keys (JWKS)', response: { 200: Jwks } }
  }, async (_request, reply) => {
    reply.header('cache-control', 'public, max-age=60')
    return app.tokens.jwks()
  })

  app.get('/.well-known/openid-configuration', {
    config: { public: true },
    schema: {
      tags: ['discovery'],
      operationId: 'openidConfiguration',
      summary: 'Authorization server metadata',
      response: { 200: Type.Record(Type.String(), Type.Unknown()) }
    }
  }, async () => {
    const { issuer, signingAlg } = app.config
    return {
      issuer,
      jwks_uri: `${issuer}/.well-known/jwks.json`,
      token_endpoint: `${issuer}/v1/auth/token`,
      revocation_endpoint: `${issuer}/v1/auth/revoke`,
      introspection_endpoint: `${issuer}/v1/auth/introspect`,
      userinfo_endpoint: `${issuer}/v1/auth/me`,
      grant_types_supported: ['password', 'refresh_token', 'client_credentials'],
      response_types_supported: ['token'],
      scopes_supported: (await app.db.select({ name: permissions.name }).from(permissions).orderBy(permissions.name)).map(p => p.name),
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      revocation_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post'],
      introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'bearer'],
      id_token_signing_alg_values_supported: [signingAlg],
      access_token_signing_alg_values_supported: [signingAlg],
      subject_types_supported: ['public'],
      claims_supported: ['iss', 'aud', 'sub', 'tid', 'scope', 'sid', 'jti', 'iat', 'nbf', 'exp', 'client_id']
    }
  })
}

export default wellKnown

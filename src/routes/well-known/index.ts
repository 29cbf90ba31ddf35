import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Static } from '@sinclair/typebox'
import type { RoleGraph } from '../../authz/index.js'
import { JwksSchema, ServerMetadataSchema } from '../../schemas/discovery.js'
import { ref } from '../../schemas/registry.js'

const CLIENT_AUTH = ['client_secret_basic', 'client_secret_post']

/**
 * What Warden supports, as server metadata members; both discovery documents are built from it.
 * Everything here exists: nothing is advertised before its endpoint does.
 *
 * OpenID Connect Discovery 1.0 §3 and RFC 8414 §2 mark authorization_endpoint,
 * response_types_supported and (OIDC) id_token_signing_alg_values_supported REQUIRED. Warden has
 * no authorization endpoint and issues no ID token yet, so they are left out rather than given
 * untrue values: openid-client v6 (oauth4webapi) requires only `issuer` (equal to the URL it
 * discovered) and the endpoint of each operation it performs, and RFC 8414 itself lets
 * authorization_endpoint go when no grant uses it. The code flow adds authorization_endpoint,
 * userinfo_endpoint, end_session_endpoint, response_types_supported,
 * code_challenge_methods_supported, id_token_signing_alg_values_supported and
 * authorization_response_iss_parameter_supported here, and `none` to the auth methods.
 */
const SUPPORTED = {
  endpoints: {
    jwks_uri: '/.well-known/jwks.json',
    token_endpoint: '/v1/auth/token',
    revocation_endpoint: '/v1/auth/revoke',
    introspection_endpoint: '/v1/auth/introspect'
  },
  members: {
    grant_types_supported: ['password', 'refresh_token', 'client_credentials'],
    token_endpoint_auth_methods_supported: CLIENT_AUTH,
    // client authentication is optional at revocation (RFC 7009 §2.1)
    revocation_endpoint_auth_methods_supported: ['none', ...CLIENT_AUTH],
    // a bearer token with tokens:introspect also works, but "bearer" is no registered method name
    introspection_endpoint_auth_methods_supported: CLIENT_AUTH,
    subject_types_supported: ['public'],
    // the access token's claims (RFC 9068); there is no ID token or userinfo yet
    claims_supported: ['iss', 'aud', 'sub', 'tid', 'scope', 'sid', 'jti', 'iat', 'nbf', 'exp', 'client_id']
  }
} as const

/** The authorization server metadata (RFC 8414, and OpenID Connect Discovery 1.0). */
export function serverMetadata (issuer: string, scopes: readonly string[]): Static<typeof ServerMetadataSchema> {
  const endpoints = Object.fromEntries(Object.entries(SUPPORTED.endpoints).map(([member, path]) => [member, issuer + path]))
  return { issuer, ...endpoints, scopes_supported: [...scopes], ...SUPPORTED.members } as unknown as Static<typeof ServerMetadataSchema>
}

/** Discovery: the JWKS of every key that may still have live tokens, and the server metadata. */
const wellKnown: FastifyPluginAsyncTypebox = async app => {
  app.get('/.well-known/jwks.json', {
    config: { public: true },
    schema: {
      tags: ['discovery'],
      operationId: 'jwks',
      summary: 'Public signing keys (JWKS)',
      description: 'Every key that may still have live tokens, and the next key once a rotation has announced it. Verify tokens offline with any JOSE library: pin the algorithm, check iss, aud and exp. Cacheable for at most half of KEY_ACTIVATION_DELAY.',
      response: { 200: ref(JwksSchema) }
    }
  }, async (_request, reply) => {
    reply.header('cache-control', app.tokens.jwksCacheControl)
    return app.tokens.jwks() as Static<typeof JwksSchema>
  })

  // Built once per role graph: every write to the permission catalog publishes 'graph', which
  // gives getGraph() a new object, so a warm document costs no SQL.
  const documents = new WeakMap<RoleGraph, Promise<Static<typeof ServerMetadataSchema>>>()
  async function metadata (): Promise<Static<typeof ServerMetadataSchema>> {
    const graph = await app.access.getGraph()
    let doc = documents.get(graph)
    if (doc === undefined) {
      doc = app.permissionsRepository.names()
        .then(names => serverMetadata(app.config.issuer, names))
      doc.catch(() => documents.delete(graph))
      documents.set(graph, doc)
    }
    return doc
  }

  app.get('/.well-known/openid-configuration', {
    config: { public: true },
    schema: {
      tags: ['discovery'],
      operationId: 'openidConfiguration',
      summary: 'OpenID Connect Discovery 1.0 metadata (the same as the RFC 8414 document)',
      description: 'Advertises only what exists: the endpoints, grant types, client authentication methods and scopes of this build.',
      response: { 200: ref(ServerMetadataSchema) }
    }
  }, metadata)

  app.get('/.well-known/oauth-authorization-server', {
    config: { public: true },
    schema: {
      tags: ['discovery'],
      operationId: 'oauthAuthorizationServerMetadata',
      summary: 'Authorization server metadata (RFC 8414)',
      description: 'The same document as /.well-known/openid-configuration.',
      response: { 200: ref(ServerMetadataSchema) }
    }
  }, metadata)
}

export default wellKnown

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Static } from '@sinclair/typebox'
import type { RoleGraph } from '../../authz/index.js'
import { JwksSchema, ServerMetadataSchema } from '../../schemas/discovery.js'
import { ref } from '../../schemas/registry.js'
import { IDENTITY_SCOPES } from '../../oauth/authorization-request.js'

const CLIENT_AUTH = ['client_secret_basic', 'client_secret_post']

/**
 * What Warden supports, as server metadata members; both discovery documents are built from it.
 * Everything here exists: nothing is advertised before its endpoint does. openid-client v6
 * (oauth4webapi) requires `issuer` (equal to the URL it discovered) and the endpoint of each
 * operation it performs; `authorization_response_iss_parameter_supported` makes it check the
 * `iss` of every authorization response (RFC 9207).
 */
const SUPPORTED = {
  endpoints: {
    authorization_endpoint: '/v1/auth/authorize',
    token_endpoint: '/v1/auth/token',
    userinfo_endpoint: '/v1/auth/userinfo',
    end_session_endpoint: '/v1/auth/end-session',
    jwks_uri: '/.well-known/jwks.json',
    revocation_endpoint: '/v1/auth/revoke',
    introspection_endpoint: '/v1/auth/introspect'
  },
  members: {
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials', 'password'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: ['none', ...CLIENT_AUTH],
    // client authentication is optional at revocation (RFC 7009 §2.1)
    revocation_endpoint_auth_methods_supported: ['none', ...CLIENT_AUTH],
    // a bearer token with tokens:introspect also works, but "bearer" is no registered method name
    introspection_endpoint_auth_methods_supported: CLIENT_AUTH,
    subject_types_supported: ['public'],
    prompt_values_supported: ['none', 'login', 'consent'],
    authorization_response_iss_parameter_supported: true,
    // the ID token's and the access token's (RFC 9068) claims
    claims_supported: ['iss', 'aud', 'sub', 'exp', 'iat', 'auth_time', 'nonce', 'amr', 'sid', 'at_hash', 'azp', 'name', 'preferred_username', 'updated_at', 'email', 'email_verified', 'tid', 'scope', 'jti', 'nbf', 'client_id']
  }
} as const

/** The authorization server metadata (RFC 8414, and OpenID Connect Discovery 1.0). */
export function serverMetadata (issuer: string, scopes: readonly string[], algs: readonly string[]): Static<typeof ServerMetadataSchema> {
  const endpoints = Object.fromEntries(Object.entries(SUPPORTED.endpoints).map(([member, path]) => [member, issuer + path]))
  return {
    issuer,
    ...endpoints,
    scopes_supported: [...IDENTITY_SCOPES, ...scopes].sort(),
    ...SUPPORTED.members,
    id_token_signing_alg_values_supported: [...algs]
  } as unknown as Static<typeof ServerMetadataSchema>
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
  // (and per set of signing algorithms: a rotation may change the ID tokens' alg)
  const documents = new WeakMap<RoleGraph, { algs: string, doc: Promise<Static<typeof ServerMetadataSchema>> }>()
  async function metadata (): Promise<Static<typeof ServerMetadataSchema>> {
    const graph = await app.access.getGraph()
    const algs = [...new Set(app.tokens.keys().map(k => k.alg))].sort()
    const known = documents.get(graph)
    if (known !== undefined && known.algs === algs.join(' ')) return known.doc
    const doc = app.permissionsRepository.names()
      .then(names => serverMetadata(app.config.issuer, names, algs))
    doc.catch(() => documents.delete(graph))
    documents.set(graph, { algs: algs.join(' '), doc })
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

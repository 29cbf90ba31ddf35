import { Type } from '@sinclair/typebox'
import { named } from './registry.js'

const Jwk = Type.Object({
  kty: Type.String({ examples: ['EC'] }),
  kid: Type.String(),
  alg: Type.String({ examples: ['ES256'] }),
  use: Type.String({ examples: ['sig'] })
}, { additionalProperties: true, description: 'A public key (RFC 7517): `crv`, `x`, `y` for EC and OKP keys, `n`, `e` for RSA' })

export const JwksSchema = named('Jwks', Type.Object({
  keys: Type.Array(Jwk)
}, { description: 'A JSON Web Key Set (RFC 7517)' }))

const Url = Type.String({ format: 'uri' })
const Names = Type.Array(Type.String())

export const ServerMetadataSchema = named('ServerMetadata', Type.Object({
  issuer: Url,
  authorization_endpoint: Url,
  token_endpoint: Url,
  userinfo_endpoint: Url,
  end_session_endpoint: Url,
  jwks_uri: Url,
  revocation_endpoint: Type.Optional(Url),
  introspection_endpoint: Type.Optional(Url),
  response_types_supported: Names,
  response_modes_supported: Type.Optional(Names),
  grant_types_supported: Names,
  code_challenge_methods_supported: Names,
  id_token_signing_alg_values_supported: Names,
  prompt_values_supported: Type.Optional(Names),
  authorization_response_iss_parameter_supported: Type.Boolean(),
  token_endpoint_auth_methods_supported: Names,
  revocation_endpoint_auth_methods_supported: Type.Optional(Names),
  introspection_endpoint_auth_methods_supported: Type.Optional(Names),
  scopes_supported: Names,
  subject_types_supported: Type.Optional(Names),
  claims_supported: Type.Optional(Names)
}, { additionalProperties: true, description: 'Authorization server metadata (RFC 8414; OpenID Connect Discovery 1.0)' }))

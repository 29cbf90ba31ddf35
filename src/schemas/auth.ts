import { Type, type Static, type TObject, type TProperties } from '@sinclair/typebox'
import { named, ref } from './registry.js'
import { pageOf, Timestamp, UuidSchema } from './common.js'

export const EmailSchema = Type.String({ format: 'email', maxLength: 254, examples: ['ada@example.com'] })
export const UsernameSchema = Type.String({ pattern: '^[A-Za-z0-9._-]{3,64}$', description: '3-64 letters, digits, dot, underscore, hyphen', examples: ['ada'] })
export const PasswordSchema = Type.String({ minLength: 1, maxLength: 512, description: '8-128 characters (code points); common passwords are refused', examples: ['analytical-engine-1843'] })
export const FullNameSchema = Type.String({ maxLength: 200, examples: ['Ada Lovelace'] })

export const UserSchema = named('User', Type.Object({
  id: Type.String({ format: 'uuid' }),
  email: Type.String({ examples: ['ada@example.com'] }),
  username: Type.String({ examples: ['ada'] }),
  fullName: Type.Union([Type.String(), Type.Null()]),
  isActive: Type.Boolean({ description: 'false: disabled; none of the user\'s tokens work' }),
  createdAt: Timestamp,
  updatedAt: Timestamp
}, { description: 'A user (never the password hash)' }))
export type User = Static<typeof UserSchema>
export const UserPageSchema = pageOf(UserSchema)

export const RegisterBodySchema = named('RegisterRequest', Type.Object({
  email: EmailSchema,
  username: UsernameSchema,
  password: PasswordSchema,
  fullName: Type.Optional(FullNameSchema)
}, { additionalProperties: false, description: 'Self-registration' }))

const Param = (maxLength: number, description: string) => Type.Optional(Type.String({ maxLength, description }))
const ClientFields = {
  client_id: Param(128, 'client authentication by the body (client_secret_post); or HTTP Basic'),
  client_secret: Param(512, 'with client_id (client_secret_post)')
}
const Scope = Param(4096, 'space-separated scopes (permission names) to narrow the token to')

/** RFC 6749 token requests, one schema per grant: the document's form body is their `oneOf`. */
export const PasswordGrantSchema = named('PasswordGrant', Type.Object({
  grant_type: Type.Literal('password'),
  username: Type.String({ maxLength: 254, description: 'username or e-mail' }),
  password: Type.String({ maxLength: 512 }),
  scope: Scope,
  tenant: Param(64, 'tenant id or slug; absent: the user\'s first tenant'),
  otp: Param(64, 'with two-factor on: the TOTP code or a recovery code (without it: mfa_required)'),
  refresh_in_cookie: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false'), Type.Boolean()], { description: 'set the refresh token as an HttpOnly cookie instead of returning it' })),
  ...ClientFields
}, { additionalProperties: false, description: 'Password grant (first-party clients and Swagger UI only)' }))

export const RefreshTokenGrantSchema = named('RefreshTokenGrant', Type.Object({
  grant_type: Type.Literal('refresh_token'),
  refresh_token: Param(512, 'absent: the refresh cookie (with X-Requested-With: warden)'),
  scope: Scope,
  ...ClientFields
}, { additionalProperties: false, description: 'Refresh grant: rotates the refresh token' }))

export const ClientCredentialsGrantSchema = named('ClientCredentialsGrant', Type.Object({
  grant_type: Type.Literal('client_credentials'),
  scope: Scope,
  ...ClientFields
}, { additionalProperties: false, description: 'Client credentials grant (service accounts): authenticate by HTTP Basic or client_id/client_secret' }))

export const AuthorizationCodeGrantSchema = named('AuthorizationCodeGrant', Type.Object({
  grant_type: Type.Literal('authorization_code'),
  code: Type.String({ maxLength: 256, description: 'the code the authorization endpoint sent to redirect_uri' }),
  redirect_uri: Type.String({ maxLength: 2000, description: 'exactly the redirect_uri of the authorization request' }),
  code_verifier: Type.String({ maxLength: 128, description: 'the PKCE verifier (43-128 characters) whose S256 hash was the code_challenge' }),
  ...ClientFields
}, { additionalProperties: false, description: 'Authorization code grant with PKCE: a confidential client authenticates (HTTP Basic or client_secret_post), a public one sends its client_id' }))

const GRANTS = [PasswordGrantSchema, RefreshTokenGrantSchema, ClientCredentialsGrantSchema, AuthorizationCodeGrantSchema]

/** The union of the grants' fields, each optional but grant_type: what the token endpoint validates, so that an unknown grant_type is answered unsupported_grant_type rather than invalid_request. */
function anyGrant (grants: Array<TObject<TProperties>>) {
  const properties: TProperties = {}
  for (const grant of grants) {
    for (const [name, schema] of Object.entries(grant.properties)) {
      if (name !== 'grant_type' && properties[name] === undefined) properties[name] = Type.Optional(schema)
    }
  }
  return Type.Object({ grant_type: Type.String({ maxLength: 64 }), ...properties }, { additionalProperties: false })
}
export const TokenBodySchema = anyGrant(GRANTS)
export type TokenBody = Static<typeof TokenBodySchema> & {
  username?: string
  password?: string
  otp?: string
  scope?: string
  tenant?: string
  refresh_token?: string
  refresh_in_cookie?: 'true' | 'false' | boolean
  client_id?: string
  client_secret?: string
  code?: string
  redirect_uri?: string
  code_verifier?: string
}
/** The token endpoint's body as documented: one schema per grant, told apart by grant_type. */
export const TokenRequestDocSchema = Type.Unsafe<TokenBody>({
  oneOf: GRANTS.map(g => ref(g)),
  discriminator: { propertyName: 'grant_type', mapping: Object.fromEntries(GRANTS.map(g => [g.properties.grant_type.const, `#/components/schemas/${g.$id!}`])) }
})

export const TokenResponseSchema = named('TokenResponse', Type.Object({
  access_token: Type.String({ description: 'a JWT (typ at+jwt), valid for expires_in seconds' }),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer({ examples: [900] }),
  refresh_token: Type.Optional(Type.String({ description: 'absent for client credentials and when refresh_in_cookie was asked' })),
  scope: Type.String({ description: 'the granted scopes, space-separated' }),
  id_token: Type.Optional(Type.String({ description: 'OpenID Connect ID token (authorization code grant with the openid scope)' }))
}, { description: 'OAuth 2.0 token response (RFC 6749 section 5.1)' }))

export const RevokeBodySchema = named('RevokeRequest', Type.Object({
  token: Type.String({ maxLength: 8192 }),
  token_type_hint: Type.Optional(Type.String({ maxLength: 64, description: 'access_token or refresh_token; optional, and a wrong one does not matter' })),
  ...ClientFields
}, { additionalProperties: false, description: 'Token revocation (RFC 7009)' }))

export const MeSchema = named('Me', Type.Composite([UserSchema, Type.Object({
  tenant: Type.Object({ id: Type.String(), slug: Type.String(), name: Type.String() }, { description: 'the token\'s tenant' }),
  roles: Type.Array(Type.String(), { description: 'roles held in the token\'s tenant or globally' }),
  permissions: Type.Array(Type.String(), { description: 'effective permissions in the token\'s tenant' }),
  scopes: Type.Array(Type.String(), { description: 'the token\'s scopes' })
})], { description: 'The caller' }))

export const PatchMeBodySchema = named('UpdateMeRequest', Type.Object({
  fullName: Type.Optional(Type.Union([FullNameSchema, Type.Null()])),
  email: Type.Optional(EmailSchema)
}, { additionalProperties: false }))

export const PasswordChangeBodySchema = named('ChangePasswordRequest', Type.Object({
  currentPassword: PasswordSchema,
  newPassword: PasswordSchema
}, { additionalProperties: false }))

export const SessionSchema = named('Session', Type.Object({
  id: Type.String({ format: 'uuid', description: 'the `sid` of its access tokens' }),
  tenantId: Type.String({ format: 'uuid' }),
  scopes: Type.Union([Type.Array(Type.String()), Type.Null()], { description: 'null: all of the user\'s permissions' }),
  userAgent: Type.Union([Type.String(), Type.Null()]),
  ip: Type.Union([Type.String(), Type.Null()]),
  createdAt: Timestamp,
  lastUsedAt: Timestamp,
  expiresAt: Timestamp,
  current: Type.Boolean({ description: 'the session of the token making the request' })
}, { description: 'A login session (a refresh-token family)' }))
export const SessionPageSchema = pageOf(SessionSchema)

export const IntrospectBodySchema = named('IntrospectRequest', Type.Object({
  token: Type.String({ maxLength: 8192 }),
  token_type_hint: Type.Optional(Type.String({ maxLength: 64 })),
  client_id: Type.Optional(Type.String({ maxLength: 128 })),
  client_secret: Type.Optional(Type.String({ maxLength: 512 }))
}, { additionalProperties: false, description: 'Token introspection (RFC 7662)' }))

export const IntrospectionSchema = named('Introspection', Type.Object({
  active: Type.Boolean(),
  token_type: Type.Optional(Type.Union([Type.Literal('access_token'), Type.Literal('refresh_token')])),
  sub: Type.Optional(Type.String()),
  scope: Type.Optional(Type.String({ description: 'the token\'s scopes that its subject still holds' })),
  client_id: Type.Optional(Type.String()),
  tid: Type.Optional(Type.String()),
  sid: Type.Optional(Type.String()),
  jti: Type.Optional(Type.String()),
  exp: Type.Optional(Type.Integer()),
  iat: Type.Optional(Type.Integer()),
  nbf: Type.Optional(Type.Integer()),
  iss: Type.Optional(Type.String()),
  aud: Type.Optional(Type.String())
}, { description: 'RFC 7662 introspection response; only `active: false` for a token that is not active' }))

export { UuidSchema }

import { Type } from '@sinclair/typebox'
import { PageQuerySchema, pageOf, Timestamp, UuidSchema } from '../../schemas/common.js'
import { PermissionNameSchema, TenantRefSchema } from '../../schemas/admin.js'
import { named } from '../../schemas/registry.js'
import { REDIRECT_URI_MAX } from '../../oauth/redirect-uris.js'
import { CLIENT_TYPES, GRANT_TYPES } from '../../repositories/clients.js'

export const MAX_REDIRECT_URIS = 20

const ClientTypeSchema = Type.Union(CLIENT_TYPES.map(t => Type.Literal(t)), {
  description: '`confidential`: authenticates with its secret; `public` (a browser or native app): no secret, only its `client_id` and PKCE'
})
const GrantTypeSchema = Type.Union(GRANT_TYPES.map(g => Type.Literal(g)))
const RedirectUriSchema = Type.String({
  minLength: 1,
  maxLength: REDIRECT_URI_MAX,
  description: 'absolute, without fragment or user information; `https`, or `http` on the loopback interface only (127.0.0.1, localhost, [::1])',
  examples: ['https://app.example.com/callback']
})
const redirectUris = (description: string) => Type.Array(RedirectUriSchema, { maxItems: MAX_REDIRECT_URIS, uniqueItems: true, description })
const REDIRECT = 'where the authorization code flow may send the browser back; compared exactly (a loopback URI\'s port may vary)'
const POST_LOGOUT = 'where RP-initiated logout may send the browser back; the same rules as `redirectUris`'
const GRANTS = 'of `authorization_code`, `refresh_token` (only with `authorization_code`) and `client_credentials` (confidential clients only)'

export const ClientSchema = named('Client', Type.Object({
  id: Type.String({ format: 'uuid', description: 'the OAuth client_id' }),
  name: Type.String(),
  type: ClientTypeSchema,
  scopes: Type.Array(Type.String(), { description: 'the permissions the client may hold; its tokens carry these (or a requested subset)' }),
  redirectUris: redirectUris(REDIRECT),
  postLogoutRedirectUris: redirectUris(POST_LOGOUT),
  grantTypes: Type.Array(GrantTypeSchema, { uniqueItems: true, description: GRANTS }),
  firstParty: Type.Boolean({ description: 'a first-party client skips the consent page' }),
  tenantId: Type.String({ format: 'uuid', description: 'the tenant of the client\'s tokens (`tid`)' }),
  createdBy: Type.Union([UuidSchema, Type.Null()], { description: 'the user or client that created it' }),
  createdAt: Timestamp,
  secretRotatedAt: Type.Union([Timestamp, Type.Null()])
}, { description: 'An OAuth client: a service account or an application that signs people in; never its secret' }))
export const ClientPageSchema = pageOf(ClientSchema)

export const CreatedClientSchema = named('CreatedClient', Type.Composite([ClientSchema, Type.Object({
  clientSecret: Type.Union([Type.String(), Type.Null()], { description: 'shown only in this answer; store it now. null for a public client, which has no secret' })
})], { description: 'A new client with its secret, shown this once' }))

export const ClientSecretSchema = named('ClientSecret', Type.Object({
  clientSecret: Type.String({ description: 'shown only in this answer; the previous secret stops working at once' })
}))

const NameSchema = Type.String({ minLength: 1, maxLength: 200 })
const ScopesSchema = Type.Array(PermissionNameSchema, { maxItems: 100, uniqueItems: true })
const GrantTypesSchema = (description: string) => Type.Array(GrantTypeSchema, { minItems: 1, uniqueItems: true, description })

export const CreateClientBodySchema = named('CreateClientRequest', Type.Object({
  name: NameSchema,
  scopes: ScopesSchema,
  tenant: Type.Optional(TenantRefSchema),
  type: Type.Optional(Type.Union(CLIENT_TYPES.map(t => Type.Literal(t)), { default: 'confidential', description: 'default `confidential`; a public client gets no secret' })),
  redirectUris: Type.Optional(redirectUris(REDIRECT + '; at least one with `authorization_code`')),
  postLogoutRedirectUris: Type.Optional(redirectUris(POST_LOGOUT)),
  grantTypes: Type.Optional(GrantTypesSchema(GRANTS + '; default `["client_credentials"]` for a confidential client, `["authorization_code"]` for a public one')),
  firstParty: Type.Optional(Type.Boolean({ default: false, description: 'skips the consent page' }))
}, { additionalProperties: false }))

export const UpdateClientBodySchema = named('UpdateClientRequest', Type.Object({
  name: Type.Optional(NameSchema),
  scopes: Type.Optional(ScopesSchema),
  redirectUris: Type.Optional(redirectUris(REDIRECT)),
  postLogoutRedirectUris: Type.Optional(redirectUris(POST_LOGOUT)),
  grantTypes: Type.Optional(GrantTypesSchema(GRANTS)),
  firstParty: Type.Optional(Type.Boolean({ description: 'skips the consent page' }))
}, { additionalProperties: false, minProperties: 1, description: 'The fields to change (not `type`); the result must satisfy the same rules as a new client' }))

export const ClientListQuerySchema = Type.Composite([
  PageQuerySchema,
  Type.Object({ tenant: Type.Optional(TenantRefSchema) })
])

import { Type } from '@sinclair/typebox'
import { PageQuerySchema, pageOf, Timestamp, UuidSchema } from '../../schemas/common.js'
import { PermissionNameSchema, TenantRefSchema } from '../../schemas/admin.js'
import { named } from '../../schemas/registry.js'

export const ClientSchema = named('Client', Type.Object({
  id: Type.String({ format: 'uuid', description: 'the OAuth client_id' }),
  name: Type.String(),
  scopes: Type.Array(Type.String(), { description: 'the permissions the client may hold; its tokens carry these (or a requested subset)' }),
  tenantId: Type.String({ format: 'uuid', description: 'the tenant of the client\'s tokens (`tid`)' }),
  createdBy: Type.Union([UuidSchema, Type.Null()], { description: 'the user or client that created it' }),
  createdAt: Timestamp,
  secretRotatedAt: Type.Union([Timestamp, Type.Null()])
}, { description: 'A service account (OAuth client); never its secret' }))
export const ClientPageSchema = pageOf(ClientSchema)

export const CreatedClientSchema = named('CreatedClient', Type.Composite([ClientSchema, Type.Object({
  clientSecret: Type.String({ description: 'shown only in this answer; store it now' })
})], { description: 'A new client with its secret, shown this once' }))

export const ClientSecretSchema = named('ClientSecret', Type.Object({
  clientSecret: Type.String({ description: 'shown only in this answer; the previous secret stops working at once' })
}))

export const CreateClientBodySchema = named('CreateClientRequest', Type.Object({
  name: Type.String({ minLength: 1, maxLength: 200 }),
  scopes: Type.Array(PermissionNameSchema, { maxItems: 100, uniqueItems: true }),
  tenant: Type.Optional(TenantRefSchema)
}, { additionalProperties: false }))

export const ClientListQuerySchema = Type.Composite([
  PageQuerySchema,
  Type.Object({ tenant: Type.Optional(TenantRefSchema) })
])

import { Type, type Static } from '@sinclair/typebox'
import { NullableTimestamp, PageQuerySchema, pageOf, Timestamp, UuidSchema } from './common.js'
import { EmailSchema, FullNameSchema, PasswordSchema, UserSchema, UsernameSchema } from './auth.js'
import { named, ref } from './registry.js'
import { ConditionSchema as ConditionShape } from '../authz/condition-schema.js'

export const RoleNameSchema = Type.String({ pattern: '^[a-z0-9_-]{1,64}$', maxLength: 64, description: 'lower case letters, digits, `_` and `-`' })
export const PermissionNameSchema = Type.String({
  pattern: '^([a-z0-9_-]+:([a-z0-9_-]+|\\*)|\\*)$',
  maxLength: 128,
  description: '`resource:action`, `resource:*` or `*` (lower case letters, digits, `_` and `-`)'
})
export const TenantSlugSchema = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$', maxLength: 63, description: 'lower case letters, digits and `-`; not shaped like a UUID' })
/** Wherever a tenant is named, its id or its slug. */
export const TenantRefSchema = Type.String({ minLength: 1, maxLength: 64, description: 'tenant id or slug' })
const Description = Type.String({ maxLength: 500 })

/** A grant condition (docs/conditions.md): the engine's schema, one component of the document. */
export const ConditionSchema = named('Condition', ConditionShape)

// users

export const UserListQuerySchema = Type.Composite([
  PageQuerySchema,
  Type.Object({ q: Type.Optional(Type.String({ maxLength: 200, description: 'substring of email, username or full name (case-insensitive)' })) })
])

export const CreateUserBodySchema = named('CreateUserRequest', Type.Object({
  email: EmailSchema,
  username: UsernameSchema,
  password: PasswordSchema,
  fullName: Type.Optional(Type.Union([FullNameSchema, Type.Null()])),
  isActive: Type.Optional(Type.Boolean())
}, { additionalProperties: false }))

export const UpdateUserBodySchema = named('UpdateUserRequest', Type.Object({
  email: Type.Optional(EmailSchema),
  username: Type.Optional(UsernameSchema),
  fullName: Type.Optional(Type.Union([FullNameSchema, Type.Null()])),
  isActive: Type.Optional(Type.Boolean({ description: 'false disables the user: every token of theirs stops working at once' }))
}, { additionalProperties: false, minProperties: 1 }))

// role assignments and effective permissions

export const AssignmentSchema = named('Assignment', Type.Object({
  role: Type.String(),
  tenant: Type.Union([UuidSchema, Type.Null()], { description: 'tenant id; null: global (every tenant)' }),
  expiresAt: NullableTimestamp,
  createdAt: Timestamp
}, { description: 'A role held by a user, globally or in one tenant' }))
export type Assignment = Static<typeof AssignmentSchema>
export const AssignmentPageSchema = pageOf(AssignmentSchema)

export const AssignmentListQuerySchema = Type.Composite([
  PageQuerySchema,
  Type.Object({ tenant: Type.Optional(TenantRefSchema) })
])

export const UserRoleParamsSchema = Type.Object({ id: UuidSchema, role: Type.String({ maxLength: 64 }) })

export const AssignBodySchema = named('AssignRoleRequest', Type.Object({
  tenant: Type.Optional(TenantRefSchema),
  expiresAt: Type.Optional(Type.Union([Timestamp, Type.Null()], { description: 'the assignment stops applying at this instant; must be in the future' }))
}, { additionalProperties: false }))

export const TenantQuerySchema = Type.Object({ tenant: Type.Optional(TenantRefSchema) })

export const EffectivePermissionsSchema = named('EffectivePermissions', Type.Object({
  tenant: Type.Union([UuidSchema, Type.Null()], { description: 'the tenant the set is computed for' }),
  permissions: Type.Array(Type.Object({
    name: Type.String(),
    via: Type.Array(Type.Object({
      path: Type.Array(Type.String(), { description: 'from the assigned role to the role that holds the grant' }),
      tenant: Type.Union([UuidSchema, Type.Null()]),
      expiresAt: NullableTimestamp,
      condition: Type.Union([ref(ConditionSchema), Type.Null()], { description: 'null: the grant is unconditional' })
    }))
  }))
}, { description: 'A user\'s effective permissions, each with the role paths that grant it' }))
export type EffectivePermissions = Static<typeof EffectivePermissionsSchema>

// roles

export const GrantSchema = named('Grant', Type.Object({
  permission: Type.String(),
  condition: ref(ConditionSchema)
}, { description: 'A conditional grant of a role' }))

export const RoleSchema = named('Role', Type.Object({
  name: Type.String(),
  description: Type.String(),
  permissions: Type.Array(Type.String(), { description: 'the role\'s own unconditional grants' }),
  grants: Type.Array(ref(GrantSchema), { description: 'the role\'s own conditional grants' }),
  inherits: Type.Array(Type.String(), { description: 'direct parents; their grants are the role\'s too' }),
  createdAt: Timestamp,
  updatedAt: Timestamp
}, { description: 'A role: its grants and the roles it inherits from' }))
export type Role = Static<typeof RoleSchema>
export const RolePageSchema = pageOf(RoleSchema)

export const RoleParamsSchema = Type.Object({ name: Type.String({ maxLength: 64 }) })

const PermissionList = Type.Array(PermissionNameSchema, { maxItems: 200, uniqueItems: true })
const RoleList = Type.Array(RoleNameSchema, { maxItems: 50, uniqueItems: true })

export const CreateRoleBodySchema = named('CreateRoleRequest', Type.Object({
  name: RoleNameSchema,
  description: Type.Optional(Description),
  permissions: Type.Optional(PermissionList),
  inherits: Type.Optional(RoleList)
}, { additionalProperties: false }))

export const UpdateRoleBodySchema = named('UpdateRoleRequest', Type.Object({
  name: Type.Optional(RoleNameSchema),
  description: Type.Optional(Description),
  permissions: Type.Optional(Type.Array(PermissionNameSchema, {
    maxItems: 200,
    uniqueItems: true,
    description: 'replaces the unconditional grants (conditional ones are kept unless listed here)'
  })),
  inherits: Type.Optional(Type.Array(RoleNameSchema, { maxItems: 50, uniqueItems: true, description: 'replaces the parents' }))
}, { additionalProperties: false, minProperties: 1 }))

export const RoleGrantParamsSchema = Type.Object({ name: Type.String({ maxLength: 64 }), permission: Type.String({ maxLength: 128 }) })

export const GrantBodySchema = named('GrantRequest', Type.Object({
  condition: Type.Optional(ref(ConditionSchema))
}, { additionalProperties: false, description: 'An optional body: without a condition the grant is unconditional' }))
/**
 * What the grant route validates: the condition is left to the engine's validator, which checks
 * the same schema and the rules beyond it in one walk and answers 400 INVALID_CONDITION with a
 * path per problem (Ajv's `anyOf` would report every kind's errors for one mistake).
 */
export const GrantBodyValidatedSchema = Type.Object({
  condition: Type.Optional(Type.Unknown())
}, { additionalProperties: false })

// permissions

export const PermissionSchema = named('Permission', Type.Object({
  name: Type.String({ examples: ['posts:read'] }),
  description: Type.String()
}, { description: 'A permission of the catalog (`resource:action`)' }))
export const PermissionPageSchema = pageOf(PermissionSchema)

export const PermissionParamsSchema = Type.Object({ name: Type.String({ maxLength: 128 }) })

export const CreatePermissionBodySchema = named('CreatePermissionRequest', Type.Object({
  name: PermissionNameSchema,
  description: Type.Optional(Description)
}, { additionalProperties: false }))

// tenants

export const TenantSchema = named('Tenant', Type.Object({
  id: UuidSchema,
  slug: Type.String({ examples: ['acme'] }),
  name: Type.String({ examples: ['Acme'] }),
  isDefault: Type.Boolean(),
  createdAt: Timestamp,
  updatedAt: Timestamp
}, { description: 'A tenant' }))
export type TenantView = Static<typeof TenantSchema>
export const TenantPageSchema = pageOf(TenantSchema)

const TenantName = Type.String({ minLength: 1, maxLength: 200 })

export const CreateTenantBodySchema = named('CreateTenantRequest', Type.Object({ slug: TenantSlugSchema, name: TenantName }, { additionalProperties: false }))

export const UpdateTenantBodySchema = named('UpdateTenantRequest', Type.Object({
  slug: Type.Optional(TenantSlugSchema),
  name: Type.Optional(TenantName)
}, { additionalProperties: false, minProperties: 1 }))

export const TenantParamsSchema = Type.Object({ id: TenantRefSchema })

export const MemberSchema = named('Member', Type.Composite([UserSchema, Type.Object({
  roles: Type.Array(Type.String(), { description: 'the roles the user holds in this tenant' })
})], { description: 'A member of a tenant: a user holding an assignment in it' }))
export const MemberPageSchema = pageOf(MemberSchema)

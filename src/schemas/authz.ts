import { Type, type Static } from '@sinclair/typebox'
import { PageQuerySchema, pageOf, UuidSchema } from './common.js'
import { named, ref } from './registry.js'
import { ConditionSchema } from './admin.js'

export const MAX_BATCH_CHECKS = 100

const AttributeValue = Type.Union([
  Type.String({ maxLength: 256 }),
  Type.Number(),
  Type.Boolean(),
  Type.Null()
])

export const ResourceSchema = named('Resource', Type.Object({
  type: Type.String({ minLength: 1, maxLength: 64 }),
  id: Type.Optional(Type.String({ maxLength: 200 })),
  ownerId: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Null()])),
  attributes: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), AttributeValue, { maxProperties: 32 }))
}, { additionalProperties: false, description: 'The object acted on, for conditional grants (owner, attributes)' }))

export const CheckSchema = named('CheckRequest', Type.Object({
  permission: Type.String({ minLength: 1, maxLength: 128, description: 'e.g. posts:update; an unknown or invalid name is answered allowed: false' }),
  subject: Type.Optional(Type.String({ format: 'uuid', description: 'a user id; absent = the caller (needs authz:check otherwise)' })),
  tenant: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'tenant id or slug; absent = the token\'s tenant' })),
  resource: Type.Optional(ref(ResourceSchema))
}, { additionalProperties: false, description: 'May the subject (the caller by default) do this, on this resource?' }))
export type Check = Static<typeof CheckSchema>

export const DecisionSchema = named('Decision', Type.Object({
  allowed: Type.Boolean(),
  reason: Type.String({ examples: ['granted by role editor'] })
}, { description: 'An authorization decision and why' }))
export type DecisionAnswer = Static<typeof DecisionSchema>

export const CheckBatchSchema = named('CheckBatchRequest', Type.Object({
  checks: Type.Array(ref(CheckSchema), { minItems: 1, maxItems: MAX_BATCH_CHECKS })
}, { additionalProperties: false }))

export const CheckBatchResultSchema = named('CheckBatchResult', Type.Object({
  results: Type.Array(ref(DecisionSchema), { description: 'in the order of the checks' })
}))

export const SubjectsQuerySchema = Type.Composite([
  PageQuerySchema,
  Type.Object({
    permission: Type.String({ minLength: 1, maxLength: 128 }),
    tenant: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'tenant id or slug; absent = the token\'s tenant' })),
    includeConditional: Type.Optional(Type.Boolean({ default: false, description: 'also list holders of conditional grants only (e.g. owner-only)' }))
  })
])

export const SubjectSchema = named('Subject', Type.Object({
  id: UuidSchema,
  username: Type.String(),
  email: Type.String(),
  via: Type.Array(Type.String(), { description: 'the assigned roles through which the permission is held' })
}, { description: 'A user holding a permission' }))
export const SubjectPageSchema = pageOf(SubjectSchema)

// what-if

export const WHAT_IF_KINDS = ['grant', 'revoke', 'inherit', 'uninherit', 'assign', 'unassign', 'delete-role'] as const
export const DEFAULT_WHAT_IF_LIMIT = 100
export const MAX_WHAT_IF_LIMIT = 1000

const whatIfChangeFields = {
  kind: Type.Union(WHAT_IF_KINDS.map(kind => Type.Literal(kind)), { description: 'the change, as the route that makes it: grant/revoke `PUT`/`DELETE /v1/roles/{role}/permissions/{permission}`, inherit/uninherit a parent added to or removed from the role\'s `inherits`, assign/unassign `PUT`/`DELETE /v1/users/{user}/roles/{role}`, delete-role `DELETE /v1/roles/{role}`' }),
  role: Type.String({ minLength: 1, maxLength: 64, description: 'the role changed, assigned or unassigned' }),
  permission: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'grant, revoke: the permission' })),
  parent: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'inherit, uninherit: the parent role' })),
  user: Type.Optional(Type.String({ format: 'uuid', description: 'assign, unassign: the user' })),
  tenant: Type.Optional(Type.String({
    minLength: 1,
    maxLength: 64,
    description: 'tenant id or slug. assign, unassign: the assignment\'s tenant, as the assignment routes take it (absent: global, or the caller\'s tenant when they are tenant-scoped). Role changes: report only that tenant'
  })),
  expiresAt: Type.Optional(Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'assign: the assignment\'s expiry; must be in the future' }))
}

export const WhatIfChangeSchema = named('WhatIfChange', Type.Object({
  ...whatIfChangeFields,
  condition: Type.Optional(ref(ConditionSchema))
}, { additionalProperties: false, description: 'One proposed change; which fields it needs depends on `kind`' }))

const limitField = Type.Optional(Type.Integer({
  minimum: 0,
  maximum: MAX_WHAT_IF_LIMIT,
  description: `most items listed in \`gained\` and in \`lost\` (default ${DEFAULT_WHAT_IF_LIMIT}); the counts are exact regardless`
}))

export const WhatIfRequestSchema = named('WhatIfRequest', Type.Object({
  change: ref(WhatIfChangeSchema),
  limit: limitField
}, { additionalProperties: false }))

/**
 * What the what-if route validates: the condition is left to the engine's validator, as on the
 * grant route (400 INVALID_CONDITION with a path per problem).
 */
export const WhatIfRequestValidatedSchema = Type.Object({
  change: Type.Object({ ...whatIfChangeFields, condition: Type.Optional(Type.Unknown()) }, { additionalProperties: false }),
  limit: limitField
}, { additionalProperties: false })
export type WhatIfRequest = Static<typeof WhatIfRequestValidatedSchema>

export const WhatIfEffectSchema = named('WhatIfEffect', Type.Object({
  subject: Type.Object({ id: UuidSchema, username: Type.String() }),
  tenant: Type.Union([UuidSchema, Type.Null()], { description: 'tenant id; null: held globally (every tenant)' }),
  permission: Type.String({ description: 'a concrete permission of the catalog (wildcard grants are expanded)', examples: ['posts:update'] })
}, { description: 'A permission a user gains or loses in a tenant, or globally' }))
export type WhatIfEffect = Static<typeof WhatIfEffectSchema>

export const WhatIfEffectsSchema = named('WhatIfEffects', Type.Object({
  count: Type.Integer({ minimum: 0, description: 'exact: how many (subject, tenant, permission) effects' }),
  subjects: Type.Integer({ minimum: 0, description: 'exact: how many people have at least one of them' }),
  items: Type.Array(ref(WhatIfEffectSchema), { description: 'the first `limit`, by user id, then global before tenants, then permission' })
}))

export const WhatIfResultSchema = named('WhatIfResult', Type.Object({
  gained: ref(WhatIfEffectsSchema),
  lost: ref(WhatIfEffectsSchema)
}, { description: 'The effect of a proposed change; nothing was written' }))
export type WhatIfResult = Static<typeof WhatIfResultSchema>

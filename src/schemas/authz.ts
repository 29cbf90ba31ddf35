import { Type, type Static } from '@sinclair/typebox'
import { PageQuerySchema, pageOf, UuidSchema } from './common.js'
import { named, ref } from './registry.js'

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

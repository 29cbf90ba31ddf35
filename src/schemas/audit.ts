import { Type } from '@sinclair/typebox'
import { PageQuerySchema, pageOf } from './common.js'
import { named } from './registry.js'

export const AuditQuerySchema = Type.Composite([
  PageQuerySchema,
  Type.Object({
    actor: Type.Optional(Type.String({ maxLength: 200, description: 'actor id (user or client)' })),
    action: Type.Optional(Type.String({ maxLength: 100, description: 'e.g. user.create, authz.check' })),
    target: Type.Optional(Type.String({ maxLength: 200, description: 'target id' })),
    outcome: Type.Optional(Type.Union([Type.Literal('success'), Type.Literal('denied'), Type.Literal('failure')])),
    from: Type.Optional(Type.String({ format: 'date-time', description: 'events at or after this instant' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'events at or before this instant' }))
  })
])

const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()])

export const AuditEventSchema = named('AuditEvent', Type.Object({
  id: Type.Integer(),
  at: Type.String({ format: 'date-time' }),
  actorId: Nullable(Type.String()),
  actorKind: Nullable(Type.String()),
  action: Type.String(),
  targetType: Nullable(Type.String()),
  targetId: Nullable(Type.String()),
  tenantId: Nullable(Type.String()),
  outcome: Type.String(),
  before: Type.Unknown(),
  after: Type.Unknown(),
  detail: Nullable(Type.String()),
  requestId: Nullable(Type.String()),
  ip: Nullable(Type.String())
}, { description: 'An entry of the audit log' }))
export const AuditEventPageSchema = pageOf(AuditEventSchema)

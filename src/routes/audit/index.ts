import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { and, desc, eq, gte, lt, lte, type SQL } from 'drizzle-orm'
import { auditEvents } from '../../db/schema/index.js'
import { decodeCursor, page } from '../../lib/cursor.js'
import { PageOf, PageQuerySchema, protectedErrors } from '../../schemas/common.js'
import { holdsGlobally } from '../authz/scope.js'

const AuditQuerySchema = Type.Composite([
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

const AuditEventSchema = Type.Object({
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
})

/**
 * The audit log, newest first. A reader whose audit:read comes only from a tenant role (and a
 * client, which belongs to one tenant) sees that tenant's events only.
 */
const auditRoutes: FastifyPluginAsyncTypebox = async app => {
  app.get('/', {
    config: { permissions: ['audit:read'] },
    schema: {
      tags: ['audit'],
      operationId: 'listAuditEvents',
      summary: 'Search the audit log',
      description: 'Filters combine with AND; `from`/`to` are ISO-8601 date-times, inclusive. Keyset pagination by event id, newest first.',
      querystring: AuditQuerySchema,
      response: { 200: PageOf(AuditEventSchema), ...protectedErrors }
    }
  }, async request => {
    const principal = request.principal!
    const { actor, action, target, outcome, from, to, limit, cursor } = request.query
    const after = cursor === undefined ? null : decodeCursor(cursor, 'int')

    const where: SQL[] = []
    if (!(await holdsGlobally(app, principal, 'audit:read'))) where.push(eq(auditEvents.tenantId, principal.tid))
    if (actor !== undefined) where.push(eq(auditEvents.actorId, actor))
    if (action !== undefined) where.push(eq(auditEvents.action, action))
    if (target !== undefined) where.push(eq(auditEvents.targetId, target))
    if (outcome !== undefined) where.push(eq(auditEvents.outcome, outcome))
    if (from !== undefined) where.push(gte(auditEvents.at, new Date(from)))
    if (to !== undefined) where.push(lte(auditEvents.at, new Date(to)))
    if (after !== null) where.push(lt(auditEvents.id, Number(after.id)))

    const rows = await app.db.select().from(auditEvents)
      .where(and(...where))
      .orderBy(desc(auditEvents.id))
      .limit(limit + 1)
    const result = page(rows, limit, row => ({ at: row.at, id: row.id }))
    return {
      items: result.items.map(row => ({ ...row, at: row.at.toISOString() })),
      nextCursor: result.nextCursor
    }
  })
}

export default auditRoutes

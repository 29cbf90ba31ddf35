import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { and, desc, eq, gte, lt, lte, type SQL } from 'drizzle-orm'
import { auditEvents } from '../../db/schema/index.js'
import { decodeCursor, page } from '../../lib/cursor.js'
import { DEFAULT_PAGE_LIMIT, protectedErrors } from '../../schemas/common.js'
import { AuditEventPageSchema, AuditQuerySchema } from '../../schemas/audit.js'
import { holdsGlobally } from '../authz/scope.js'
import { ref } from '../../schemas/registry.js'

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
      response: { 200: ref(AuditEventPageSchema), ...protectedErrors }
    }
  }, async request => {
    const principal = request.principal!
    const { actor, action, target, outcome, from, to, limit = DEFAULT_PAGE_LIMIT, cursor } = request.query
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

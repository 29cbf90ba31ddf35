import { and, desc, eq, gte, lt, lte, type SQL } from 'drizzle-orm'
import type { Db } from '../db/client.js'
import { auditEvents } from '../db/schema/index.js'
import { decodeCursor, page } from '../lib/cursor.js'
import type { Page, PageRequest } from './paging.js'
import { repositoryPlugin } from './plugin.js'

export type AuditEventRow = typeof auditEvents.$inferSelect

/** Filters that combine with AND; `from` and `to` are inclusive. */
export interface AuditQuery extends PageRequest {
  /** null: every tenant's events */
  tenantId: string | null
  actor?: string
  action?: string
  target?: string
  outcome?: AuditEventRow['outcome']
  from?: Date
  to?: Date
}

export function createAuditRepository (db: Db) {
  return {
    /** Newest first, keyset-paged by event id (the cursor's id is the last event's). */
    async search (query: AuditQuery): Promise<Page<AuditEventRow>> {
      const { tenantId, actor, action, target, outcome, from, to, limit, cursor } = query
      const after = cursor === undefined ? null : decodeCursor(cursor, 'int')
      const where: SQL[] = []
      if (tenantId !== null) where.push(eq(auditEvents.tenantId, tenantId))
      if (actor !== undefined) where.push(eq(auditEvents.actorId, actor))
      if (action !== undefined) where.push(eq(auditEvents.action, action))
      if (target !== undefined) where.push(eq(auditEvents.targetId, target))
      if (outcome !== undefined) where.push(eq(auditEvents.outcome, outcome))
      if (from !== undefined) where.push(gte(auditEvents.at, from))
      if (to !== undefined) where.push(lte(auditEvents.at, to))
      if (after !== null) where.push(lt(auditEvents.id, Number(after.id)))
      const rows = await db.select().from(auditEvents).where(and(...where)).orderBy(desc(auditEvents.id)).limit(limit + 1)
      return page(rows, limit, row => ({ at: row.at, id: row.id }))
    }
  }
}

export type AuditRepository = ReturnType<typeof createAuditRepository>

declare module 'fastify' {
  interface FastifyInstance {
    auditRepository: AuditRepository
  }
}

export default repositoryPlugin('auditRepository', createAuditRepository)

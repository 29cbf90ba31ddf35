import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { DEFAULT_PAGE_LIMIT, protectedErrors } from '../../schemas/common.js'
import { AuditEventPageSchema, AuditQuerySchema } from '../../schemas/audit.js'
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
    const result = await app.auditRepository.search({
      tenantId: await app.access.holdsGlobally(principal, 'audit:read') ? null : principal.tid,
      actor,
      action,
      target,
      outcome,
      from: from === undefined ? undefined : new Date(from),
      to: to === undefined ? undefined : new Date(to),
      limit,
      cursor
    })
    return {
      items: result.items.map(row => ({ ...row, at: row.at.toISOString() })),
      nextCursor: result.nextCursor
    }
  })
}

export default auditRoutes

import type { FastifyInstance } from 'fastify'
import type { Principal } from '../../access/declaration.js'
import { inArray, or } from 'drizzle-orm'
import type { DbOrTx } from '../../db/client.js'
import { tenants } from '../../db/schema/index.js'

/** Whether a global assignment grants the caller `permission` (the access module decides). */
export async function holdsGlobally (app: FastifyInstance, principal: Principal, permission: string): Promise<boolean> {
  return app.access.holdsGlobally(principal, permission)
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** Maps tenant ids and slugs to tenant ids, in one query; names that match nothing are absent. */
export async function resolveTenants (db: DbOrTx, names: Iterable<string>): Promise<Map<string, string>> {
  const wanted = [...new Set(names)]
  const resolved = new Map<string, string>()
  if (wanted.length === 0) return resolved
  const ids = wanted.filter(name => UUID.test(name)).map(id => id.toLowerCase())
  const rows = await db.select({ id: tenants.id, slug: tenants.slug }).from(tenants)
    .where(ids.length > 0 ? or(inArray(tenants.slug, wanted), inArray(tenants.id, ids)) : inArray(tenants.slug, wanted))
  for (const name of wanted) {
    const row = rows.find(r => r.id === name.toLowerCase()) ?? rows.find(r => r.slug === name)
    if (row !== undefined) resolved.set(name, row.id)
  }
  return resolved
}

import { eq, or } from 'drizzle-orm'
import type { DbOrTx } from '../db/client.js'
import { tenants } from '../db/schema/index.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export type Tenant = typeof tenants.$inferSelect

/** A tenant named by id or slug (API.md: wherever a tenant is named, either is accepted). */
export async function findTenant (db: DbOrTx, idOrSlug: string): Promise<Tenant | null> {
  const where = UUID.test(idOrSlug)
    ? or(eq(tenants.id, idOrSlug.toLowerCase()), eq(tenants.slug, idOrSlug))
    : eq(tenants.slug, idOrSlug.toLowerCase())
  const [row] = await db.select().from(tenants).where(where).limit(1)
  return row ?? null
}

export async function defaultTenant (db: DbOrTx): Promise<Tenant> {
  const [row] = await db.select().from(tenants).where(eq(tenants.isDefault, true)).limit(1)
  if (!row) throw new Error('no default tenant: the database was not seeded')
  return row
}

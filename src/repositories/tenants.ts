import { and, asc, eq, inArray, or } from 'drizzle-orm'
import type { Db, DbOrTx } from '../db/client.js'
import { clients, roleAssignments, roles, sessions, tenants, users } from '../db/schema/index.js'
import { listedUserColumns, memberOf, type ListedUser } from '../services/admin/scope.js'
import { keyset, pageByCreation, type Page, type PageRequest } from './paging.js'
import { repositoryPlugin } from './plugin.js'

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

/** What a tenant's deletion took with it: the ids of its members, sessions and clients. */
export interface DeletedTenant {
  members: string[]
  sessions: string[]
  clients: string[]
}

export function createTenantsRepository (db: Db) {
  return {
    /** Oldest first; `only` (when not null) limits the list to that tenant. */
    async list ({ only, limit, cursor }: PageRequest & { only: string | null }): Promise<Page<Tenant>> {
      const keys = keyset(tenants.createdAt, tenants.id, cursor)
      const rows = await db.select().from(tenants)
        .where(and(keys.where, only === null ? undefined : eq(tenants.id, only)))
        .orderBy(...keys.orderBy)
        .limit(limit + 1)
      return pageByCreation(rows, limit)
    },

    find: (idOrSlug: string) => findTenant(db, idOrSlug),

    /** The default tenant (throws when the database was not seeded). */
    default: () => defaultTenant(db),

    resolve: (names: Iterable<string>) => resolveTenants(db, names),

    /** The tenant's id, slug and name by id; null for none. */
    async brief (id: string): Promise<Pick<Tenant, 'id' | 'slug' | 'name'> | null> {
      const [row] = await db.select({ id: tenants.id, slug: tenants.slug, name: tenants.name }).from(tenants).where(eq(tenants.id, id))
      return row ?? null
    },

    /** Rejects with a unique violation for a taken slug. */
    async create (slug: string, name: string): Promise<Tenant> {
      const now = new Date()
      const [row] = await db.insert(tenants).values({ slug, name, createdAt: now, updatedAt: now }).returning()
      return row
    },

    /** Rejects with a unique violation for a taken slug. */
    async update (tenant: Tenant, change: { slug?: string, name?: string }): Promise<Tenant> {
      const [row] = await db.update(tenants).set({
        ...(change.slug === undefined ? {} : { slug: change.slug }),
        ...(change.name === undefined ? {} : { name: change.name }),
        updatedAt: new Date()
      }).where(eq(tenants.id, tenant.id)).returning()
      return row
    },

    /** Deletes the tenant (its assignments, sessions, clients and posts go with it), in one transaction. */
    async remove (tenant: Tenant): Promise<DeletedTenant> {
      return db.transaction(async tx => {
        const [members, tenantSessions, tenantClients] = await Promise.all([
          tx.selectDistinct({ id: roleAssignments.userId }).from(roleAssignments).where(eq(roleAssignments.tenantId, tenant.id)),
          tx.select({ id: sessions.id }).from(sessions).where(eq(sessions.tenantId, tenant.id)),
          tx.select({ id: clients.id }).from(clients).where(eq(clients.tenantId, tenant.id))
        ])
        await tx.delete(tenants).where(eq(tenants.id, tenant.id))
        return { members: members.map(m => m.id), sessions: tenantSessions.map(s => s.id), clients: tenantClients.map(c => c.id) }
      })
    },

    /** The users holding an assignment in the tenant, oldest first, each with the names of their roles there. */
    async members (tenant: Tenant, { limit, cursor }: PageRequest): Promise<Page<{ user: ListedUser, roles: string[] }>> {
      const keys = keyset(users.createdAt, users.id, cursor)
      const rows = await db.select(listedUserColumns).from(users)
        .where(and(memberOf(db, tenant.id), keys.where))
        .orderBy(...keys.orderBy)
        .limit(limit + 1)
      const result = pageByCreation(rows, limit)
      const held = result.items.length === 0
        ? []
        : await db.select({ userId: roleAssignments.userId, role: roles.name }).from(roleAssignments)
          .innerJoin(roles, eq(roles.id, roleAssignments.roleId))
          .where(and(eq(roleAssignments.tenantId, tenant.id), inArray(roleAssignments.userId, result.items.map(u => u.id))))
          .orderBy(asc(roles.name))
      return {
        items: result.items.map(user => ({ user, roles: held.filter(h => h.userId === user.id).map(h => h.role) })),
        nextCursor: result.nextCursor
      }
    }
  }
}

export type TenantsRepository = ReturnType<typeof createTenantsRepository>

declare module 'fastify' {
  interface FastifyInstance {
    tenantsRepository: TenantsRepository
  }
}

export default repositoryPlugin('tenantsRepository', createTenantsRepository)

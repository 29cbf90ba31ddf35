import { eq, inArray } from 'drizzle-orm'
import type { Db, DbOrTx } from '../db/client.js'
import { permissions, rolePermissions, roles } from '../db/schema/index.js'
import { page } from '../lib/cursor.js'
import { repositoryPlugin } from './plugin.js'
import { keyset, type Page, type PageRequest } from './paging.js'

export type PermissionRow = typeof permissions.$inferSelect

/** The names among `names` that are not in the permission catalog (no query for none). */
export async function unknownPermissions (db: DbOrTx, names: readonly string[]): Promise<string[]> {
  if (names.length === 0) return []
  const found = new Set((await db.select({ name: permissions.name }).from(permissions).where(inArray(permissions.name, [...names]))).map(r => r.name))
  return names.filter(n => !found.has(n))
}

/** Every permission name, sorted. */
export async function permissionNames (db: DbOrTx): Promise<string[]> {
  const rows = await db.select({ name: permissions.name }).from(permissions).orderBy(permissions.name)
  return rows.map(r => r.name)
}

export function createPermissionsRepository (db: Db) {
  return {
    /** Oldest first. */
    async list ({ limit, cursor }: PageRequest): Promise<Page<PermissionRow>> {
      const keys = keyset(permissions.createdAt, permissions.name, cursor, 'text')
      const rows = await db.select().from(permissions).where(keys.where).orderBy(...keys.orderBy).limit(limit + 1)
      return page(rows, limit, row => ({ at: row.createdAt, id: row.name }))
    },

    async find (name: string): Promise<PermissionRow | null> {
      const [row] = await db.select().from(permissions).where(eq(permissions.name, name))
      return row ?? null
    },

    /** Rejects with a unique violation when the name is taken. */
    async create (name: string, description: string): Promise<PermissionRow> {
      const [row] = await db.insert(permissions).values({ name, description, createdAt: new Date() }).returning()
      return row
    },

    /** Names of (up to `limit`) roles granting the permission, sorted. */
    async grantedBy (name: string, limit: number): Promise<string[]> {
      const rows = await db.select({ role: roles.name }).from(rolePermissions)
        .innerJoin(roles, eq(roles.id, rolePermissions.roleId))
        .where(eq(rolePermissions.permission, name))
        .orderBy(roles.name)
        .limit(limit)
      return rows.map(r => r.role)
    },

    /** Rejects with a foreign key violation while a role grants it. */
    async remove (name: string): Promise<void> {
      await db.delete(permissions).where(eq(permissions.name, name))
    },

    unknown: (names: readonly string[]) => unknownPermissions(db, names),

    names: () => permissionNames(db),

    /** Every permission name, as a set (unordered). */
    async catalog (): Promise<Set<string>> {
      const rows = await db.select({ name: permissions.name }).from(permissions)
      return new Set(rows.map(r => r.name))
    }
  }
}

export type PermissionsRepository = ReturnType<typeof createPermissionsRepository>

declare module 'fastify' {
  interface FastifyInstance {
    permissionsRepository: PermissionsRepository
  }
}

export default repositoryPlugin('permissionsRepository', createPermissionsRepository)

import { and, asc, eq, inArray, isNull, or, sql } from 'drizzle-orm'
import type { Condition } from '../authz/index.js'
import type { Db, DbOrTx, Tx } from '../db/client.js'
import { roleAssignments, roleInheritance, rolePermissions, roles } from '../db/schema/index.js'
import { unknownPermissions } from './permissions.js'
import { repositoryPlugin } from './plugin.js'
import { keyset, pageByCreation, type Page, type PageRequest } from './paging.js'

export type RoleRow = typeof roles.$inferSelect

/** A role as stored: its own grants and its direct parents. */
export interface RoleDefinition {
  id: string
  name: string
  description: string
  createdAt: Date
  updatedAt: Date
  grants: Array<{ permission: string, condition: Condition | null }>
  parents: string[]
}

const ROLE_GRAPH_LOCK = 4_242_010

/** Grants of the given roles (of every role: null), by permission name. */
function grantRows (db: DbOrTx, ids: string[] | null) {
  return db.select({ roleId: rolePermissions.roleId, permission: rolePermissions.permission, condition: rolePermissions.condition })
    .from(rolePermissions).where(ids === null ? undefined : inArray(rolePermissions.roleId, ids)).orderBy(asc(rolePermissions.permission))
}

/** Direct parents of the given roles (of every role: null), by parent name. */
function parentRows (db: DbOrTx, ids: string[] | null) {
  return db.select({ roleId: roleInheritance.roleId, parent: roles.name })
    .from(roleInheritance).innerJoin(roles, eq(roles.id, roleInheritance.parentId))
    .where(ids === null ? undefined : inArray(roleInheritance.roleId, ids)).orderBy(asc(roles.name))
}

function assemble (
  rows: readonly RoleRow[],
  grants: Awaited<ReturnType<typeof grantRows>>,
  parents: Awaited<ReturnType<typeof parentRows>>
): RoleDefinition[] {
  const defs = new Map<string, RoleDefinition>(rows.map(row => [row.id, {
    id: row.id,
    name: row.name,
    description: row.description,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    grants: [],
    parents: []
  }]))
  for (const g of grants) defs.get(g.roleId)?.grants.push({ permission: g.permission, condition: (g.condition ?? null) as Condition | null })
  for (const p of parents) defs.get(p.roleId)?.parents.push(p.parent)
  return [...defs.values()]
}

/** Grants and parents of the given roles, attached to their rows. */
async function definitionsOf (db: DbOrTx, rows: readonly RoleRow[]): Promise<RoleDefinition[]> {
  if (rows.length === 0) return []
  const ids = rows.map(r => r.id)
  const [grants, parents] = await Promise.all([grantRows(db, ids), parentRows(db, ids)])
  return assemble(rows, grants, parents)
}

/**
 * The role graph: every role with its own grants (by permission name) and direct parents (by
 * name), keyed by role name, in one round trip. Read in the caller's transaction when given one.
 * The one loader of the graph: the admin routes use it under the graph lock, and it takes a plain
 * handle so that the access state can load the graph it compiles the same way.
 */
export async function loadRoleDefinitions (db: DbOrTx): Promise<Map<string, RoleDefinition>> {
  const [rows, grants, parents] = await Promise.all([db.select().from(roles), grantRows(db, null), parentRows(db, null)])
  return new Map(assemble(rows, grants, parents).map(d => [d.name, d]))
}

export interface RoleChange {
  name?: string
  description?: string
  /** replaces the role's unconditional grants (and conditional grants of these permissions) */
  permissions?: readonly string[]
  /** replaces the role's parents (names in `defs`) */
  parents?: readonly string[]
}

/** The role graph read under its lock, and the writes to it, all in one transaction. */
export interface LockedGraph {
  readonly defs: ReadonlyMap<string, RoleDefinition>
  /** the names among `names` that are not in the permission catalog */
  unknownPermissions: (names: readonly string[]) => Promise<string[]>
  create: (role: { name: string, description: string, permissions: readonly string[], parents: readonly string[] }) => Promise<void>
  update: (role: RoleDefinition, change: RoleChange) => Promise<void>
  remove: (role: RoleDefinition) => Promise<void>
  /** adds the grant or replaces its condition */
  grant: (role: RoleDefinition, permission: string, condition: Condition | null) => Promise<void>
  revoke: (role: RoleDefinition, permission: string) => Promise<void>
  /** ids of the users holding the role (their cached assignments name it) */
  holders: (role: RoleDefinition) => Promise<string[]>
}

function lockedGraph (tx: Tx, defs: ReadonlyMap<string, RoleDefinition>): LockedGraph {
  const parentLinks = (roleId: string, parents: readonly string[]) => parents.map(p => ({ roleId, parentId: defs.get(p)!.id }))
  const touch = (role: RoleDefinition) => tx.update(roles).set({ updatedAt: new Date() }).where(eq(roles.id, role.id))
  return {
    defs,
    unknownPermissions: names => unknownPermissions(tx, names),
    async create ({ name, description, permissions: names, parents }) {
      const now = new Date()
      const [row] = await tx.insert(roles).values({ name, description, createdAt: now, updatedAt: now }).returning({ id: roles.id })
      if (names.length > 0) await tx.insert(rolePermissions).values(names.map(permission => ({ roleId: row.id, permission })))
      if (parents.length > 0) await tx.insert(roleInheritance).values(parentLinks(row.id, parents))
    },
    async update (role, { name, description, permissions: names, parents }) {
      await tx.update(roles).set({
        name: name ?? role.name,
        ...(description === undefined ? {} : { description }),
        updatedAt: new Date()
      }).where(eq(roles.id, role.id))
      if (names !== undefined) {
        await tx.delete(rolePermissions).where(and(
          eq(rolePermissions.roleId, role.id),
          names.length > 0 ? or(isNull(rolePermissions.condition), inArray(rolePermissions.permission, [...names])) : isNull(rolePermissions.condition)
        ))
        if (names.length > 0) await tx.insert(rolePermissions).values(names.map(permission => ({ roleId: role.id, permission })))
      }
      if (parents !== undefined) {
        await tx.delete(roleInheritance).where(eq(roleInheritance.roleId, role.id))
        if (parents.length > 0) await tx.insert(roleInheritance).values(parentLinks(role.id, parents))
      }
    },
    async remove (role) {
      await tx.delete(roles).where(eq(roles.id, role.id))
    },
    async grant (role, permission, condition) {
      await tx.insert(rolePermissions).values({ roleId: role.id, permission, condition })
        .onConflictDoUpdate({ target: [rolePermissions.roleId, rolePermissions.permission], set: { condition } })
      await touch(role)
    },
    async revoke (role, permission) {
      await tx.delete(rolePermissions).where(and(eq(rolePermissions.roleId, role.id), eq(rolePermissions.permission, permission)))
      await touch(role)
    },
    async holders (role) {
      const rows = await tx.selectDistinct({ userId: roleAssignments.userId }).from(roleAssignments).where(eq(roleAssignments.roleId, role.id))
      return rows.map(r => r.userId)
    }
  }
}

export function createRolesRepository (db: Db) {
  return {
    /** Oldest first. */
    async list ({ limit, cursor }: PageRequest): Promise<Page<RoleDefinition>> {
      const keys = keyset(roles.createdAt, roles.id, cursor)
      const rows = await db.select().from(roles).where(keys.where).orderBy(...keys.orderBy).limit(limit + 1)
      const result = pageByCreation(rows, limit)
      return { items: await definitionsOf(db, result.items), nextCursor: result.nextCursor }
    },

    async find (name: string): Promise<RoleDefinition | null> {
      const rows = await db.select().from(roles).where(eq(roles.name, name))
      const [def] = await definitionsOf(db, rows)
      return def ?? null
    },

    /** The role's id, without its grants. */
    async findRef (name: string): Promise<{ id: string, name: string } | null> {
      const [role] = await db.select({ id: roles.id, name: roles.name }).from(roles).where(eq(roles.name, name))
      return role ?? null
    },

    /** The whole graph, read now (not from the access state's cache). */
    definitions: () => loadRoleDefinitions(db),

    /**
     * Runs `fn` in a transaction that holds the role graph's advisory lock and has read the graph:
     * writes to the graph are serialized, so two concurrent edits cannot together close an
     * inheritance cycle (or slip past the escalation check) that each alone would not. Whatever
     * `fn` throws rolls the transaction back.
     */
    withLockedGraph<T> (fn: (graph: LockedGraph) => Promise<T>): Promise<T> {
      return db.transaction(async tx => {
        await tx.execute(sql`select pg_advisory_xact_lock(${ROLE_GRAPH_LOCK})`)
        return fn(lockedGraph(tx, await loadRoleDefinitions(tx)))
      })
    }
  }
}

export type RolesRepository = ReturnType<typeof createRolesRepository>

declare module 'fastify' {
  interface FastifyInstance {
    rolesRepository: RolesRepository
  }
}

export default repositoryPlugin('rolesRepository', createRolesRepository)

import { asc, eq, inArray, sql } from 'drizzle-orm'
import { compileRoleGraph, type Condition, type RoleGraph } from '../../authz/index.js'
import type { DbOrTx, Tx } from '../../db/client.js'
import { roleInheritance, rolePermissions, roles } from '../../db/schema/index.js'
import type { Role } from '../../schemas/admin.js'

type RoleRow = typeof roles.$inferSelect

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

/**
 * Serializes writes to the role graph, so that two concurrent edits cannot together close an
 * inheritance cycle (or slip past the escalation check) that each alone would not.
 */
export async function lockRoleGraph (tx: Tx): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(${ROLE_GRAPH_LOCK})`)
}

/** Grants and parents of the given roles, attached to their rows. */
export async function definitionsOf (db: DbOrTx, rows: readonly RoleRow[]): Promise<RoleDefinition[]> {
  if (rows.length === 0) return []
  const ids = rows.map(r => r.id)
  const [grantRows, parentRows] = await Promise.all([
    db.select({ roleId: rolePermissions.roleId, permission: rolePermissions.permission, condition: rolePermissions.condition })
      .from(rolePermissions).where(inArray(rolePermissions.roleId, ids)).orderBy(asc(rolePermissions.permission)),
    db.select({ roleId: roleInheritance.roleId, parent: roles.name })
      .from(roleInheritance).innerJoin(roles, eq(roles.id, roleInheritance.parentId))
      .where(inArray(roleInheritance.roleId, ids)).orderBy(asc(roles.name))
  ])
  return rows.map(row => ({
    id: row.id,
    name: row.name,
    description: row.description,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    grants: grantRows.filter(g => g.roleId === row.id).map(g => ({ permission: g.permission, condition: (g.condition ?? null) as Condition | null })),
    parents: parentRows.filter(p => p.roleId === row.id).map(p => p.parent)
  }))
}

/** Every role with its grants and parents: the whole graph, read in the caller's transaction. */
export async function loadDefinitions (db: DbOrTx): Promise<Map<string, RoleDefinition>> {
  const rows = await db.select().from(roles)
  return new Map((await definitionsOf(db, rows)).map(d => [d.name, d]))
}

export async function findDefinition (db: DbOrTx, name: string): Promise<RoleDefinition | null> {
  const rows = await db.select().from(roles).where(eq(roles.name, name))
  const [def] = await definitionsOf(db, rows)
  return def ?? null
}

/** Compiles definitions, one of them possibly replaced by (or added as) `changed`. */
export function compileDefinitions (defs: ReadonlyMap<string, Pick<RoleDefinition, 'name' | 'grants' | 'parents'>>, changed?: Pick<RoleDefinition, 'name' | 'grants' | 'parents'>): RoleGraph {
  const all = new Map(defs)
  if (changed !== undefined) all.set(changed.name, changed)
  return compileRoleGraph([...all.values()].map(d => ({ name: d.name, grants: d.grants, parents: d.parents })))
}

/** The API shape: unconditional grants in `permissions`, conditional ones in `grants`. */
export function roleView (def: RoleDefinition): Role {
  return {
    name: def.name,
    description: def.description,
    permissions: def.grants.filter(g => g.condition === null).map(g => g.permission).sort(),
    grants: def.grants.filter(g => g.condition !== null).map(g => ({ permission: g.permission, condition: g.condition as Record<string, unknown> }))
      .sort((a, b) => (a.permission < b.permission ? -1 : a.permission > b.permission ? 1 : 0)),
    inherits: [...def.parents].sort(),
    createdAt: def.createdAt.toISOString(),
    updatedAt: def.updatedAt.toISOString()
  }
}

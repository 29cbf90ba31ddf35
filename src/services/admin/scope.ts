import type { FastifyInstance, FastifyRequest } from 'fastify'
import { and, eq, exists, sql, type SQL } from 'drizzle-orm'
import type { Held } from '../../access/index.js'
import type { DbOrTx } from '../../db/client.js'
import { roleAssignments, users, userViewColumns } from '../../db/schema/index.js'
import { Forbidden, NotFound } from '../../errors.js'
import { findTenant, type Tenant } from '../tenants.js'

/**
 * Where an administrator's permission applies (API.md "Tenant scope"): everywhere when a global
 * assignment grants it, otherwise only in the token's tenant. Other tenants' objects are then
 * invisible: 404, never 403.
 */
export interface AdminScope {
  /** null: every tenant; otherwise the one tenant the caller manages */
  tenantId: string | null
}

export type { Held }

function viewOf (request: FastifyRequest) {
  const view = request.accessView
  if (view === null) throw new Forbidden('not allowed')
  return view
}

/**
 * The caller's grantable rights in `tenantId` (null: from global assignments only), from the
 * access module. A client (service account) holds its scopes in its own tenant and nothing anywhere else.
 */
export async function heldIn (app: FastifyInstance, request: FastifyRequest, tenantId: string | null): Promise<Held> {
  return app.access.heldIn(viewOf(request), tenantId)
}

/** Global if a global assignment grants `permission` (and the token's scopes allow it), else the token's tenant. */
export async function adminScope (app: FastifyInstance, request: FastifyRequest, permission: string): Promise<AdminScope> {
  const principal = viewOf(request).principal
  if (principal.kind === 'user') {
    const global = await heldIn(app, request, null)
    if (global.covers(permission)) return { tenantId: null }
  }
  return { tenantId: principal.tid }
}

/** SQL: the user (by id column) holds an assignment in the tenant, i.e. is one of its members. */
export function memberOf (db: DbOrTx, tenantId: string, userId: SQL | typeof users.id = users.id): SQL {
  return exists(db.select({ one: sql`1` }).from(roleAssignments)
    .where(and(eq(roleAssignments.userId, userId), eq(roleAssignments.tenantId, tenantId))))
}

export type UserRow = typeof users.$inferSelect

/** The columns a user list reads (db/schema/identity.ts). */
export const listedUserColumns = userViewColumns

/** A user as a list reads it. */
export type ListedUser = Pick<UserRow, keyof typeof listedUserColumns>

/** The user if the caller's scope shows it; 404 otherwise (unknown, or another tenant's). */
export async function visibleUser (db: DbOrTx, scope: AdminScope, id: string): Promise<UserRow> {
  const where = scope.tenantId === null ? eq(users.id, id) : and(eq(users.id, id), memberOf(db, scope.tenantId))
  const [row] = await db.select().from(users).where(where)
  if (row === undefined) throw new NotFound('user not found')
  return row
}

/** A tenant named by id or slug, if it exists and the scope shows it; 404 otherwise. */
export async function visibleTenant (db: DbOrTx, scope: AdminScope, ref: string): Promise<Tenant> {
  const tenant = await findTenant(db, ref)
  if (tenant === null || (scope.tenantId !== null && tenant.id !== scope.tenantId)) throw new NotFound('tenant not found')
  return tenant
}

/**
 * The tenant an assignment is made in: the named one (which the scope must show), or without a
 * name the caller's own tenant when they are tenant-scoped, and no tenant (global) otherwise.
 */
export async function assignmentTenant (db: DbOrTx, scope: AdminScope, ref: string | undefined): Promise<Tenant | null> {
  if (ref !== undefined) return visibleTenant(db, scope, ref)
  if (scope.tenantId === null) return null
  return visibleTenant(db, scope, scope.tenantId)
}

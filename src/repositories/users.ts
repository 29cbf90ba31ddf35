import { and, eq, ilike, isNull, ne, or, sql, type SQL } from 'drizzle-orm'
import type { Db, DbOrTx } from '../db/client.js'
import { roleAssignments, roles, sessions, users } from '../db/schema/index.js'
import { memberOf, type UserRow } from '../services/admin/scope.js'
import { revokeUserSessions } from '../services/sessions.js'
import { keyset, pageByCreation, type Page, type PageRequest } from './paging.js'
import { repositoryPlugin } from './plugin.js'

export type AssignmentRow = typeof roleAssignments.$inferSelect

/** An assignment as listed: with its role's name. */
export type AssignmentView = Pick<AssignmentRow, 'id' | 'tenantId' | 'expiresAt' | 'createdAt'> & { role: string }

/** One assignment: a user's role, globally (tenantId null) or in one tenant. */
export interface AssignmentKey {
  userId: string
  roleId: string
  tenantId: string | null
}

const escapeLike = (text: string) => text.replace(/[\\%_]/g, c => '\\' + c)

/** SQL: the search text occurs in the email, username or full name, ignoring case. */
function userSearch (q: string): SQL | undefined {
  const pattern = `%${escapeLike(q)}%`
  return or(ilike(users.email, pattern), ilike(users.username, pattern), ilike(users.fullName, pattern))
}

const sameAssignment = ({ userId, roleId, tenantId }: AssignmentKey) => and(
  eq(roleAssignments.userId, userId),
  eq(roleAssignments.roleId, roleId),
  tenantId === null ? isNull(roleAssignments.tenantId) : eq(roleAssignments.tenantId, tenantId)
)

/**
 * Whether the user holds an assignment outside `tenantId` (a global one or another tenant's):
 * such a user is shared, and a tenant-scoped administrator may not disable, rename or delete
 * an account that other tenants rely on.
 */
async function belongsElsewhere (db: DbOrTx, userId: string, tenantId: string): Promise<boolean> {
  const [row] = await db.select({ id: roleAssignments.id }).from(roleAssignments)
    .where(and(eq(roleAssignments.userId, userId), or(isNull(roleAssignments.tenantId), ne(roleAssignments.tenantId, tenantId))))
    .limit(1)
  return row !== undefined
}

export interface NewUser {
  email: string
  username: string
  fullName: string | null
  passwordHash: string
  isActive: boolean
}

export interface UserChange {
  email?: string
  username?: string
  fullName?: string | null
  isActive?: boolean
}

export function createUsersRepository (db: Db) {
  return {
    /** Oldest first; the members of `memberOf` only unless it is null; `q` searches email, username and full name. */
    async list ({ memberOf: tenantId, q, limit, cursor }: PageRequest & { memberOf: string | null, q?: string }): Promise<Page<UserRow>> {
      const keys = keyset(users.createdAt, users.id, cursor)
      const rows = await db.select().from(users)
        .where(and(
          keys.where,
          tenantId === null ? undefined : memberOf(db, tenantId),
          q === undefined || q === '' ? undefined : userSearch(q)
        ))
        .orderBy(...keys.orderBy)
        .limit(limit + 1)
      return pageByCreation(rows, limit)
    },

    belongsElsewhere: (userId: string, tenantId: string) => belongsElsewhere(db, userId, tenantId),

    /**
     * Creates the user and, in the same transaction, assigns them `role.name` in `role.tenantId`
     * (assigned: false when no such role exists). Rejects with a unique violation for a taken
     * email or username.
     */
    async create (user: NewUser, role: { name: string, tenantId: string, createdBy: string }): Promise<{ user: UserRow, assigned: boolean }> {
      const now = new Date()
      return db.transaction(async tx => {
        const [row] = await tx.insert(users).values({ ...user, createdAt: now, updatedAt: now }).returning()
        const [found] = await tx.select({ id: roles.id }).from(roles).where(eq(roles.name, role.name))
        if (found === undefined) return { user: row, assigned: false }
        await tx.insert(roleAssignments).values({ userId: row.id, roleId: found.id, tenantId: role.tenantId, createdBy: role.createdBy })
        return { user: row, assigned: true }
      })
    },

    /**
     * Changes the user; with `endSessions`, their live sessions end in the same transaction (ids
     * in `ended`). Rejects with a unique violation for a taken email or username.
     */
    async update (user: UserRow, change: UserChange, endSessions?: { reason: string }): Promise<{ user: UserRow, ended: string[] }> {
      return db.transaction(async tx => {
        const [row] = await tx.update(users).set({
          ...(change.email === undefined ? {} : { email: change.email }),
          ...(change.username === undefined ? {} : { username: change.username }),
          ...(change.fullName === undefined ? {} : { fullName: change.fullName }),
          ...(change.isActive === undefined ? {} : { isActive: change.isActive }),
          updatedAt: new Date()
        }).where(eq(users.id, user.id)).returning()
        const ended = endSessions === undefined ? [] : await revokeUserSessions(tx, user.id, endSessions.reason)
        return { user: row, ended }
      })
    },

    /** Deletes the user (sessions, assignments and posts go with it); the ids of the sessions that went. */
    async remove (user: UserRow): Promise<string[]> {
      return db.transaction(async tx => {
        const live = await tx.select({ id: sessions.id }).from(sessions).where(eq(sessions.userId, user.id))
        await tx.delete(users).where(eq(users.id, user.id))
        return live.map(s => s.id)
      })
    },

    /** The user's assignments, oldest first; in one tenant only unless `tenantId` is null. */
    async assignments (userId: string, { tenantId, limit, cursor }: PageRequest & { tenantId: string | null }): Promise<Page<AssignmentView>> {
      const keys = keyset(roleAssignments.createdAt, roleAssignments.id, cursor)
      const rows = await db.select({
        id: roleAssignments.id,
        role: roles.name,
        tenantId: roleAssignments.tenantId,
        expiresAt: roleAssignments.expiresAt,
        createdAt: roleAssignments.createdAt
      }).from(roleAssignments)
        .innerJoin(roles, eq(roles.id, roleAssignments.roleId))
        .where(and(eq(roleAssignments.userId, userId), tenantId === null ? undefined : eq(roleAssignments.tenantId, tenantId), keys.where))
        .orderBy(...keys.orderBy)
        .limit(limit + 1)
      return pageByCreation(rows, limit)
    },

    async findAssignment (key: AssignmentKey): Promise<AssignmentRow | null> {
      const [row] = await db.select().from(roleAssignments).where(sameAssignment(key))
      return row ?? null
    },

    /**
     * Creates the assignment or replaces its expiry, in one transaction with the read of what it
     * was (`before`, null when new). Rejects with a foreign key violation when the user, role or
     * tenant is gone.
     */
    async assign (key: AssignmentKey, expiresAt: Date | null, createdBy: string) {
      return db.transaction(async tx => {
        const [before] = await tx.select().from(roleAssignments).where(sameAssignment(key))
        const [after] = await tx.insert(roleAssignments)
          .values({ ...key, expiresAt, createdBy })
          .onConflictDoUpdate({ target: [roleAssignments.userId, roleAssignments.roleId, roleAssignments.tenantId], set: { expiresAt } })
          .returning({ tenantId: roleAssignments.tenantId, expiresAt: roleAssignments.expiresAt, createdAt: roleAssignments.createdAt, inserted: sql<boolean>`(xmax = 0)` })
        return { before: before ?? null, after }
      })
    },

    /** Whether there was such an assignment to remove. */
    async unassign (key: AssignmentKey): Promise<boolean> {
      const removed = await db.delete(roleAssignments).where(sameAssignment(key)).returning({ id: roleAssignments.id })
      return removed.length > 0
    }
  }
}

export type UsersRepository = ReturnType<typeof createUsersRepository>

declare module 'fastify' {
  interface FastifyInstance {
    usersRepository: UsersRepository
  }
}

export default repositoryPlugin('usersRepository', createUsersRepository)

import { and, asc, eq, exists, gt, ilike, inArray, isNotNull, isNull, ne, or, sql, type SQL, type SQLWrapper } from 'drizzle-orm'
import { alias } from 'drizzle-orm/pg-core'
import type { Db, DbOrTx } from '../db/client.js'
import { roleAssignments, roles, sessions, users } from '../db/schema/index.js'
import { listedUserColumns, memberOf, type ListedUser, type UserRow } from '../services/admin/scope.js'
import { revokeUserSessions } from './sessions.js'
import { defaultTenant, findTenant, type Tenant } from './tenants.js'
import { keyset, pageByCreation, type Page, type PageRequest } from './paging.js'
import { decodeCursor } from '../lib/cursor.js'
import { repositoryPlugin } from './plugin.js'

/** role_assignments under other names, for subqueries inside a query of role_assignments */
const holding = alias(roleAssignments, 'holding')
const membership = alias(roleAssignments, 'membership')

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

/**
 * Login without `requested` lands in the user's first tenant, else the default tenant. Membership
 * is a role assignment in the tenant that has not expired. Naming the tenant one would land in
 * anyway is allowed (a global admin may say `tenant=default`). Null: not a member of that tenant.
 */
async function loginTenant (db: Db, userId: string, requested: string | undefined): Promise<Tenant | null> {
  const current = or(isNull(roleAssignments.expiresAt), gt(roleAssignments.expiresAt, new Date()))
  if (requested !== undefined) {
    const tenant = await findTenant(db, requested)
    if (!tenant) return null
    const [member] = await db.select({ id: roleAssignments.id }).from(roleAssignments)
      .where(and(eq(roleAssignments.userId, userId), eq(roleAssignments.tenantId, tenant.id), current)).limit(1)
    if (member) return tenant
    return (await loginTenant(db, userId, undefined))?.id === tenant.id ? tenant : null
  }
  const [first] = await db.select({ tenantId: roleAssignments.tenantId }).from(roleAssignments)
    .where(and(eq(roleAssignments.userId, userId), isNotNull(roleAssignments.tenantId), current))
    .orderBy(asc(roleAssignments.createdAt)).limit(1)
  if (first?.tenantId) return findTenant(db, first.tenantId)
  return defaultTenant(db)
}

/** An assignment as the engine reads it: role name, tenant (null: global), expiry in epoch ms. */
export interface CurrentAssignment {
  role: string
  tenantId: string | null
  expiresAt: number | null
}

/** A user found by a login name: what the password grant checks. */
export interface LoginUser {
  id: string
  passwordHash: string
  isActive: boolean
  credentialsVersion: number
}

/** An active user holding a permission, with the assigned roles that grant it. */
export interface Holder {
  id: string
  username: string
  email: string
  via: string[]
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
  /** The assignments of these users (ids, or a subquery of them) not expired at `now`, with role names. */
  const unexpiredAssignmentsOf = (userIds: string[] | SQLWrapper, now: Date) => db.select({
    userId: roleAssignments.userId,
    role: roles.name,
    tenantId: roleAssignments.tenantId,
    expiresAt: roleAssignments.expiresAt
  }).from(roleAssignments)
    .innerJoin(roles, eq(roles.id, roleAssignments.roleId))
    .where(and(inArray(roleAssignments.userId, userIds), or(isNull(roleAssignments.expiresAt), gt(roleAssignments.expiresAt, now))))
    .$dynamic()

  // the user list without search, built and prepared once per shape: [no cursor, cursor] x [all, one tenant]
  const listStatements = [false, true].flatMap(inTenant => [false, true].map(withCursor => db.select(listedUserColumns).from(users)
    .where(and(
      withCursor ? sql`(${users.createdAt}, ${users.id}) > (${sql.placeholder('at')}::timestamptz, ${sql.placeholder('afterId')}::uuid)` : undefined,
      inTenant
        ? exists(db.select({ one: sql`1` }).from(roleAssignments)
          .where(and(eq(roleAssignments.userId, users.id), eq(roleAssignments.tenantId, sql.placeholder('tenantId')))))
        : undefined
    ))
    .orderBy(asc(users.createdAt), asc(users.id))
    .limit(sql.placeholder('limit'))
    .prepare(`warden_user_list_${inTenant ? 'tenant' : 'all'}_${withCursor ? 'after' : 'first'}`)))

  return {
    /**
     * Oldest first; the members of `memberOf` only unless it is null; `q` searches email,
     * username and full name. Without `q`: one of four statements prepared once.
     */
    async list ({ memberOf: tenantId, q, limit, cursor }: PageRequest & { memberOf: string | null, q?: string }): Promise<Page<ListedUser>> {
      if (q === undefined || q === '') {
        const after = cursor === undefined ? null : decodeCursor(cursor, 'uuid')
        const statement = listStatements[(after === null ? 0 : 1) + (tenantId === null ? 0 : 2)]
        const rows = await statement.execute({ limit: limit + 1, at: after?.at.toISOString(), afterId: after?.id, tenantId })
        return pageByCreation(rows, limit)
      }
      const keys = keyset(users.createdAt, users.id, cursor)
      const rows = await db.select(listedUserColumns).from(users)
        .where(and(keys.where, tenantId === null ? undefined : memberOf(db, tenantId), userSearch(q)))
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

    /** The user with this id; null for none. */
    async find (id: string): Promise<UserRow | null> {
      const [row] = await db.select().from(users).where(eq(users.id, id))
      return row ?? null
    },

    /** The user whose email (a login with `@`, lower-cased) or username (ignoring case) is `login`. */
    async findByLogin (login: string): Promise<LoginUser | null> {
      const [row] = await db.select({ id: users.id, passwordHash: users.passwordHash, isActive: users.isActive, credentialsVersion: users.credentialsVersion })
        .from(users)
        .where(login.includes('@') ? eq(users.email, login) : sql`lower(${users.username}) = ${login}`)
        .limit(1)
      return row ?? null
    },

    /** Stores the same password re-hashed, unless the credentials changed meanwhile (the version stays). */
    async rehash (user: Pick<LoginUser, 'id' | 'credentialsVersion'>, passwordHash: string): Promise<void> {
      await db.update(users).set({ passwordHash }).where(and(eq(users.id, user.id), eq(users.credentialsVersion, user.credentialsVersion)))
    },

    /**
     * Self-registration: creates the user and, in the same transaction, assigns them the role
     * `user` in the tenant (when that role exists). Rejects with a unique violation for a taken
     * email or username.
     */
    async register (user: Pick<NewUser, 'email' | 'username' | 'fullName' | 'passwordHash'>, tenantId: string): Promise<UserRow> {
      return db.transaction(async tx => {
        const [row] = await tx.insert(users).values(user).returning()
        const [role] = await tx.select({ id: roles.id }).from(roles).where(eq(roles.name, 'user'))
        if (role) await tx.insert(roleAssignments).values({ userId: row.id, roleId: role.id, tenantId })
        return row
      })
    },

    /** The user's own change (full name, email). Rejects with a unique violation for a taken email. */
    async updateSelf (id: string, change: Pick<UserChange, 'fullName' | 'email'>): Promise<UserRow> {
      const patch: Partial<UserRow> = { updatedAt: new Date() }
      if (change.fullName !== undefined) patch.fullName = change.fullName
      if (change.email !== undefined) patch.email = change.email
      const [row] = await db.update(users).set(patch).where(eq(users.id, id)).returning()
      return row
    },

    /**
     * Sets the password, bumps the credentials version and ends the user's sessions but `keep`,
     * in one transaction: a login verified against the old password either opened its session
     * before (ended here) or finds the version bumped and opens none (see createSession).
     * The ids of the sessions that ended.
     */
    async changePassword (id: string, passwordHash: string, keep: string): Promise<string[]> {
      return db.transaction(async tx => {
        await tx.update(users).set({ passwordHash, credentialsVersion: sql`${users.credentialsVersion} + 1`, updatedAt: new Date() })
          .where(eq(users.id, id))
        return revokeUserSessions(tx, id, 'password changed', keep)
      })
    },

    /** Names of the roles the user holds in the tenant or globally, by assignments that have not expired. */
    async heldRoles (userId: string, tenantId: string): Promise<string[]> {
      const now = new Date()
      const held = await db.selectDistinct({ name: roles.name }).from(roleAssignments)
        .innerJoin(roles, eq(roles.id, roleAssignments.roleId))
        .where(and(
          eq(roleAssignments.userId, userId),
          or(isNull(roleAssignments.tenantId), eq(roleAssignments.tenantId, tenantId)),
          or(isNull(roleAssignments.expiresAt), gt(roleAssignments.expiresAt, now))
        ))
      return held.map(r => r.name)
    },

    loginTenant: (userId: string, requested: string | undefined) => loginTenant(db, userId, requested),

    /**
     * Active users assigned one of `roleNames` globally or in the tenant (assignments that have
     * not expired), by id after `after`, up to `limit` rows; `via` the assigned roles among them.
     */
    async holders ({ roleNames, tenantId, after, limit }: { roleNames: string[], tenantId: string, after: string | null, limit: number }): Promise<Holder[]> {
      return db.select({
        id: users.id,
        username: users.username,
        email: users.email,
        via: sql<string[]>`array_agg(distinct ${roles.name})`
      }).from(roleAssignments)
        .innerJoin(users, eq(users.id, roleAssignments.userId))
        .innerJoin(roles, eq(roles.id, roleAssignments.roleId))
        .where(and(
          inArray(roles.name, roleNames),
          or(isNull(roleAssignments.tenantId), eq(roleAssignments.tenantId, tenantId)),
          or(isNull(roleAssignments.expiresAt), gt(roleAssignments.expiresAt, new Date())),
          eq(users.isActive, true),
          after === null ? undefined : gt(users.id, after)
        ))
        .groupBy(users.id)
        .orderBy(asc(users.id))
        .limit(limit)
    },

    /**
     * A page of the users holding one of the roles (ids) by an assignment that has not expired at
     * `now`: up to `limit` users in id order after `after`, each with all of their assignments
     * unexpired at `now`, in one statement. With `tenantId`: only assignments of those roles that
     * apply there (global or in it), and only members of that tenant (users with an assignment in it).
     */
    async holdersPage ({ roleIds, tenantId, after, limit, now }: { roleIds: string[], tenantId: string | null, after: string | null, limit: number, now: Date }): Promise<Map<string, CurrentAssignment[]>> {
      const byUser = new Map<string, CurrentAssignment[]>()
      if (roleIds.length === 0) return byUser
      const page = db.selectDistinct({ userId: holding.userId }).from(holding)
        .where(and(
          inArray(holding.roleId, roleIds),
          or(isNull(holding.expiresAt), gt(holding.expiresAt, now)),
          after === null ? undefined : gt(holding.userId, after),
          tenantId === null ? undefined : or(isNull(holding.tenantId), eq(holding.tenantId, tenantId)),
          tenantId === null
            ? undefined
            : exists(db.select({ one: sql`1` }).from(membership)
              .where(and(eq(membership.userId, holding.userId), eq(membership.tenantId, tenantId))))
        ))
        .orderBy(asc(holding.userId))
        .limit(limit)
      const rows = await unexpiredAssignmentsOf(page, now).orderBy(asc(roleAssignments.userId))
      for (const r of rows) {
        let list = byUser.get(r.userId)
        if (list === undefined) byUser.set(r.userId, list = [])
        list.push({ role: r.role, tenantId: r.tenantId, expiresAt: r.expiresAt?.getTime() ?? null })
      }
      return byUser
    },

    /** The assignments of these users that have not expired at `now`, with role names, by user id. */
    async currentAssignments (userIds: readonly string[], now: Date): Promise<Map<string, CurrentAssignment[]>> {
      const byUser = new Map<string, CurrentAssignment[]>(userIds.map(id => [id, []]))
      if (userIds.length === 0) return byUser
      const rows = await unexpiredAssignmentsOf([...userIds], now)
      for (const r of rows) byUser.get(r.userId)?.push({ role: r.role, tenantId: r.tenantId, expiresAt: r.expiresAt?.getTime() ?? null })
      return byUser
    },

    /** The usernames of these users, by id (users that are gone are absent). */
    async usernames (ids: readonly string[]): Promise<Map<string, string>> {
      if (ids.length === 0) return new Map()
      const rows = await db.select({ id: users.id, username: users.username }).from(users).where(inArray(users.id, [...ids]))
      return new Map(rows.map(r => [r.id, r.username]))
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

import { and, eq, ilike, isNull, ne, or, type SQL } from 'drizzle-orm'
import type { DbOrTx } from '../../db/client.js'
import { roleAssignments, users } from '../../db/schema/index.js'
import type { User } from '../../schemas/auth.js'
import type { UserRow } from './scope.js'

/** The API shape of a user: never the password hash. */
export function userView (u: UserRow): User {
  return {
    id: u.id,
    email: u.email,
    username: u.username,
    fullName: u.fullName,
    isActive: u.isActive,
    createdAt: u.createdAt.toISOString(),
    updatedAt: u.updatedAt.toISOString()
  }
}

const escapeLike = (text: string) => text.replace(/[\\%_]/g, c => '\\' + c)

/** SQL: the search text occurs in the email, username or full name, ignoring case. */
export function userSearch (q: string): SQL | undefined {
  const pattern = `%${escapeLike(q)}%`
  return or(ilike(users.email, pattern), ilike(users.username, pattern), ilike(users.fullName, pattern))
}

/**
 * Whether the user holds an assignment outside `tenantId` (a global one or another tenant's):
 * such a user is shared, and a tenant-scoped administrator may not disable, rename or delete
 * an account that other tenants rely on.
 */
export async function belongsElsewhere (db: DbOrTx, userId: string, tenantId: string): Promise<boolean> {
  const [row] = await db.select({ id: roleAssignments.id }).from(roleAssignments)
    .where(and(eq(roleAssignments.userId, userId), or(isNull(roleAssignments.tenantId), ne(roleAssignments.tenantId, tenantId))))
    .limit(1)
  return row !== undefined
}

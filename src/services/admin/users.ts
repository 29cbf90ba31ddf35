import type { Condition, EffectiveSet } from '../../authz/index.js'
import type { EffectivePermissions } from '../../schemas/admin.js'
import type { User } from '../../schemas/auth.js'
import type { ListedUser } from './scope.js'

/** The API shape of a user: never the password hash. */
export function userView (u: ListedUser): User {
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

/** The API shape of a user's effective permissions in `tenantId`, each with the role paths that grant it. */
export function effectivePermissionsView (tenantId: string, effective: EffectiveSet): EffectivePermissions {
  return {
    tenant: tenantId,
    permissions: effective.explainAll().map(({ name, via }) => ({
      name,
      via: via.map(v => ({
        path: v.path,
        tenant: v.tenantId,
        expiresAt: v.expiresAt === null ? null : new Date(v.expiresAt).toISOString(),
        condition: v.condition as Condition | null
      }))
    }))
  }
}

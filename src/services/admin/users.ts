import type { User } from '../../schemas/auth.js'
import type { UserRow } from './scope.js'

/** The API shape of a user: never the password hash. */
export function userView (u: Pick<UserRow, 'id' | 'email' | 'username' | 'fullName' | 'isActive' | 'createdAt' | 'updatedAt'>): User {
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

import { sql } from 'drizzle-orm'
import { check, index, jsonb, pgTable, primaryKey, text, timestamp, unique, uuid } from 'drizzle-orm/pg-core'
import { tenants, users } from './identity.js'

const createdAt = () => timestamp({ withTimezone: true, mode: 'date', precision: 3 }).notNull().defaultNow()

export const permissions = pgTable('permissions', {
  name: text().primaryKey(),
  description: text().notNull().default(''),
  createdAt: createdAt()
}, t => [
  check('permissions_name_format', sql`${t.name} ~ '^([a-z0-9_-]+:([a-z0-9_-]+|\\*)|\\*)$'`)
])

export const roles = pgTable('roles', {
  id: uuid().primaryKey().defaultRandom(),
  name: text().notNull().unique(),
  description: text().notNull().default(''),
  createdAt: createdAt(),
  updatedAt: createdAt()
})

/** A grant of one permission to one role, optionally under a declarative condition (docs/conditions.md). */
export const rolePermissions = pgTable('role_permissions', {
  roleId: uuid().notNull().references(() => roles.id, { onDelete: 'cascade' }),
  permission: text().notNull().references(() => permissions.name, { onDelete: 'restrict' }),
  condition: jsonb(),
  createdAt: createdAt()
}, t => [
  primaryKey({ columns: [t.roleId, t.permission] }),
  index('role_permissions_permission').on(t.permission)
])

/** roleId inherits every grant of parentId. Cycles are refused by the application before writing. */
export const roleInheritance = pgTable('role_inheritance', {
  roleId: uuid().notNull().references(() => roles.id, { onDelete: 'cascade' }),
  parentId: uuid().notNull().references(() => roles.id, { onDelete: 'restrict' })
}, t => [
  primaryKey({ columns: [t.roleId, t.parentId] }),
  index('role_inheritance_parent').on(t.parentId),
  check('role_inheritance_not_self', sql`${t.roleId} <> ${t.parentId}`)
])

/** A role held by a user, globally (tenantId null) or within one tenant, optionally until expiresAt. */
export const roleAssignments = pgTable('role_assignments', {
  id: uuid().primaryKey().defaultRandom(),
  userId: uuid().notNull().references(() => users.id, { onDelete: 'cascade' }),
  roleId: uuid().notNull().references(() => roles.id, { onDelete: 'cascade' }),
  tenantId: uuid().references(() => tenants.id, { onDelete: 'cascade' }),
  expiresAt: timestamp({ withTimezone: true, mode: 'date', precision: 3 }),
  createdBy: uuid(),
  createdAt: createdAt()
}, t => [
  unique('role_assignments_user_role_tenant').on(t.userId, t.roleId, t.tenantId).nullsNotDistinct(),
  index('role_assignments_tenant_user').on(t.tenantId, t.userId),
  index('role_assignments_role').on(t.roleId)
])

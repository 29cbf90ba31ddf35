import { sql } from 'drizzle-orm'
import { boolean, index, integer, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core'

const createdAt = () => timestamp({ withTimezone: true, mode: 'date', precision: 3 }).notNull().defaultNow()

export const tenants = pgTable('tenants', {
  id: uuid().primaryKey().defaultRandom(),
  slug: text().notNull().unique(),
  name: text().notNull(),
  isDefault: boolean().notNull().default(false),
  createdAt: createdAt(),
  updatedAt: createdAt()
}, t => [
  // at most one default tenant
  uniqueIndex('tenants_one_default').on(t.isDefault).where(sql`${t.isDefault}`)
])

export const users = pgTable('users', {
  id: uuid().primaryKey().defaultRandom(),
  // stored lower-cased by the application; unique on its own
  email: text().notNull().unique(),
  username: text().notNull(),
  fullName: text(),
  passwordHash: text().notNull(),
  // bumped whenever the password (or another credential) changes: a login verified against an
  // older version must not open a session
  credentialsVersion: integer().notNull().default(0),
  isActive: boolean().notNull().default(true),
  createdAt: createdAt(),
  updatedAt: createdAt()
}, t => [
  uniqueIndex('users_username_lower').on(sql`lower(${t.username})`),
  index('users_created_at_id').on(t.createdAt, t.id)
])

/**
 * The columns of a user that the API shows (never the password hash or the credentials
 * version): what user lists and the cached profile read, so a page of users carries no hashes.
 */
export const userViewColumns = {
  id: users.id,
  email: users.email,
  username: users.username,
  fullName: users.fullName,
  isActive: users.isActive,
  createdAt: users.createdAt,
  updatedAt: users.updatedAt
}

import { bigint, boolean, index, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core'
import { tenants, users } from './identity.js'

export const auditEvents = pgTable('audit_events', {
  id: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  at: timestamp({ withTimezone: true, mode: 'date', precision: 3 }).notNull().defaultNow(),
  actorId: text(),
  actorKind: text(),
  action: text().notNull(),
  targetType: text(),
  targetId: text(),
  tenantId: uuid(),
  outcome: text().notNull(),
  before: jsonb(),
  after: jsonb(),
  detail: text(),
  requestId: text(),
  ip: text()
}, t => [
  index('audit_at').on(t.at, t.id),
  index('audit_actor').on(t.actorId, t.id),
  index('audit_target').on(t.targetId, t.id),
  index('audit_action').on(t.action, t.id)
])

export const posts = pgTable('posts', {
  id: uuid().primaryKey().defaultRandom(),
  title: text().notNull(),
  content: text().notNull(),
  isPublished: boolean().notNull().default(false),
  authorId: uuid().notNull().references(() => users.id, { onDelete: 'cascade' }),
  tenantId: uuid().notNull().references(() => tenants.id, { onDelete: 'cascade' }),
  createdAt: timestamp({ withTimezone: true, mode: 'date', precision: 3 }).notNull().defaultNow(),
  updatedAt: timestamp({ withTimezone: true, mode: 'date', precision: 3 }).notNull().defaultNow()
}, t => [
  index('posts_tenant_created').on(t.tenantId, t.createdAt, t.id),
  index('posts_author').on(t.authorId)
])

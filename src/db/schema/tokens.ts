import { boolean, index, integer, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core'
import { tenants, users } from './identity.js'

const createdAt = () => timestamp({ withTimezone: true, mode: 'date', precision: 3 }).notNull().defaultNow()
const ts = () => timestamp({ withTimezone: true, mode: 'date', precision: 3 })

/** A login session: one refresh-token family. Its id is the access token's `sid`. */
export const sessions = pgTable('sessions', {
  id: uuid().primaryKey().defaultRandom(),
  userId: uuid().notNull().references(() => users.id, { onDelete: 'cascade' }),
  tenantId: uuid().notNull().references(() => tenants.id, { onDelete: 'cascade' }),
  // null: the session carries all of the user's effective permissions
  scopes: text().array(),
  userAgent: text(),
  ip: text(),
  createdAt: createdAt(),
  lastUsedAt: createdAt(),
  expiresAt: ts().notNull(),
  revokedAt: ts(),
  revokedReason: text()
}, t => [
  index('sessions_user').on(t.userId, t.createdAt)
])

/** Opaque refresh tokens, stored only as SHA-256 hashes; each use rotates to a new row. */
export const refreshTokens = pgTable('refresh_tokens', {
  id: uuid().primaryKey().defaultRandom(),
  sessionId: uuid().notNull().references(() => sessions.id, { onDelete: 'cascade' }),
  tokenHash: text().notNull().unique(),
  createdAt: createdAt(),
  expiresAt: ts().notNull(),
  // set when the token is exchanged for its successor; presenting it again is reuse
  rotatedAt: ts()
}, t => [
  index('refresh_tokens_session').on(t.sessionId)
])

/**
 * Revoked access tokens (RFC 7009), kept until the token would have expired anyway. Every
 * instance holds the live ones in memory, so the hot path checks a Set, not this table.
 */
export const revokedTokens = pgTable('revoked_tokens', {
  jti: text().primaryKey(),
  expiresAt: ts().notNull(),
  revokedAt: createdAt()
}, t => [
  index('revoked_tokens_expires').on(t.expiresAt)
])

export const signingKeys = pgTable('signing_keys', {
  kid: text().primaryKey(),
  alg: text().notNull(),
  publicJwk: jsonb().notNull(),
  // PKCS#8 PEM, or AES-256-GCM ciphertext (base64url iv.tag.data) when encrypted is true
  privateKey: text().notNull(),
  encrypted: boolean().notNull().default(false),
  createdAt: createdAt(),
  activatedAt: ts(),
  // no token signed by this key is valid after this instant; null until a rotation announces its successor
  retiresAt: ts(),
  retiredAt: ts()
})

/** Service accounts for the client-credentials grant. */
export const clients = pgTable('clients', {
  id: uuid().primaryKey().defaultRandom(),
  name: text().notNull(),
  secretHash: text().notNull(),
  scopes: text().array().notNull(),
  tenantId: uuid().notNull().references(() => tenants.id, { onDelete: 'cascade' }),
  createdBy: uuid(),
  createdAt: createdAt(),
  secretRotatedAt: ts(),
  tokenVersion: integer().notNull().default(0)
}, t => [
  index('clients_tenant').on(t.tenantId, t.createdAt)
])

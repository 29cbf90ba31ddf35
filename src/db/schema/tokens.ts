import { sql } from 'drizzle-orm'
import { boolean, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uuid, type AnyPgColumn } from 'drizzle-orm/pg-core'
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
  // sessions begun by the authorization code flow: the client, the browser session that signed
  // in (signing out there ends this one too) and how the user authenticated
  clientId: uuid().references((): AnyPgColumn => clients.id, { onDelete: 'cascade' }),
  browserSessionId: uuid().references((): AnyPgColumn => browserSessions.id, { onDelete: 'set null' }),
  authTime: ts(),
  amr: text().array(),
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

/**
 * OAuth clients: service accounts (client credentials) and applications that sign people in
 * (authorization code + PKCE). A public client has no secret.
 */
export const clients = pgTable('clients', {
  id: uuid().primaryKey().defaultRandom(),
  name: text().notNull(),
  // 'confidential' | 'public'
  type: text().notNull().default('confidential'),
  // null for a public client
  secretHash: text(),
  scopes: text().array().notNull(),
  redirectUris: text().array().notNull().default(sql`'{}'::text[]`),
  postLogoutRedirectUris: text().array().notNull().default(sql`'{}'::text[]`),
  // of 'authorization_code', 'refresh_token', 'client_credentials'
  grantTypes: text().array().notNull().default(sql`'{client_credentials}'::text[]`),
  // a first-party client skips the consent page
  firstParty: boolean().notNull().default(false),
  tenantId: uuid().notNull().references(() => tenants.id, { onDelete: 'cascade' }),
  createdBy: uuid(),
  createdAt: createdAt(),
  secretRotatedAt: ts(),
  tokenVersion: integer().notNull().default(0)
}, t => [
  index('clients_tenant').on(t.tenantId, t.createdAt)
])

/**
 * A browser's sign-in at Warden (the `__Host-warden_session` cookie), stored as the SHA-256 hash
 * of the cookie's value. The code flow's sessions remember the browser session they came from.
 */
export const browserSessions = pgTable('browser_sessions', {
  id: uuid().primaryKey().defaultRandom(),
  userId: uuid().notNull().references(() => users.id, { onDelete: 'cascade' }),
  tokenHash: text().notNull().unique(),
  // when and how the user last authenticated (OIDC auth_time, amr)
  authTime: ts().notNull(),
  amr: text().array().notNull(),
  credentialsVersion: integer().notNull(),
  createdAt: createdAt(),
  expiresAt: ts().notNull(),
  revokedAt: ts()
}, t => [
  index('browser_sessions_user').on(t.userId)
])

/**
 * Authorization codes (RFC 6749 section 4.1), stored as SHA-256 hashes: 60 seconds, single use.
 * `sessionId` is the session the first redemption began, which a second redemption ends.
 */
export const authorizationCodes = pgTable('authorization_codes', {
  codeHash: text().primaryKey(),
  clientId: uuid().notNull().references(() => clients.id, { onDelete: 'cascade' }),
  userId: uuid().notNull().references(() => users.id, { onDelete: 'cascade' }),
  tenantId: uuid().notNull().references(() => tenants.id, { onDelete: 'cascade' }),
  browserSessionId: uuid().references(() => browserSessions.id, { onDelete: 'set null' }),
  redirectUri: text().notNull(),
  codeChallenge: text().notNull(),
  scopes: text().array().notNull(),
  nonce: text(),
  authTime: ts().notNull(),
  amr: text().array().notNull(),
  // the user's credentials version at sign-in: a password change in between voids the code
  credentialsVersion: integer().notNull(),
  createdAt: createdAt(),
  expiresAt: ts().notNull(),
  usedAt: ts(),
  sessionId: uuid().references(() => sessions.id, { onDelete: 'set null' })
}, t => [
  index('authorization_codes_expires').on(t.expiresAt)
])

/** What a user allowed a (third-party) client to ask for; remembered until revoked. */
export const consents = pgTable('consents', {
  userId: uuid().notNull().references(() => users.id, { onDelete: 'cascade' }),
  clientId: uuid().notNull().references(() => clients.id, { onDelete: 'cascade' }),
  scopes: text().array().notNull(),
  createdAt: createdAt(),
  updatedAt: createdAt()
}, t => [
  primaryKey({ columns: [t.userId, t.clientId] })
])

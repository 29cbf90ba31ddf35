import { boolean, index, integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core'
import { users } from './identity.js'

const createdAt = () => timestamp({ withTimezone: true, mode: 'date', precision: 3 }).notNull().defaultNow()
const ts = () => timestamp({ withTimezone: true, mode: 'date', precision: 3 })

/**
 * A user's TOTP authenticator (RFC 6238): pending until a first code confirms it. The secret is
 * sealed with KEY_ENCRYPTION_SECRET when set (`encrypted`). `lastStep` is the time step of the
 * last code accepted: a code of that step or an earlier one is a replay.
 */
export const userTotp = pgTable('user_totp', {
  userId: uuid().primaryKey().references(() => users.id, { onDelete: 'cascade' }),
  secret: text().notNull(),
  encrypted: boolean().notNull().default(false),
  confirmedAt: ts(),
  lastStep: integer().notNull().default(0),
  createdAt: createdAt()
})

/** Recovery codes, stored as SHA-256 hashes; each works once in place of a TOTP code. */
export const recoveryCodes = pgTable('recovery_codes', {
  id: uuid().primaryKey().defaultRandom(),
  userId: uuid().notNull().references(() => users.id, { onDelete: 'cascade' }),
  codeHash: text().notNull(),
  usedAt: ts(),
  createdAt: createdAt()
}, t => [
  index('recovery_codes_user').on(t.userId)
])

/**
 * The sign-in page's second step: the password was right and a TOTP code is due. The form
 * carries the challenge (hashed here), never the password; it lives five minutes.
 */
export const mfaChallenges = pgTable('mfa_challenges', {
  tokenHash: text().primaryKey(),
  userId: uuid().notNull().references(() => users.id, { onDelete: 'cascade' }),
  credentialsVersion: integer().notNull(),
  createdAt: createdAt(),
  expiresAt: ts().notNull()
})

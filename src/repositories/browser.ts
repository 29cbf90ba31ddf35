import { createHash, randomBytes } from 'node:crypto'
import { and, asc, eq, gt, isNull, lt, sql } from 'drizzle-orm'
import type { Db } from '../db/client.js'
import { authorizationCodes, browserSessions, clients, consents, sessions, users } from '../db/schema/index.js'
import { revokeSessions } from './sessions.js'
import { repositoryPlugin } from './plugin.js'

/**
 * The browser side of sign-in: browser sessions (the `__Host-warden_session` cookie),
 * authorization codes and remembered consents. Cookie values and codes are 256 random bits,
 * stored only as SHA-256 hashes.
 */

export type BrowserSessionRow = typeof browserSessions.$inferSelect
export type AuthorizationCodeRow = typeof authorizationCodes.$inferSelect

const sha256 = (value: string) => createHash('sha256').update(value).digest('base64url')
const randomToken = () => randomBytes(32).toString('base64url')

export interface NewCode {
  clientId: string
  userId: string
  tenantId: string
  browserSessionId: string | null
  redirectUri: string
  codeChallenge: string
  scopes: string[]
  nonce: string | null
  authTime: Date
  amr: string[]
  credentialsVersion: number
  ttlSeconds: number
}

export type Redemption =
  | { ok: true, code: AuthorizationCodeRow }
  /** used before: the session its first redemption began (to end), if any */
  | { ok: false, reason: 'unknown' | 'expired' }
  | { ok: false, reason: 'reused', code: AuthorizationCodeRow }

export function createBrowserRepository (db: Db) {
  return {
    /** Opens a browser session; the cookie value is returned once. */
    async createSession (s: { userId: string, authTime: Date, amr: string[], credentialsVersion: number, ttlSeconds: number }): Promise<{ session: BrowserSessionRow, token: string }> {
      const token = randomToken()
      const [session] = await db.insert(browserSessions).values({
        userId: s.userId,
        tokenHash: sha256(token),
        authTime: s.authTime,
        amr: s.amr,
        credentialsVersion: s.credentialsVersion,
        expiresAt: new Date(Date.now() + s.ttlSeconds * 1000)
      }).returning()
      return { session, token }
    },

    /**
     * The live browser session of a cookie value: not ended, not expired, its user active and
     * with the credentials it signed in with (a password change or a disable ends it). Null otherwise.
     */
    async findSession (token: string): Promise<BrowserSessionRow | null> {
      const [row] = await db.select({ session: browserSessions }).from(browserSessions)
        .innerJoin(users, eq(users.id, browserSessions.userId))
        .where(and(
          eq(browserSessions.tokenHash, sha256(token)),
          isNull(browserSessions.revokedAt),
          gt(browserSessions.expiresAt, new Date()),
          eq(users.isActive, true),
          eq(users.credentialsVersion, browserSessions.credentialsVersion)
        ))
      return row?.session ?? null
    },

    /**
     * Ends the browser session and the sessions (refresh-token families) it began; the ids of
     * those that were live, for the change bus.
     */
    async endSession (id: string): Promise<string[]> {
      return db.transaction(async tx => {
        await tx.update(browserSessions).set({ revokedAt: new Date() })
          .where(and(eq(browserSessions.id, id), isNull(browserSessions.revokedAt)))
        const begun = await tx.select({ id: sessions.id }).from(sessions)
          .where(and(eq(sessions.browserSessionId, id), isNull(sessions.revokedAt)))
        return revokeSessions(tx, begun.map(s => s.id), 'signed out')
      })
    },

    /** Ends every browser session of the user (their sessions are ended by the caller). */
    async endAllOf (userId: string): Promise<void> {
      await db.update(browserSessions).set({ revokedAt: new Date() })
        .where(and(eq(browserSessions.userId, userId), isNull(browserSessions.revokedAt)))
    },

    /** Stores a new authorization code (hashed); the code is returned once. */
    async createCode (c: NewCode): Promise<string> {
      const code = randomToken()
      const { ttlSeconds, ...fields } = c
      await db.insert(authorizationCodes).values({ ...fields, codeHash: sha256(code), expiresAt: new Date(Date.now() + ttlSeconds * 1000) })
      // expired codes go as new ones come (an index on expires_at serves it)
      await db.delete(authorizationCodes).where(lt(authorizationCodes.expiresAt, new Date(Date.now() - 3600_000)))
      return code
    },

    /**
     * Claims a code: the conditional UPDATE lets exactly one of concurrent redemptions win. A
     * code claimed before is `reused` (the caller ends the session its first redemption began).
     */
    async redeemCode (code: string): Promise<Redemption> {
      const hash = sha256(code)
      const [claimed] = await db.update(authorizationCodes).set({ usedAt: new Date() })
        .where(and(eq(authorizationCodes.codeHash, hash), isNull(authorizationCodes.usedAt)))
        .returning()
      if (claimed !== undefined) {
        return claimed.expiresAt.getTime() <= Date.now() ? { ok: false, reason: 'expired' } : { ok: true, code: claimed }
      }
      const [used] = await db.select().from(authorizationCodes).where(eq(authorizationCodes.codeHash, hash))
      return used === undefined ? { ok: false, reason: 'unknown' } : { ok: false, reason: 'reused', code: used }
    },

    /** Remembers the session a code's redemption began. */
    async attachSession (code: AuthorizationCodeRow, sessionId: string): Promise<void> {
      await db.update(authorizationCodes).set({ sessionId }).where(eq(authorizationCodes.codeHash, code.codeHash))
    },

    /** The scopes the user allowed the client, or null when there is no consent. */
    async consentOf (userId: string, clientId: string): Promise<string[] | null> {
      const [row] = await db.select({ scopes: consents.scopes }).from(consents)
        .where(and(eq(consents.userId, userId), eq(consents.clientId, clientId)))
      return row?.scopes ?? null
    },

    /** Remembers a consent: the union with what was allowed before. */
    async remember (userId: string, clientId: string, scopes: string[]): Promise<void> {
      const now = new Date()
      await db.insert(consents).values({ userId, clientId, scopes, createdAt: now, updatedAt: now })
        .onConflictDoUpdate({
          target: [consents.userId, consents.clientId],
          set: { scopes: sql`ARRAY(SELECT DISTINCT unnest(${consents.scopes} || excluded.scopes) ORDER BY 1)`, updatedAt: now }
        })
    },

    /** The user's consents with their clients' names, oldest first. */
    async consents (userId: string) {
      return db.select({ clientId: consents.clientId, clientName: clients.name, scopes: consents.scopes, createdAt: consents.createdAt, updatedAt: consents.updatedAt })
        .from(consents).innerJoin(clients, eq(clients.id, consents.clientId))
        .where(eq(consents.userId, userId))
        .orderBy(asc(consents.createdAt))
    },

    /**
     * Revokes a consent and ends the sessions the client holds for the user; false when there
     * was none. The ids of the ended sessions, for the change bus.
     */
    async revokeConsent (userId: string, clientId: string): Promise<{ found: boolean, ended: string[] }> {
      return db.transaction(async tx => {
        const gone = await tx.delete(consents).where(and(eq(consents.userId, userId), eq(consents.clientId, clientId))).returning({ userId: consents.userId })
        if (gone.length === 0) return { found: false, ended: [] }
        const live = await tx.select({ id: sessions.id }).from(sessions)
          .where(and(eq(sessions.userId, userId), eq(sessions.clientId, clientId), isNull(sessions.revokedAt)))
        const ended = await revokeSessions(tx, live.map(s => s.id), 'consent revoked')
        return { found: true, ended }
      })
    }
  }
}

export type BrowserRepository = ReturnType<typeof createBrowserRepository>

declare module 'fastify' {
  interface FastifyInstance {
    browserRepository: BrowserRepository
  }
}

export default repositoryPlugin('browserRepository', createBrowserRepository)

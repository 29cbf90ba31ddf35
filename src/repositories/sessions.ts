import { createHash, randomBytes } from 'node:crypto'
import { and, desc, eq, gt, isNull, lt, ne, or, sql } from 'drizzle-orm'
import type { Db, DbOrTx } from '../db/client.js'
import { refreshTokens, revokedTokens, sessions, users } from '../db/schema/index.js'
import { decodeCursor, page } from '../lib/cursor.js'
import type { Page, PageRequest } from './paging.js'
import { repositoryPlugin } from './plugin.js'

export type SessionRow = typeof sessions.$inferSelect

/** Refresh tokens: 256 random bits, shown once, stored as SHA-256. */
export function newRefreshToken (): { token: string, hash: string } {
  const token = randomBytes(32).toString('base64url')
  return { token, hash: hashRefreshToken(token) }
}

export function hashRefreshToken (token: string): string {
  return createHash('sha256').update(token).digest('base64url')
}

export interface NewSession {
  userId: string
  /** the user's credentials version when the password was verified; the session opens only if it is still current */
  credentialsVersion: number
  tenantId: string
  scopes: string[] | null
  userAgent: string | null
  ip: string | null
  ttlSeconds: number
  /** the code flow: the client, the browser session that signed in, and how (OIDC auth_time, amr) */
  clientId?: string
  browserSessionId?: string | null
  authTime?: Date
  amr?: string[]
}

/** The password (or another credential) changed, or the user was disabled, after the login was verified. */
export class StaleCredentials extends Error {}

/**
 * Opens a session (refresh-token family) with its first refresh token, if the user is still
 * active and their credentials are those the login verified. The user row is read FOR SHARE in
 * the same transaction, so a password change (which bumps the version and ends the user's
 * sessions in one transaction) either commits first and this login fails, or waits for it and
 * then ends the session it opened.
 */
export async function createSession (db: Db, s: NewSession) {
  const expiresAt = new Date(Date.now() + s.ttlSeconds * 1000)
  const refresh = newRefreshToken()
  const session = await db.transaction(async tx => {
    const [user] = await tx.select({ version: users.credentialsVersion, active: users.isActive })
      .from(users).where(eq(users.id, s.userId)).for('share')
    if (user === undefined || !user.active || user.version !== s.credentialsVersion) throw new StaleCredentials()
    const [row] = await tx.insert(sessions).values({
      userId: s.userId,
      tenantId: s.tenantId,
      scopes: s.scopes,
      userAgent: s.userAgent?.slice(0, 256) ?? null,
      ip: s.ip,
      clientId: s.clientId ?? null,
      browserSessionId: s.browserSessionId ?? null,
      authTime: s.authTime ?? null,
      amr: s.amr ?? null,
      expiresAt
    }).returning()
    await tx.insert(refreshTokens).values({ sessionId: row.id, tokenHash: refresh.hash, expiresAt })
    return row
  })
  return { session, refreshToken: refresh.token }
}

/** The refresh token (by its hash) with its session; null for an unknown token. */
export async function findRefreshToken (db: DbOrTx, token: string) {
  const [found] = await db.select({ token: refreshTokens, session: sessions })
    .from(refreshTokens)
    .innerJoin(sessions, eq(sessions.id, refreshTokens.sessionId))
    .where(eq(refreshTokens.tokenHash, hashRefreshToken(token)))
  return found ?? null
}

export type RotateResult =
  | { ok: true, session: SessionRow, refreshToken: string }
  | { ok: false, reason: 'unknown' | 'expired' | 'revoked' | 'reused' | 'reused-in-grace', sessionId?: string }

/**
 * Exchanges a refresh token for its successor. The conditional UPDATE makes exactly one of
 * several concurrent exchanges win; a token presented after it was rotated is reuse, which
 * revokes the family unless it comes within the grace window (RFC 9700 section 4.14).
 * `accept` runs before the token is consumed: when it throws (a refused scope, a disabled
 * user), the token stays usable.
 */
export async function rotateRefreshToken (
  db: Db,
  token: string,
  graceSeconds: number,
  accept?: (session: SessionRow) => Promise<void>
): Promise<RotateResult> {
  const found = await findRefreshToken(db, token)
  if (!found) return { ok: false, reason: 'unknown' }
  const { token: row, session } = found
  const now = Date.now()
  if (session.revokedAt) return { ok: false, reason: 'revoked', sessionId: session.id }
  if (row.rotatedAt) {
    if (now - row.rotatedAt.getTime() < graceSeconds * 1000) return { ok: false, reason: 'reused-in-grace', sessionId: session.id }
    await revokeSessions(db, [session.id], 'refresh token reuse')
    return { ok: false, reason: 'reused', sessionId: session.id }
  }
  if (row.expiresAt.getTime() <= now || session.expiresAt.getTime() <= now) return { ok: false, reason: 'expired', sessionId: session.id }
  if (accept) await accept(session)

  const next = newRefreshToken()
  // One statement, so atomic without BEGIN/COMMIT (2 statements per refresh instead of 6): the
  // claim of the presented token, its successor and the session's last use. The successor is
  // inserted only from the claim's row, so of concurrent exchanges of one token exactly one
  // inserts: the others wait on the row lock and find it rotated (READ COMMITTED re-checks
  // `rotated_at IS NULL` after the lock). Column names are identifiers, values parameters.
  // timestamps as ISO text: Drizzle's drivers pass raw values through (columns map dates, raw SQL does not)
  const at = new Date().toISOString()
  const column = (name: string) => sql.identifier(name)
  const rows = await db.execute<{ id: string }>(sql`
    WITH claimed AS (
      UPDATE ${refreshTokens} SET ${column('rotated_at')} = ${at}::timestamptz
      WHERE ${refreshTokens.id} = ${row.id} AND ${refreshTokens.rotatedAt} IS NULL
      RETURNING ${refreshTokens.sessionId}
    ), successor AS (
      INSERT INTO ${refreshTokens} (${column('session_id')}, ${column('token_hash')}, ${column('expires_at')})
      SELECT claimed.session_id, ${next.hash}, ${session.expiresAt.toISOString()}::timestamptz FROM claimed
      RETURNING ${column('id')}
    ), used AS (
      UPDATE ${sessions} SET ${column('last_used_at')} = ${at}::timestamptz
      WHERE ${sessions.id} IN (SELECT claimed.session_id FROM claimed)
    )
    SELECT id FROM successor`)
  // postgres.js answers the rows, PGlite an object holding them
  const won = (Array.isArray(rows) ? rows : (rows as unknown as { rows: unknown[] }).rows).length === 1
  if (!won) return { ok: false, reason: 'reused-in-grace', sessionId: session.id }
  return { ok: true, session, refreshToken: next.token }
}

/** Revokes sessions by id; returns the ids that were live. */
export async function revokeSessions (db: DbOrTx, ids: string[], reason: string): Promise<string[]> {
  const revoked: string[] = []
  for (const id of ids) {
    const rows = await db.update(sessions).set({ revokedAt: new Date(), revokedReason: reason })
      .where(and(eq(sessions.id, id), isNull(sessions.revokedAt)))
      .returning({ id: sessions.id })
    revoked.push(...rows.map(r => r.id))
  }
  return revoked
}

/** Revokes every live session of a user, optionally keeping one. */
export async function revokeUserSessions (db: DbOrTx, userId: string, reason: string, keep?: string): Promise<string[]> {
  const rows = await db.update(sessions).set({ revokedAt: new Date(), revokedReason: reason })
    .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt), keep ? ne(sessions.id, keep) : undefined))
    .returning({ id: sessions.id })
  return rows.map(r => r.id)
}

export async function findSessionByRefreshToken (db: Db, token: string) {
  const [found] = await db.select({ session: sessions })
    .from(refreshTokens)
    .innerJoin(sessions, eq(sessions.id, refreshTokens.sessionId))
    .where(eq(refreshTokens.tokenHash, hashRefreshToken(token)))
  return found?.session ?? null
}

export function createSessionsRepository (db: Db) {
  return {
    create: (s: NewSession) => createSession(db, s),

    rotate: (token: string, graceSeconds: number, accept?: (session: SessionRow) => Promise<void>) => rotateRefreshToken(db, token, graceSeconds, accept),

    revoke: (ids: string[], reason: string) => revokeSessions(db, ids, reason),

    revokeAllOf: (userId: string, reason: string, keep?: string) => revokeUserSessions(db, userId, reason, keep),

    findByRefreshToken: (token: string) => findSessionByRefreshToken(db, token),

    findRefreshToken: (token: string) => findRefreshToken(db, token),

    /** The user's live sessions (not ended, not expired), newest first. */
    async listLive (userId: string, { limit, cursor }: PageRequest): Promise<Page<SessionRow>> {
      const after = cursor ? decodeCursor(cursor) : null
      const rows = await db.select().from(sessions)
        .where(and(
          eq(sessions.userId, userId),
          isNull(sessions.revokedAt),
          gt(sessions.expiresAt, new Date()),
          // timestamps are stored at millisecond precision, as the cursor carries them
          after ? or(lt(sessions.createdAt, after.at), and(eq(sessions.createdAt, after.at), lt(sessions.id, after.id))) : undefined
        ))
        .orderBy(desc(sessions.createdAt), desc(sessions.id))
        .limit(limit + 1)
      return page(rows, limit, r => ({ at: r.createdAt, id: r.id }))
    },

    /** The id of the user's session `id` if it has not ended; null otherwise. */
    async findOwn (id: string, userId: string): Promise<string | null> {
      const [own] = await db.select({ id: sessions.id }).from(sessions)
        .where(and(eq(sessions.id, id), eq(sessions.userId, userId), isNull(sessions.revokedAt)))
      return own?.id ?? null
    },

    /** Denies the access token `jti` until it expires (idempotent). */
    async revokeAccessToken (jti: string, expiresAt: Date): Promise<void> {
      await db.insert(revokedTokens).values({ jti, expiresAt }).onConflictDoNothing()
    }
  }
}

export type SessionsRepository = ReturnType<typeof createSessionsRepository>

declare module 'fastify' {
  interface FastifyInstance {
    sessionsRepository: SessionsRepository
  }
}

export default repositoryPlugin('sessionsRepository', createSessionsRepository)

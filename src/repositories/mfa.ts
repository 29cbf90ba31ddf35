import { createHash, randomBytes } from 'node:crypto'
import { and, count, eq, gt, isNotNull, isNull, lt } from 'drizzle-orm'
import type { Db } from '../db/client.js'
import { mfaChallenges, recoveryCodes, userTotp } from '../db/schema/index.js'
import { repositoryPlugin } from './plugin.js'

/**
 * Two-factor state: a user's TOTP authenticator, their recovery codes (hashed) and the sign-in
 * page's pending second steps (hashed).
 */

export type TotpRow = typeof userTotp.$inferSelect

const sha256 = (value: string) => createHash('sha256').update(value).digest('base64url')

export function createMfaRepository (db: Db) {
  return {
    async totpOf (userId: string): Promise<TotpRow | null> {
      const [row] = await db.select().from(userTotp).where(eq(userTotp.userId, userId))
      return row ?? null
    },

    /** Whether the user has a confirmed authenticator. */
    async enabled (userId: string): Promise<boolean> {
      const [row] = await db.select({ userId: userTotp.userId }).from(userTotp)
        .where(and(eq(userTotp.userId, userId), isNotNull(userTotp.confirmedAt)))
      return row !== undefined
    },

    /** Starts (or restarts) enrolment with a new pending secret; false when one is confirmed already. */
    async enrol (userId: string, secret: string, encrypted: boolean): Promise<boolean> {
      const rows = await db.insert(userTotp).values({ userId, secret, encrypted, createdAt: new Date() })
        .onConflictDoUpdate({ target: userTotp.userId, set: { secret, encrypted, lastStep: 0, createdAt: new Date() }, setWhere: isNull(userTotp.confirmedAt) })
        .returning({ userId: userTotp.userId })
      return rows.length === 1
    },

    /**
     * Confirms the pending authenticator with the step of its first code and replaces the
     * recovery codes, in one transaction; false when there is nothing pending (or the step was used).
     */
    async confirm (userId: string, step: number, codes: string[]): Promise<boolean> {
      return db.transaction(async tx => {
        const rows = await tx.update(userTotp).set({ confirmedAt: new Date(), lastStep: step })
          .where(and(eq(userTotp.userId, userId), isNull(userTotp.confirmedAt), lt(userTotp.lastStep, step)))
          .returning({ userId: userTotp.userId })
        if (rows.length === 0) return false
        await tx.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId))
        await tx.insert(recoveryCodes).values(codes.map(code => ({ userId, codeHash: sha256(code) })))
        return true
      })
    },

    /** Spends a time step: true for the first use of a step later than the last one (no replay). */
    async useStep (userId: string, step: number): Promise<boolean> {
      const rows = await db.update(userTotp).set({ lastStep: step })
        .where(and(eq(userTotp.userId, userId), isNotNull(userTotp.confirmedAt), lt(userTotp.lastStep, step)))
        .returning({ userId: userTotp.userId })
      return rows.length === 1
    },

    /** Spends a recovery code (normalized by the caller); false when it is unknown or used. */
    async useRecoveryCode (userId: string, code: string): Promise<boolean> {
      const rows = await db.update(recoveryCodes).set({ usedAt: new Date() })
        .where(and(eq(recoveryCodes.userId, userId), eq(recoveryCodes.codeHash, sha256(code)), isNull(recoveryCodes.usedAt)))
        .returning({ id: recoveryCodes.id })
      return rows.length === 1
    },

    async recoveryCodesLeft (userId: string): Promise<number> {
      const [row] = await db.select({ n: count() }).from(recoveryCodes)
        .where(and(eq(recoveryCodes.userId, userId), isNull(recoveryCodes.usedAt)))
      return Number(row?.n ?? 0)
    },

    /** Removes the authenticator and the recovery codes; false when there was none. */
    async remove (userId: string): Promise<boolean> {
      return db.transaction(async tx => {
        const gone = await tx.delete(userTotp).where(eq(userTotp.userId, userId)).returning({ userId: userTotp.userId })
        await tx.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId))
        return gone.length === 1
      })
    },

    /** A second step for the sign-in page (five minutes); the token is returned once. */
    async createChallenge (userId: string, credentialsVersion: number): Promise<string> {
      const token = randomBytes(32).toString('base64url')
      await db.delete(mfaChallenges).where(lt(mfaChallenges.expiresAt, new Date()))
      await db.insert(mfaChallenges).values({ tokenHash: sha256(token), userId, credentialsVersion, expiresAt: new Date(Date.now() + 300_000) })
      return token
    },

    /** The live challenge of a token, or null. */
    async challenge (token: string): Promise<{ userId: string, credentialsVersion: number } | null> {
      const [row] = await db.select({ userId: mfaChallenges.userId, credentialsVersion: mfaChallenges.credentialsVersion }).from(mfaChallenges)
        .where(and(eq(mfaChallenges.tokenHash, sha256(token)), gt(mfaChallenges.expiresAt, new Date())))
      return row ?? null
    },

    /** Ends a challenge (it was answered); false when it was gone already (a concurrent answer won). */
    async endChallenge (token: string): Promise<boolean> {
      const rows = await db.delete(mfaChallenges).where(eq(mfaChallenges.tokenHash, sha256(token))).returning({ userId: mfaChallenges.userId })
      return rows.length === 1
    }
  }
}

export type MfaRepository = ReturnType<typeof createMfaRepository>

declare module 'fastify' {
  interface FastifyInstance {
    mfaRepository: MfaRepository
  }
}

export default repositoryPlugin('mfaRepository', createMfaRepository)

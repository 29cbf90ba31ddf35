// The sessions' SQL lives in their repository; these stay importable from here.
export {
  createSession, findRefreshToken, findSessionByRefreshToken, hashRefreshToken, newRefreshToken, revokeSessions, revokeUserSessions,
  rotateRefreshToken, StaleCredentials, type NewSession, type RotateResult
} from '../repositories/sessions.js'
import type { SessionRow } from '../repositories/sessions.js'

/** A session as the API shows it (the Session schema); `current` when it is the caller's own. */
export function sessionView (s: SessionRow, currentSid: string | null | undefined) {
  return {
    id: s.id,
    tenantId: s.tenantId,
    scopes: s.scopes,
    userAgent: s.userAgent,
    ip: s.ip,
    createdAt: s.createdAt.toISOString(),
    lastUsedAt: s.lastUsedAt.toISOString(),
    expiresAt: s.expiresAt.toISOString(),
    current: s.id === currentSid
  }
}

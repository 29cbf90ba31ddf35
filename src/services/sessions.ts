// The sessions' SQL lives in their repository; these stay importable from here.
export {
  createSession, findRefreshToken, findSessionByRefreshToken, hashRefreshToken, newRefreshToken, revokeSessions, revokeUserSessions,
  rotateRefreshToken, StaleCredentials, type NewSession, type RotateResult
} from '../repositories/sessions.js'

import { createHash, timingSafeEqual } from 'node:crypto'
import type { IdTokenClaims } from '../plugins/tokens.js'
import type { UserRow } from '../services/admin/scope.js'

/** RFC 7636 section 4.1: 43 to 128 unreserved characters. */
export const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/

/** Whether BASE64URL(SHA256(verifier)) is the code challenge (S256, the only method Warden takes). */
export function pkceMatches (verifier: string, challenge: string): boolean {
  const computed = Buffer.from(createHash('sha256').update(verifier, 'ascii').digest('base64url'))
  const expected = Buffer.from(challenge)
  return computed.length === expected.length && timingSafeEqual(computed, expected)
}

export interface IdTokenInput {
  user: Pick<UserRow, 'id' | 'username' | 'fullName' | 'email' | 'updatedAt'>
  clientId: string
  sid: string
  scopes: readonly string[]
  nonce: string | null
  amr: string[]
  /** seconds */
  authTime: number
}

/** The claims a user's scopes allow (OIDC Core section 5.4): profile and email; `sub` always. */
export function userClaims (user: IdTokenInput['user'], scopes: readonly string[]): Record<string, unknown> {
  const claims: Record<string, unknown> = { sub: user.id }
  if (scopes.includes('profile')) {
    claims.name = user.fullName ?? user.username
    claims.preferred_username = user.username
    claims.updated_at = Math.floor(user.updatedAt.getTime() / 1000)
  }
  if (scopes.includes('email')) {
    claims.email = user.email
    // Warden does not verify e-mail addresses (yet)
    claims.email_verified = false
  }
  return claims
}

/** An ID token's claims (OIDC Core section 2); signing adds iss, iat, exp and at_hash. */
export function idTokenClaims (input: IdTokenInput): IdTokenClaims {
  return {
    ...userClaims(input.user, input.scopes),
    sub: input.user.id,
    aud: input.clientId,
    azp: input.clientId,
    auth_time: input.authTime,
    sid: input.sid,
    amr: input.amr,
    ...(input.nonce === null ? {} : { nonce: input.nonce })
  }
}

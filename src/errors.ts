import createError from '@fastify/error'

/**
 * Every error code Warden answers with. Handlers throw these; the error handler
 * (plugins/errors.ts) turns them into problem+json. Codes are part of the API contract.
 */
export const Unauthenticated = createError<'UNAUTHENTICATED', 401, [string?]>('UNAUTHENTICATED', '%s', 401)
export const InvalidToken = createError<'INVALID_TOKEN', 401, [string?]>('INVALID_TOKEN', '%s', 401)
export const TokenExpired = createError<'TOKEN_EXPIRED', 401, [string?]>('TOKEN_EXPIRED', '%s', 401)
export const Forbidden = createError<'FORBIDDEN', 403, [string?]>('FORBIDDEN', '%s', 403)
export const InsufficientScope = createError<'INSUFFICIENT_SCOPE', 403, [string?]>('INSUFFICIENT_SCOPE', '%s', 403)
export const NotFound = createError<'NOT_FOUND', 404, [string?]>('NOT_FOUND', '%s', 404)
export const Conflict = createError<'CONFLICT', 409, [string?]>('CONFLICT', '%s', 409)
export const BadRequest = createError<'BAD_REQUEST', 400, [string?]>('BAD_REQUEST', '%s', 400)
export const InvalidCursor = createError<'INVALID_CURSOR', 400, [string?]>('INVALID_CURSOR', '%s', 400)
export const ValidationFailed = createError<'VALIDATION_FAILED', 400, [string?]>('VALIDATION_FAILED', '%s', 400)
export const WeakPassword = createError<'WEAK_PASSWORD', 400, [string?]>('WEAK_PASSWORD', '%s', 400)
export const InvalidPassword = createError<'INVALID_PASSWORD', 400, [string?]>('INVALID_PASSWORD', '%s', 400)
export const InvalidCondition = createError<'INVALID_CONDITION', 400, [string?]>('INVALID_CONDITION', '%s', 400)
export const RegistrationDisabled = createError<'REGISTRATION_DISABLED', 403, [string?]>('REGISTRATION_DISABLED', '%s', 403)
export const RateLimited = createError<'RATE_LIMITED', 429, [string?]>('RATE_LIMITED', '%s', 429)
export const PayloadTooLarge = createError<'PAYLOAD_TOO_LARGE', 413, [string?]>('PAYLOAD_TOO_LARGE', '%s', 413)
export const UnsupportedMediaType = createError<'UNSUPPORTED_MEDIA_TYPE', 415, [string?]>('UNSUPPORTED_MEDIA_TYPE', '%s', 415)
export const ServiceUnavailable = createError<'SERVICE_UNAVAILABLE', 503, [string?]>('SERVICE_UNAVAILABLE', '%s', 503)

/** The codes above plus those the error handler produces itself; the contract test checks this list. */
export const ERROR_CODES = [
  'UNAUTHENTICATED', 'INVALID_TOKEN', 'TOKEN_EXPIRED', 'FORBIDDEN', 'INSUFFICIENT_SCOPE', 'NOT_FOUND',
  'CONFLICT', 'BAD_REQUEST', 'INVALID_CURSOR', 'VALIDATION_FAILED', 'WEAK_PASSWORD', 'INVALID_PASSWORD',
  'INVALID_CONDITION', 'REGISTRATION_DISABLED', 'RATE_LIMITED', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE',
  'SERVICE_UNAVAILABLE', 'METHOD_NOT_ALLOWED', 'INTERNAL_ERROR'
] as const

/** RFC 6749 section 5.2 errors, answered by the OAuth endpoints as `{ error, error_description }`. */
export type OAuthErrorCode = 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unauthorized_client' |
  'unsupported_grant_type' | 'invalid_scope' | 'unsupported_token_type'

export class OAuthError extends Error {
  readonly statusCode: number
  constructor (readonly error: OAuthErrorCode, readonly description: string, statusCode?: number) {
    super(description)
    this.name = 'OAuthError'
    this.statusCode = statusCode ?? (error === 'invalid_client' ? 401 : 400)
  }
}

/** Thrown by the login throttle; carries the seconds for Retry-After. */
export class TooManyAttempts extends Error {
  readonly statusCode = 429
  readonly code = 'RATE_LIMITED'
  constructor (readonly retryAfter: number) {
    super('Too many failed attempts; try again later')
  }
}

import createError from '@fastify/error'
import type { DuplicateRoleError, InvalidConditionError, InvalidPermissionError, RoleCycleError, UnknownRoleError } from './authz/errors.js'

/**
 * The error catalogue: every code Warden answers with, each made once here with @fastify/error.
 * Handlers throw these; the error handler (plugins/errors.ts) looks an error up here by its
 * `code` (Fastify's, Node's and the authorization engine's errors through the tables at the end)
 * and answers with what the entry says. Codes are part of the API contract.
 *
 * Two formats. Problem codes are answered as problem+json (RFC 9457), except on the OAuth
 * endpoints (route config `oauth: true`) for those with an OAuth counterpart. OAuth codes (RFC 6749
 * section 5.2, plus `temporarily_unavailable`) are answered as `{ error, error_description }`
 * wherever they are thrown; `error` is the code in lower case (@fastify/error upper-cases codes).
 */

type Constructor = createError.FastifyErrorConstructor<{ code: string, statusCode: number }, [string?]>

export interface CatalogueEntry {
  readonly code: string
  readonly statusCode: number
  readonly format: 'problem' | 'oauth'
  /** the code its status stands for: an error the catalogue does not know gets it by its status */
  readonly generic?: boolean
  /** a problem code's answer on the OAuth endpoints; without one it is problem+json there too */
  readonly oauth?: CatalogueEntry
  /** the WWW-Authenticate challenge sent with it */
  readonly challenge?: string
  /** Retry-After seconds, unless the error or the rate limiter gives its own */
  readonly retryAfter?: number
  /** the detail, always: the error's own message may hold internals */
  readonly detail?: string
}

type Rendering = Omit<CatalogueEntry, 'code' | 'statusCode' | 'format' | 'oauth'> & { oauth?: Constructor }

const entries = new Map<string, CatalogueEntry>()
const byConstructor = new Map<Constructor, CatalogueEntry>()

function define<C extends string, S extends number> (format: CatalogueEntry['format'], code: C, statusCode: S, rendering: Rendering = {}) {
  const create = createError<C, S, [string?]>(code, '%s', statusCode)
  const { oauth, ...rest } = rendering
  const entry: CatalogueEntry = { code, statusCode, format, ...rest, ...(oauth !== undefined ? { oauth: entryOf(oauth) } : {}) }
  entries.set(code, entry)
  byConstructor.set(create, entry)
  return create
}

function entryOf (create: Constructor): CatalogueEntry {
  const entry = byConstructor.get(create)
  if (entry === undefined) throw new Error('not a catalogue error')
  return entry
}

const BEARER = 'Bearer realm="warden"'
const invalidToken = (description: string) => `${BEARER}, error="invalid_token", error_description="${description}"`

// OAuth 2.0 (RFC 6749 section 5.2), answered as `{ error: 'invalid_request', ... }` and so on
export const InvalidRequest = define('oauth', 'INVALID_REQUEST', 400)
export const InvalidClient = define('oauth', 'INVALID_CLIENT', 401, { challenge: 'Basic realm="warden"' })
export const InvalidGrant = define('oauth', 'INVALID_GRANT', 400)
export const UnauthorizedClient = define('oauth', 'UNAUTHORIZED_CLIENT', 400)
export const UnsupportedGrantType = define('oauth', 'UNSUPPORTED_GRANT_TYPE', 400)
export const InvalidScope = define('oauth', 'INVALID_SCOPE', 400)
/** the password grant of a user with two-factor on, without `otp` (API.md "Two-factor authentication") */
export const MfaRequired = define('oauth', 'MFA_REQUIRED', 400)
/** RFC 6749 section 4.1.2.1; the OAuth endpoints' 503 (the database recovers within about a second) */
export const TemporarilyUnavailable = define('oauth', 'TEMPORARILY_UNAVAILABLE', 503, { retryAfter: 1 })

// problem+json (RFC 9457)
export const BadRequest = define('problem', 'BAD_REQUEST', 400, { generic: true, oauth: InvalidRequest })
export const ValidationFailed = define('problem', 'VALIDATION_FAILED', 400, { oauth: InvalidRequest })
export const InvalidCursor = define('problem', 'INVALID_CURSOR', 400)
export const WeakPassword = define('problem', 'WEAK_PASSWORD', 400)
export const InvalidPassword = define('problem', 'INVALID_PASSWORD', 400)
export const InvalidCondition = define('problem', 'INVALID_CONDITION', 400)
/** a wrong or reused one-time code where one is confirmed (TOTP enrolment) */
export const InvalidOtp = define('problem', 'INVALID_OTP', 400)
export const Unauthenticated = define('problem', 'UNAUTHENTICATED', 401, { generic: true, challenge: BEARER })
export const InvalidToken = define('problem', 'INVALID_TOKEN', 401, { challenge: invalidToken('invalid token') })
export const TokenExpired = define('problem', 'TOKEN_EXPIRED', 401, { challenge: invalidToken('token expired') })
export const Forbidden = define('problem', 'FORBIDDEN', 403, { generic: true })
export const InsufficientScope = define('problem', 'INSUFFICIENT_SCOPE', 403)
/** RFC 9470 step-up: a grant holds only for a sign-in with a second factor (`{ "mfa": true }`) */
export const InsufficientUserAuthentication = define('problem', 'INSUFFICIENT_USER_AUTHENTICATION', 403, {
  challenge: `${BEARER}, error="insufficient_user_authentication", error_description="a sign-in with a second factor is required"`
})
export const RegistrationDisabled = define('problem', 'REGISTRATION_DISABLED', 403)
export const NotFound = define('problem', 'NOT_FOUND', 404, { generic: true })
export const MethodNotAllowed = define('problem', 'METHOD_NOT_ALLOWED', 405, { generic: true })
export const RequestTimeout = define('problem', 'REQUEST_TIMEOUT', 408, { generic: true })
export const Conflict = define('problem', 'CONFLICT', 409, { generic: true })
export const PayloadTooLarge = define('problem', 'PAYLOAD_TOO_LARGE', 413, { generic: true })
export const UriTooLong = define('problem', 'URI_TOO_LONG', 414, { generic: true })
export const UnsupportedMediaType = define('problem', 'UNSUPPORTED_MEDIA_TYPE', 415, { generic: true })
const RateLimitedError = define('problem', 'RATE_LIMITED', 429, { generic: true, retryAfter: 60, oauth: InvalidRequest })
export const HeadersTooLarge = define('problem', 'HEADERS_TOO_LARGE', 431, { generic: true })
export const InternalError = define('problem', 'INTERNAL_ERROR', 500, { generic: true, detail: 'an unexpected error occurred' })
/** a dependency is down: Retry-After 1 s, the database recovers within about a second */
export const ServiceUnavailable = define('problem', 'SERVICE_UNAVAILABLE', 503, { generic: true, retryAfter: 1, oauth: TemporarilyUnavailable })

/** 429: the rate limit or the login throttle, with the seconds to wait for Retry-After when known. */
export class RateLimited extends RateLimitedError {
  constructor (message?: string, readonly retryAfter?: number) {
    super(message)
  }
}

/** The catalogue by code. */
export const CATALOGUE: ReadonlyMap<string, CatalogueEntry> = entries

/** Every code above: the contract test checks them against the documentation. */
export const ERROR_CODES: readonly string[] = [...entries.keys()]

/** The generic entry of each status (UNAUTHENTICATED for 401, ...). */
export const BY_STATUS: ReadonlyMap<number, CatalogueEntry> = new Map([...entries.values()].filter(e => e.generic).map(e => [e.statusCode, e]))

export interface Mapped { readonly entry: CatalogueEntry, readonly detail?: string }
const as = (create: Constructor, detail?: string): Mapped => ({ entry: entryOf(create), ...(detail !== undefined ? { detail } : {}) })

/** Fastify's own errors (content-type parser, router), by code, with the detail to show. */
export const FASTIFY_ERRORS: Readonly<Record<string, Mapped>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: as(PayloadTooLarge, 'request body is too large'),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: as(UnsupportedMediaType, 'unsupported content type'),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: as(BadRequest, 'content length does not match the body'),
  FST_ERR_CTP_EMPTY_JSON_BODY: as(BadRequest, 'empty JSON body'),
  FST_ERR_CTP_INVALID_JSON_BODY: as(BadRequest, 'malformed JSON body'),
  FST_ERR_CTP_EMPTY_TYPE: as(UnsupportedMediaType, 'missing content type'),
  FST_ERR_CTP_INVALID_TYPE: as(UnsupportedMediaType, 'invalid content type'),
  FST_ERR_BAD_URL: as(BadRequest, 'malformed URL'),
  FST_ERR_MAX_PARAM_LENGTH: as(UriTooLong, 'a path segment is too long'),
  FST_ERR_ASYNC_CONSTRAINT: as(BadRequest)
}

/** What the router answers for a refusal the table above does not name. */
export const FRAMEWORK_DEFAULT: Mapped = as(BadRequest, 'bad request')

/** Node's HTTP parser errors, raised before a request exists, by code; any other is CLIENT_DEFAULT. */
export const CLIENT_ERRORS: Readonly<Record<string, Mapped>> = {
  ERR_HTTP_REQUEST_TIMEOUT: as(RequestTimeout, 'the request was not received in time'),
  HPE_HEADER_OVERFLOW: as(HeadersTooLarge, 'request headers are too large'),
  HPE_CHUNK_EXTENSIONS_OVERFLOW: as(PayloadTooLarge, 'malformed request')
}
export const CLIENT_DEFAULT: Mapped = as(BadRequest, 'malformed request')

type EngineError = RoleCycleError | UnknownRoleError | DuplicateRoleError | InvalidPermissionError | InvalidConditionError

/**
 * The authorization engine's errors (authz/errors.ts), by code, answered as the role routes answer
 * the same refusals: an inheritance cycle or a role defined twice is a conflict (API.md: a cycle
 * is 409), an unknown role or a malformed permission name bad input, a bad condition
 * INVALID_CONDITION with its errors. The engine's message is the detail.
 */
export const ENGINE_ERRORS: Readonly<Record<EngineError['code'], Mapped>> = {
  ROLE_CYCLE: as(Conflict),
  DUPLICATE_ROLE: as(Conflict),
  UNKNOWN_ROLE: as(BadRequest),
  INVALID_PERMISSION: as(BadRequest),
  INVALID_CONDITION: as(InvalidCondition)
}

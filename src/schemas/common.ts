import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { named, ref } from './registry.js'

export const UuidSchema = Type.String({ format: 'uuid' })
export const IdParamsSchema = Type.Object({ id: UuidSchema })
export const Timestamp = Type.String({ format: 'date-time' })
export const NullableTimestamp = Type.Union([Timestamp, Type.Null()])

export const ValidationErrorSchema = named('ValidationError', Type.Object({
  path: Type.String({ description: 'where: `body/...`, `querystring/...`, `params/...` or `headers/...`', examples: ['body/email'] }),
  message: Type.String({ examples: ['must match format "email"'] })
}, { description: 'One reason a request was refused' }))

export const ProblemSchema = named('Problem', Type.Object({
  type: Type.String({ examples: ['about:blank'] }),
  title: Type.String({ examples: ['Bad Request'] }),
  status: Type.Integer({ examples: [400] }),
  detail: Type.String({ examples: ['the request is invalid'] }),
  code: Type.String({
    description: 'stable UPPER_SNAKE code: VALIDATION_FAILED, UNAUTHENTICATED, INVALID_TOKEN, TOKEN_EXPIRED, FORBIDDEN, INSUFFICIENT_SCOPE, NOT_FOUND, CONFLICT, RATE_LIMITED, PAYLOAD_TOO_LARGE, SERVICE_UNAVAILABLE, WEAK_PASSWORD, INVALID_PASSWORD, ...',
    examples: ['VALIDATION_FAILED']
  }),
  errors: Type.Optional(Type.Array(ref(ValidationErrorSchema), { description: 'on validation failures: each problem with its path' }))
}, { description: 'RFC 9457 problem details (`application/problem+json`)' }))

export const OAuthErrorSchema = named('OAuthError', Type.Object({
  error: Type.String({
    description: 'RFC 6749 section 5.2 code: invalid_request, invalid_client, invalid_grant, invalid_scope, unsupported_grant_type, ...; temporarily_unavailable with 503',
    examples: ['invalid_grant']
  }),
  error_description: Type.Optional(Type.String({ examples: ['invalid username or password'] }))
}, { description: 'An OAuth 2.0 error (RFC 6749 section 5.2), answered by the token, revocation and introspection endpoints' }))

export const DEFAULT_PAGE_LIMIT = 20

export const PageQuerySchema = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: DEFAULT_PAGE_LIMIT, description: 'page size' })),
  cursor: Type.Optional(Type.String({ maxLength: 512, description: 'the `nextCursor` of the previous page' }))
})
export type PageQuery = Static<typeof PageQuerySchema>

/** `<Item>Page`: `{ items, nextCursor }` of a named item schema. */
export function pageOf<T extends TSchema> (item: T) {
  return named(`${item.$id!}Page`, Type.Object({
    items: Type.Array(ref(item)),
    nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'pass as `cursor` for the next page; null on the last page' })
  }, { description: `A page of ${item.$id!} items (keyset pagination)` }))
}

/** A documented answer whose body is one named schema in one content type. */
const answer = (type: string, schema: TSchema) => (description: string) => ({ description, content: { [type]: { schema: ref(schema) } } })
const problem = answer('application/problem+json', ProblemSchema)
const oauthError = answer('application/json', OAuthErrorSchema)

/** Error answers, problem+json, one per status: routes spread the sets below. */
export const errorResponses = {
  400: problem('Invalid input (VALIDATION_FAILED, with `errors`), or a request the operation refuses'),
  401: problem('No valid access token (UNAUTHENTICATED, INVALID_TOKEN, TOKEN_EXPIRED); see WWW-Authenticate'),
  403: problem('The token does not carry what the operation needs (FORBIDDEN, INSUFFICIENT_SCOPE)'),
  404: problem('Not found, or not visible to the caller (NOT_FOUND)'),
  409: problem('Conflicts with the current state (CONFLICT)'),
  413: problem('The body is too large (PAYLOAD_TOO_LARGE)'),
  415: problem('The content type is not accepted (UNSUPPORTED_MEDIA_TYPE)'),
  429: problem('Too many requests from this caller (RATE_LIMITED); wait Retry-After seconds'),
  503: problem('The database is unavailable (SERVICE_UNAVAILABLE); retry after Retry-After seconds')
} as const

/** What any operation may answer: bad input, the rate limit, the database down. */
export const commonErrors = { 400: errorResponses[400], 429: errorResponses[429], 503: errorResponses[503] }
/** The standard error answers of a protected route. */
export const protectedErrors = { ...commonErrors, 401: errorResponses[401], 403: errorResponses[403] }
export const withNotFound = { ...protectedErrors, 404: errorResponses[404] }
export const withConflict = { ...withNotFound, 409: errorResponses[409] }

/** Error answers of the OAuth endpoints (RFC 6749 shape). */
export const oauthErrors = {
  400: oauthError('invalid_request, invalid_grant, invalid_scope or unsupported_grant_type'),
  401: oauthError('invalid_client: client authentication failed (see WWW-Authenticate)'),
  429: oauthError('Too many attempts (invalid_request); wait Retry-After seconds'),
  503: oauthError('temporarily_unavailable: the database is unavailable; retry after Retry-After seconds')
} as const

export const StatusSchema = named('Status', Type.Object({ status: Type.String({ examples: ['ok'] }) }, { description: 'A health answer' }))

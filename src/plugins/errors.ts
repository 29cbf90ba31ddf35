import { randomUUID } from 'node:crypto'
import type { Socket } from 'node:net'
import { STATUS_CODES } from 'node:http'
import fp from 'fastify-plugin'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { OAuthError, TooManyAttempts } from '../errors.js'
import { describeDatabaseError, isDatabaseUnavailable } from '../lib/db-errors.js'

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Payload Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable'
}

const CODES_BY_STATUS: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  408: 'REQUEST_TIMEOUT',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  414: 'URI_TOO_LONG',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  431: 'HEADERS_TOO_LARGE',
  429: 'RATE_LIMITED',
  503: 'SERVICE_UNAVAILABLE'
}

/** Fastify's own client-error codes, mapped onto ours. */
const FASTIFY_CODES: Record<string, { status: number, code: string, detail?: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'PAYLOAD_TOO_LARGE', detail: 'request body is too large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', detail: 'unsupported content type' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'BAD_REQUEST', detail: 'content length does not match the body' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'BAD_REQUEST', detail: 'empty JSON body' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'BAD_REQUEST', detail: 'malformed JSON body' },
  FST_ERR_CTP_EMPTY_TYPE: { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', detail: 'missing content type' },
  FST_ERR_CTP_INVALID_TYPE: { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', detail: 'invalid content type' },
  FST_ERR_BAD_URL: { status: 400, code: 'BAD_REQUEST', detail: 'malformed URL' },
  FST_ERR_MAX_PARAM_LENGTH: { status: 414, code: 'URI_TOO_LONG', detail: 'a path segment is too long' },
  FST_ERR_ASYNC_CONSTRAINT: { status: 400, code: 'BAD_REQUEST' }
}

/** seconds a client is asked to wait after a 503 (the database recovers within about a second) */
const RETRY_AFTER_UNAVAILABLE = 1

export interface Problem {
  type: string
  title: string
  status: number
  detail: string
  code: string
  errors?: Array<{ path: string, message: string }>
}

export function problem (status: number, code: string, detail: string, errors?: Problem['errors']): Problem {
  const body: Problem = { type: 'about:blank', title: TITLES[status] ?? 'Error', status, detail, code }
  if (errors) body.errors = errors
  return body
}

function sendProblem (reply: FastifyReply, body: Problem): FastifyReply {
  return reply.code(body.status).type('application/problem+json; charset=utf-8').send(body)
}

function isOAuthRoute (request: FastifyRequest): boolean {
  return request.routeOptions.config?.oauth === true
}

function validationErrors (error: FastifyError): Array<{ path: string, message: string }> {
  return (error.validation ?? []).map(v => {
    const missing = v.params as { missingProperty?: string, additionalProperty?: string } | undefined
    let path = v.instancePath || ''
    if (missing?.missingProperty) path += '/' + missing.missingProperty
    if (missing?.additionalProperty) path += '/' + missing.additionalProperty
    const where = error.validationContext ?? 'body'
    return { path: `${where}${path}`, message: v.message ?? 'invalid' }
  })
}

/**
 * One error handler for the whole app: problem+json (RFC 9457) everywhere but the OAuth
 * endpoints, which speak RFC 6749. A 5xx never leaks its internals.
 * @see https://www.rfc-editor.org/rfc/rfc9457
 */
export default fp(async function errorsPlugin (app: FastifyInstance) {
  app.setNotFoundHandler((request, reply) => {
    sendProblem(reply, problem(404, 'NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`))
  })

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof OAuthError) {
      if (error.statusCode === 401) reply.header('www-authenticate', 'Basic realm="warden"')
      return reply.code(error.statusCode).header('cache-control', 'no-store')
        .send({ error: error.error, error_description: error.description })
    }

    if (error.validation) {
      const errors = validationErrors(error)
      if (isOAuthRoute(request)) {
        const first = errors[0]
        return reply.code(400).header('cache-control', 'no-store').send({
          error: 'invalid_request',
          error_description: first ? `${first.path.replace(/^body\/?/, '') || 'request'}: ${first.message}` : 'invalid request'
        })
      }
      return sendProblem(reply, problem(400, 'VALIDATION_FAILED', 'the request is invalid', errors))
    }

    if (error instanceof TooManyAttempts || error.statusCode === 429) {
      if (error instanceof TooManyAttempts) reply.header('retry-after', String(error.retryAfter))
      else if (!reply.hasHeader('retry-after')) reply.header('retry-after', '60')
      if (isOAuthRoute(request)) {
        return reply.code(429).header('cache-control', 'no-store')
          .send({ error: 'invalid_request', error_description: error.message })
      }
      return sendProblem(reply, problem(429, 'RATE_LIMITED', error.message))
    }

    if (isDatabaseUnavailable(error)) {
      request.log.warn({ err: error }, 'database unavailable')
      reply.header('retry-after', String(RETRY_AFTER_UNAVAILABLE))
      if (isOAuthRoute(request)) {
        return reply.code(503).header('cache-control', 'no-store')
          .send({ error: 'temporarily_unavailable', error_description: 'the service is temporarily unavailable; retry later' })
      }
      return sendProblem(reply, problem(503, 'SERVICE_UNAVAILABLE', 'a dependency is unavailable; retry later'))
    }

    const mapped = FASTIFY_CODES[error.code]
    if (mapped) {
      if (isOAuthRoute(request) && mapped.status === 400) {
        return reply.code(400).send({ error: 'invalid_request', error_description: mapped.detail ?? error.message })
      }
      return sendProblem(reply, problem(mapped.status, mapped.code, mapped.detail ?? error.message))
    }

    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500
    if (status >= 500) {
      if (status === 503) {
        reply.header('retry-after', String(RETRY_AFTER_UNAVAILABLE))
        return sendProblem(reply, problem(503, 'SERVICE_UNAVAILABLE', error.message || 'a dependency is unavailable'))
      }
      request.log.error({ err: error }, 'unhandled error')
      return sendProblem(reply, problem(500, 'INTERNAL_ERROR', 'an unexpected error occurred'))
    }

    const code = typeof error.code === 'string' && /^[A-Z][A-Z0-9_]*$/.test(error.code) && !error.code.startsWith('FST_')
      ? error.code
      : CODES_BY_STATUS[status] ?? 'BAD_REQUEST'
    if (status === 401) {
      const invalid = code === 'INVALID_TOKEN' || code === 'TOKEN_EXPIRED'
      reply.header('www-authenticate', invalid
        ? `Bearer realm="warden", error="invalid_token", error_description="${code === 'TOKEN_EXPIRED' ? 'token expired' : 'invalid token'}"`
        : 'Bearer realm="warden"')
    }
    if (status === 429 && !reply.hasHeader('retry-after')) reply.header('retry-after', '60')
    const details = (error as { errors?: unknown }).errors
    const errors = Array.isArray(details) ? details as Problem['errors'] : undefined
    return sendProblem(reply, problem(status, code, error.message || TITLES[status] || 'error', errors))
  })
}, { name: 'errors' })

/**
 * The router's own refusals (a malformed URL, a too long path segment), which are answered
 * before any hook runs: problem+json with the request id like every other answer.
 * Set as Fastify's `frameworkErrors` option.
 */
export function frameworkErrors (error: FastifyError, requestId: string, reply: FastifyReply, headers: Array<[string, string]>) {
  const mapped = FASTIFY_CODES[error.code] ?? { status: 400, code: 'BAD_REQUEST', detail: 'bad request' }
  reply.header('x-request-id', requestId)
  // no hook runs before this answer: the security headers every other answer gets are set here
  for (const [name, value] of headers) reply.header(name, value)
  sendProblem(reply, problem(mapped.status, mapped.code, mapped.detail ?? error.message))
}

const CLIENT_ERRORS: Record<string, number> = {
  ERR_HTTP_REQUEST_TIMEOUT: 408,
  HPE_HEADER_OVERFLOW: 431,
  HPE_CHUNK_EXTENSIONS_OVERFLOW: 413
}

/**
 * Errors Node's HTTP parser raises before a request exists (a body slower than the request
 * timeout, oversized headers, a malformed request line): answered on the raw socket, as
 * problem+json with a fresh request id, then the connection is closed.
 * Set as Fastify's `clientErrorHandler` option.
 */
export function clientErrorHandler (err: Error & { code?: string }, socket: Socket, headers: Array<[string, string]>) {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const status = CLIENT_ERRORS[err.code ?? ''] ?? 400
  const body = JSON.stringify(problem(status, CODES_BY_STATUS[status] ?? 'BAD_REQUEST',
    status === 408 ? 'the request was not received in time' : status === 431 ? 'request headers are too large' : 'malformed request'))
  if (!socket.writable) return socket.destroy()
  socket.end([
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    'Content-Type: application/problem+json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    `x-request-id: ${randomUUID()}`,
    ...headers.map(([name, value]) => `${name}: ${value}`),
    'Connection: close',
    '',
    body
  ].join('\r\n'))
}

/**
 * The logger's `err` serializer. A failed query is logged by its SQLSTATE and the names of the
 * objects involved only: drizzle's message carries the query's parameters (password hashes,
 * tokens), and the server's message and detail quote values.
 */
export function errorSerializer (err: FastifyError): { type: string, message: string, stack: string, [key: string]: unknown } {
  if (!(err instanceof Error)) return { type: typeof err, message: String(err), stack: '' }
  const frames = (err.stack ?? '').split('\n').filter(line => /^\s+at /.test(line)).join('\n')
  const db = describeDatabaseError(err)
  if (db !== null) return { ...db, type: 'DatabaseError', message: `database error${typeof db.code === 'string' ? ' ' + db.code : ''}`, stack: frames }
  const code = (err as { code?: unknown }).code
  return { type: err.name, message: err.message, stack: err.stack ?? frames, ...(typeof code === 'string' ? { code } : {}) }
}

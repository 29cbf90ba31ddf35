import { randomUUID } from 'node:crypto'
import type { Socket } from 'node:net'
import { STATUS_CODES } from 'node:http'
import fp from 'fastify-plugin'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import {
  BY_STATUS, CATALOGUE, CLIENT_DEFAULT, CLIENT_ERRORS, ENGINE_ERRORS, FASTIFY_ERRORS, FRAMEWORK_DEFAULT,
  BadRequest, InternalError, NotFound, ServiceUnavailable, ValidationFailed,
  type CatalogueEntry, type Mapped
} from '../errors.js'
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

const entry = (Create: new () => { code: string }): CatalogueEntry => CATALOGUE.get(new Create().code)!
const VALIDATION = entry(ValidationFailed)
const UNAVAILABLE = entry(ServiceUnavailable)
const INTERNAL = entry(InternalError)
const NOT_FOUND = entry(NotFound)
const BAD_REQUEST = entry(BadRequest)

export interface Problem {
  type: string
  title: string
  status: number
  detail: string
  code: string
  errors?: Array<{ path: string, message: string }>
}

function problem (status: number, code: string, detail: string, errors?: Problem['errors']): Problem {
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

/** What an error is answered with: its catalogue entry and what the entry leaves to the error. */
interface Answer {
  entry: CatalogueEntry
  /** the entry's status, but for a 4xx the catalogue has no code for (answered BAD_REQUEST) */
  status: number
  detail: string
  /** the description on the OAuth endpoints, when it is not the detail */
  description?: string
  errors?: Problem['errors']
  retryAfter?: number
  /** logged as a warning */
  warning?: string
}

/**
 * An error as the catalogue entry it is (its code) or maps to (`mapped`): its message the detail,
 * its `errors` listed, unless the entry hides them (a 500's internals).
 */
function answerAs (entry: CatalogueEntry, error: FastifyError, mapped?: Mapped): Answer {
  const { errors, retryAfter } = error as { errors?: unknown, retryAfter?: unknown }
  return {
    entry,
    status: entry.statusCode,
    detail: entry.detail ?? mapped?.detail ?? (error.message || (TITLES[entry.statusCode] ?? 'error')),
    ...(entry.detail === undefined && Array.isArray(errors) ? { errors: errors as Problem['errors'] } : {}),
    ...(typeof retryAfter === 'number' ? { retryAfter } : {})
  }
}

/** The catalogue lookup: the error's code, else a table mapping it, else its status. */
function answerFor (error: FastifyError): Answer {
  if (error.validation) {
    const errors = validationErrors(error)
    const first = errors[0]
    return {
      entry: VALIDATION,
      status: VALIDATION.statusCode,
      detail: 'the request is invalid',
      description: first ? `${first.path.replace(/^body\/?/, '') || 'request'}: ${first.message}` : 'invalid request',
      errors
    }
  }
  const code = typeof error.code === 'string' ? error.code : ''
  const own = CATALOGUE.get(code)
  if (own !== undefined) return answerAs(own, error)
  if (isDatabaseUnavailable(error)) {
    return {
      entry: UNAVAILABLE,
      status: UNAVAILABLE.statusCode,
      detail: 'a dependency is unavailable; retry later',
      description: 'the service is temporarily unavailable; retry later',
      warning: 'database unavailable'
    }
  }
  const mapped = Object.hasOwn(FASTIFY_ERRORS, code)
    ? FASTIFY_ERRORS[code]
    : Object.hasOwn(ENGINE_ERRORS, code) ? ENGINE_ERRORS[code as keyof typeof ENGINE_ERRORS] : undefined
  if (mapped !== undefined) return answerAs(mapped.entry, error, mapped)
  const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500
  const generic = BY_STATUS.get(status)
  if (generic !== undefined) return answerAs(generic, error)
  if (status >= 500) return answerAs(INTERNAL, error)
  return { ...answerAs(BAD_REQUEST, error), status }
}

/**
 * One error handler for the whole app: problem+json (RFC 9457) everywhere but the OAuth
 * endpoints, which speak RFC 6749. What an error is answered with (status, code, detail,
 * headers) is its entry in the catalogue (src/errors.ts); the route's `config.oauth` picks the
 * format. A 5xx never leaks its internals.
 * @see https://www.rfc-editor.org/rfc/rfc9457
 */
export default fp(async function errorsPlugin (app: FastifyInstance) {
  app.setNotFoundHandler((request, reply) => {
    sendProblem(reply, problem(404, NOT_FOUND.code, `no route ${request.method} ${request.url.split('?')[0]}`))
  })

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const answer = answerFor(error)
    const { entry, status } = answer
    if (entry === INTERNAL) request.log.error({ err: error }, 'unhandled error')
    else if (answer.warning !== undefined) request.log.warn({ err: error }, answer.warning)

    const oauth = entry.format === 'oauth' ? entry : isOAuthRoute(request) ? entry.oauth : undefined
    const challenge = oauth?.challenge ?? entry.challenge
    if (challenge !== undefined) reply.header('www-authenticate', challenge)
    const retryAfter = answer.retryAfter ?? entry.retryAfter
    if (retryAfter !== undefined && (answer.retryAfter !== undefined || !reply.hasHeader('retry-after'))) {
      reply.header('retry-after', String(retryAfter))
    }
    if (oauth !== undefined) {
      return reply.code(status).header('cache-control', 'no-store')
        .send({ error: oauth.code.toLowerCase(), error_description: answer.description ?? answer.detail })
    }
    return sendProblem(reply, problem(status, entry.code, answer.detail, answer.errors))
  })
}, { name: 'errors' })

/**
 * The router's own refusals (a malformed URL, a too long path segment), which are answered
 * before any hook runs: problem+json with the request id like every other answer.
 * Set as Fastify's `frameworkErrors` option.
 */
export function frameworkErrors (error: FastifyError, requestId: string, reply: FastifyReply, headers: Array<[string, string]>) {
  const mapped = (Object.hasOwn(FASTIFY_ERRORS, error.code) ? FASTIFY_ERRORS[error.code] : undefined) ?? FRAMEWORK_DEFAULT
  reply.header('x-request-id', requestId)
  // no hook runs before this answer: the security headers every other answer gets are set here
  for (const [name, value] of headers) reply.header(name, value)
  sendProblem(reply, problem(mapped.entry.statusCode, mapped.entry.code, mapped.detail ?? error.message))
}

/**
 * Errors Node's HTTP parser raises before a request exists (a body slower than the request
 * timeout, oversized headers, a malformed request line): answered on the raw socket, as
 * problem+json with a fresh request id, then the connection is closed.
 * Set as Fastify's `clientErrorHandler` option.
 */
export function clientErrorHandler (err: Error & { code?: string }, socket: Socket, headers: Array<[string, string]>) {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const code = err.code ?? ''
  const { entry: { statusCode: status, code: answerCode }, detail } = (Object.hasOwn(CLIENT_ERRORS, code) ? CLIENT_ERRORS[code] : undefined) ?? CLIENT_DEFAULT
  const body = JSON.stringify(problem(status, answerCode, detail ?? 'malformed request'))
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

import fp from 'fastify-plugin'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { OAuthError, TooManyAttempts } from '../errors.js'

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable'
}

const CODES_BY_STATUS: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
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
  FST_ERR_ASYNC_CONSTRAINT: { status: 400, code: 'BAD_REQUEST' }
}

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

    if (error instanceof TooManyAttempts) {
      reply.header('retry-after', String(error.retryAfter))
      if (isOAuthRoute(request)) {
        return reply.code(429).header('cache-control', 'no-store')
          .send({ error: 'invalid_request', error_description: error.message })
      }
      return sendProblem(reply, problem(429, 'RATE_LIMITED', error.message))
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
      if (status === 503) return sendProblem(reply, problem(503, 'SERVICE_UNAVAILABLE', error.message || 'a dependency is unavailable'))
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

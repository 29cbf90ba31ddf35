import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyRequest } from 'fastify'

declare module 'fastify' {
  interface FastifyRequest {
    /** the body was JSON whose text holds no `\u0000` escape (so no string of it holds U+0000) */
    jsonBodyWithoutNul: boolean
  }
}

/** Header values that routes store or compare (sessions keep the user agent). */
const INPUT_HEADERS = ['user-agent'] as const

/** True if a string of the parsed value (a key included) holds U+0000: a walk that allocates nothing. */
function hasNul (value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return value.includes('\u0000')
  if (typeof value !== 'object' || value === null || depth > 32) return false
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (hasNul(value[i], depth + 1)) return true
    return false
  }
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue
    if (key.includes('\u0000') || hasNul((value as Record<string, unknown>)[key], depth + 1)) return true
  }
  return false
}

/** Where in a parsed value a string holds U+0000, as a JSON-pointer-like path, or null. */
function nulAt (value: unknown, path: string, depth = 0): string | null {
  if (!hasNul(value, depth)) return null
  if (typeof value === 'string') return path
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = nulAt(value[i], `${path}/${i}`, depth + 1)
      if (found !== null) return found
    }
    return null
  }
  for (const key of Object.keys(value as object)) {
    if (key.includes('\u0000')) return `${path}/${key.replaceAll('\u0000', '\\u0000')}`
    const found = nulAt((value as Record<string, unknown>)[key], `${path}/${key}`, depth + 1)
    if (found !== null) return found
  }
  return null
}

/** An error the error handler answers like a schema validation failure (400, or invalid_request). */
function nulRefused (context: string, instancePath: string) {
  return Object.assign(new Error('input contains U+0000'), {
    statusCode: 400,
    validationContext: context,
    validation: [{ instancePath, message: 'must not contain the character U+0000', params: {}, keyword: 'nul', schemaPath: '' }]
  })
}

export function findNul (request: Pick<FastifyRequest, 'params' | 'query' | 'body' | 'headers'>, bodyIsClean = false): { context: string, path: string } | null {
  const parts: Array<[string, unknown]> = [['params', request.params], ['querystring', request.query], ['body', bodyIsClean ? undefined : request.body]]
  for (const [context, value] of parts) {
    const path = nulAt(value, '')
    if (path !== null) return { context, path }
  }
  for (const name of INPUT_HEADERS) {
    const value = request.headers[name]
    if (typeof value === 'string' && value.includes('\u0000')) return { context: 'headers', path: '/' + name }
  }
  return null
}

/**
 * PostgreSQL cannot store U+0000 in text, so a string holding it would fail in the database
 * (a 500) wherever it reached SQL. One check for every route, after parsing and before
 * validation and the handler: 400 VALIDATION_FAILED (invalid_request on the OAuth endpoints),
 * before any SQL that uses the input.
 */
export default fp(async function inputGuard (app: FastifyInstance) {
  // In JSON text U+0000 can only be the escape `\u0000` (JSON.parse refuses the raw character), so
  // a JSON body whose text lacks it needs no walk after parsing: one native scan of the text
  // instead (a check-batch of 100 spent 8% of its time walking the parsed body). Fastify's own
  // JSON parser, with its prototype-poisoning checks, still parses it.
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.decorateRequest('jsonBodyWithoutNul', false)
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    request.jsonBodyWithoutNul = !(body as string).includes('\\u0000')
    parseJson(request, body as string, done)
  })
  app.addHook('preValidation', (request, _reply, done) => {
    const found = findNul(request, request.jsonBodyWithoutNul)
    done(found === null ? undefined : nulRefused(found.context, found.path))
  })
}, { name: 'input-guard', dependencies: ['errors'] })

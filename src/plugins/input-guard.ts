import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyRequest } from 'fastify'

/** Header values that routes store or compare (sessions keep the user agent). */
const INPUT_HEADERS = ['user-agent'] as const

/** Where in a parsed value a string holds U+0000, as a JSON-pointer-like path, or null. */
function nulAt (value: unknown, path: string, depth = 0): string | null {
  if (typeof value === 'string') return value.includes('\u0000') ? path : null
  if (typeof value !== 'object' || value === null || depth > 32) return null
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = nulAt(value[i], `${path}/${i}`, depth + 1)
      if (found !== null) return found
    }
    return null
  }
  for (const key of Object.keys(value)) {
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

export function findNul (request: Pick<FastifyRequest, 'params' | 'query' | 'body' | 'headers'>): { context: string, path: string } | null {
  const parts: Array<[string, unknown]> = [['params', request.params], ['querystring', request.query], ['body', request.body]]
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
  app.addHook('preValidation', (request, _reply, done) => {
    const found = findNul(request)
    done(found === null ? undefined : nulRefused(found.context, found.path))
  })
}, { name: 'input-guard', dependencies: ['errors'] })

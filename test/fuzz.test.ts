import t from 'tap'
import { randomUUID } from 'node:crypto'
import { build, loginAdmin, newUser } from './helper.js'

/**
 * A bounded fuzzer over every operation of the live OpenAPI document: malformed path and query
 * values, bodies of the wrong type, huge or holding U+0000, with extra fields or the wrong
 * content type, with and without a token. Every answer must be below 500, every error
 * problem+json (RFC 6749 `{ error }` on the OAuth endpoints), with a request id, within 2 s.
 * Deterministic: one seeded generator, a few thousand requests.
 */
const app = await build(t)
const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json()
let adminToken = (await loginAdmin(app)).access_token
const user = await newUser(app, 'fuzz')

type Schema = Record<string, any>
interface Operation { method: string, path: string, op: Schema }

const operations: Operation[] = []
for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, Schema>>)) {
  for (const [method, op] of Object.entries(item)) {
    if (['get', 'post', 'put', 'patch', 'delete'].includes(method)) operations.push({ method: method.toUpperCase(), path, op })
  }
}

// a small seeded generator (mulberry32), so a failure reproduces
let seed = 0x5eed
function random () {
  seed |= 0; seed = (seed + 0x6d2b79f5) | 0
  let x = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
  return ((x ^ (x >>> 14)) >>> 0) / 4294967296
}
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]

function resolve (schema: Schema | undefined): Schema {
  let s = schema ?? {}
  for (let i = 0; i < 10 && typeof s.$ref === 'string'; i++) {
    s = s.$ref.split('/').slice(1).reduce((node: Schema, key: string) => node?.[key.replace(/~1/g, '/').replace(/~0/g, '~')], doc)
  }
  return s ?? {}
}

/** A value the schema accepts, as simple as possible (the base the mutations start from). */
function valid (raw: Schema | undefined, depth = 0): unknown {
  const s = resolve(raw)
  if (s.const !== undefined) return s.const
  if (Array.isArray(s.enum)) return s.enum[0]
  const alternatives = s.anyOf ?? s.oneOf
  if (Array.isArray(alternatives)) return valid(alternatives.find((a: Schema) => resolve(a).type !== 'null') ?? alternatives[0], depth)
  if (Array.isArray(s.allOf)) return Object.assign({}, ...s.allOf.map((a: Schema) => valid(a, depth)))
  const type = Array.isArray(s.type) ? s.type.find((x: string) => x !== 'null') : s.type
  switch (type) {
    case 'string':
      if (s.format === 'email') return `fuzz-${Math.floor(random() * 1e9)}@example.test`
      if (s.format === 'uuid') return randomUUID()
      if (s.format === 'date-time') return new Date(Date.now() + 3_600_000).toISOString()
      if (typeof s.pattern === 'string' && /A-Za-z0-9/.test(s.pattern)) return 'fuzz' + Math.floor(random() * 1e6)
      return 'x'.repeat(Math.max(1, s.minLength ?? 1))
    case 'integer':
    case 'number':
      return s.minimum ?? 1
    case 'boolean':
      return false
    case 'array':
      return []
    case 'object': {
      if (depth > 4) return {}
      const out: Record<string, unknown> = {}
      for (const name of s.required ?? []) out[name] = valid(s.properties?.[name], depth + 1)
      return out
    }
    default:
      return 'x'
  }
}

const NUL = '\u0000'
const WRONG_VALUES: unknown[] = [123, -1, 1e308, true, null, [], ['x'], {}, { nested: { deep: [1, 2, { x: NUL }] } }, '', NUL, `a${NUL}b`, 'x'.repeat(5000), '\ud800', '../../etc/passwd', "' OR 1=1 --", '{{7*7}}', '<script>alert(1)</script>', '__proto__']
const PATH_VALUES = ['%00', 'a%00b', 'x'.repeat(300), '%ZZ', '%E0%A4%A', '..%2F..%2Fetc', randomUUID(), '-1', '%F0%9F%92%A9', "'%20OR%201=1", '00000000-0000-0000-0000-000000000000', 'posts%3A%2A', '%20']
const QUERY_VALUES = ['%00', 'abc', '-5', '1e309', '', 'x'.repeat(5000), '%ZZ', '[]', '{}', 'true', '0', '999999999999999999999', '%C0%AF', 'null']

interface Request { method: string, url: string, headers: Record<string, string>, payload?: string }

function pathFor (op: Operation, override?: string): string {
  return op.path.replace(/\{([^}]+)\}/g, (_m, name: string) => {
    if (override !== undefined) return override
    const param = (op.op.parameters ?? []).find((p: Schema) => p.in === 'path' && p.name === name)
    return encodeURIComponent(String(valid(param?.schema)))
  })
}

function bodyContentTypes (op: Operation): string[] {
  return Object.keys(op.op.requestBody?.content ?? {})
}

function bodySchema (op: Operation): Schema | undefined {
  const content = op.op.requestBody?.content ?? {}
  return content['application/json']?.schema ?? content['application/x-www-form-urlencoded']?.schema
}

/** The malformed requests for one operation (without credentials). */
function casesFor (op: Operation): Request[] {
  const cases: Request[] = []
  const json = (payload: unknown, type = 'application/json') => ({ 'content-type': type, payload: typeof payload === 'string' ? payload : JSON.stringify(payload) })
  const hasBody = bodyContentTypes(op).length > 0
  const base = hasBody ? valid(bodySchema(op)) : undefined
  const baseBody = hasBody ? json(base) : undefined
  const withBody = (url: string, body = baseBody): Request => body === undefined
    ? { method: op.method, url, headers: {} }
    : { method: op.method, url, headers: { 'content-type': body['content-type'] }, payload: body.payload }

  // path parameters
  if (op.path.includes('{')) for (const value of PATH_VALUES) cases.push(withBody(pathFor(op, value)))
  const url = pathFor(op)

  // query parameters: each declared one with bad values, repeated, plus unknown ones
  for (const param of (op.op.parameters ?? []).filter((p: Schema) => p.in === 'query')) {
    for (const value of QUERY_VALUES) cases.push(withBody(`${url}?${param.name}=${value}`))
    cases.push(withBody(`${url}?${param.name}=1&${param.name}=2`))
  }
  cases.push(withBody(`${url}?unknown=1&__proto__=x&constructor=y`))

  if (!hasBody) {
    // a body nobody asked for, in several types
    cases.push({ method: op.method, url, headers: { 'content-type': 'application/json' }, payload: '{"unexpected": true}' })
    cases.push({ method: op.method, url, headers: { 'content-type': 'text/plain' }, payload: 'hello' })
    return cases
  }
  // whole bodies of the wrong shape
  for (const raw of ['[]', '"string"', '123', 'null', '{', '{"a":', '{"__proto__":{"admin":true}}', '['.repeat(3000), JSON.stringify({ deep: JSON.parse('['.repeat(500) + ']'.repeat(500)) })]) {
    cases.push(withBody(url, json(raw)))
  }
  // each property with wrong, huge and NUL-bearing values
  const schema = resolve(bodySchema(op))
  for (const name of Object.keys(schema.properties ?? {})) {
    for (let i = 0; i < 6; i++) cases.push(withBody(url, json({ ...(base as object), [name]: pick(WRONG_VALUES) })))
    cases.push(withBody(url, json({ ...(base as object), [name]: NUL })))
    cases.push(withBody(url, json({ ...(base as object), [name]: 'y'.repeat(70 * 1024) })))
  }
  cases.push(withBody(url, json({ ...(base as object), extraField: 'x' })))
  cases.push(withBody(url, json({})))
  // content types
  for (const type of ['text/plain', 'application/xml', 'multipart/form-data; boundary=x', 'application/json; charset=utf-16', 'application/x-www-form-urlencoded', 'application/octet-stream']) {
    cases.push(withBody(url, { 'content-type': type, payload: type.startsWith('application/x-www') ? `a=%00&b=${'z'.repeat(100)}` : '{"x":1}' }))
  }
  cases.push({ method: op.method, url, headers: {}, payload: 'no content type at all' })
  if (bodyContentTypes(op).includes('application/x-www-form-urlencoded')) {
    for (const form of ['grant_type=password&username=%00&password=x', 'grant_type=%00', 'token=%00', 'token=' + 'a'.repeat(20000), 'a&b&c==&&=', 'grant_type=password&grant_type=refresh_token', '%ZZ=1']) {
      cases.push({ method: op.method, url, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: form })
    }
  }
  return cases
}

/** The RFC 6749 endpoints: their 400s are `{ error, error_description }`. */
function isOAuth (op: Operation): boolean {
  const declared = resolve(op.op.responses?.['400']?.content?.['application/json']?.schema ?? op.op.responses?.['400']?.content?.['application/problem+json']?.schema)
  return declared.properties?.error !== undefined && declared.properties?.code === undefined
}

const adminStillValid = async () => (await app.inject({ method: 'GET', url: '/v1/auth/me', headers: { authorization: `Bearer ${adminToken}` } })).statusCode === 200

t.test('every operation, every malformed input: no 5xx, errors in shape, fast', async t => {
  let sent = 0
  const problems: string[] = []
  const slow: string[] = []
  for (const op of operations) {
    if (!await adminStillValid()) adminToken = (await loginAdmin(app)).access_token
    const oauth = isOAuth(op)
    const credentials: Array<[string, Record<string, string>]> = [
      ['no token', {}],
      ['admin', { authorization: `Bearer ${adminToken}` }],
      ['user', { authorization: `Bearer ${user.token}` }],
      ['garbage token', { authorization: 'Bearer a.b.c' }]
    ]
    const cases = casesFor(op)
    for (const [i, request] of cases.entries()) {
      // every case without a token and as the admin; a rotating other credential for the rest
      for (const [who, headers] of [credentials[0], credentials[1], credentials[2 + (i % 2)]]) {
        const started = performance.now()
        const res = await app.inject({ method: request.method as 'GET', url: request.url, headers: { ...request.headers, ...headers }, ...(request.payload === undefined ? {} : { payload: request.payload }) })
        const ms = performance.now() - started
        sent++
        const where = `${request.method} ${request.url.slice(0, 80)} [${who}] ${request.headers['content-type'] ?? ''} ${String(request.payload ?? '').slice(0, 60)}`
        if (ms > 2000) slow.push(`${where}: ${Math.round(ms)} ms`)
        if (res.statusCode >= 500) problems.push(`${where}: ${res.statusCode} ${res.body.slice(0, 200)}`)
        if (!res.headers['x-request-id']) problems.push(`${where}: no x-request-id`)
        if (res.statusCode < 400) continue
        // browser navigations (authorize, end-session) answer with the HTML page they document
        if (/^text\/html/.test(String(res.headers['content-type'])) && op.op.responses?.[String(res.statusCode)]?.content?.['text/html'] !== undefined) {
          if (/\.ts:\d+|node_modules|at [A-Za-z.]+ \(/.test(res.body)) problems.push(`${where}: a stack trace leaked`)
          continue
        }
        let body: Record<string, unknown>
        try {
          body = res.json()
        } catch {
          problems.push(`${where}: ${res.statusCode} with a body that is not JSON`)
          continue
        }
        const oauthShape = typeof body.error === 'string' && Object.keys(body).every(k => k === 'error' || k === 'error_description')
        const problemShape = /^application\/problem\+json/.test(String(res.headers['content-type'])) &&
          typeof body.type === 'string' && typeof body.title === 'string' && body.status === res.statusCode &&
          typeof body.detail === 'string' && typeof body.code === 'string' && /^[A-Z][A-Z0-9_]*$/.test(body.code as string)
        if (oauth && res.statusCode === 400 && !oauthShape) problems.push(`${where}: OAuth 400 not in RFC 6749 shape: ${res.body.slice(0, 200)}`)
        else if (!problemShape && !(oauth && oauthShape)) problems.push(`${where}: ${res.statusCode} not problem+json: ${res.headers['content-type']} ${res.body.slice(0, 200)}`)
        if (/\.ts:\d+|node_modules|at [A-Za-z.]+ \(/.test(res.body)) problems.push(`${where}: a stack trace leaked`)
      }
    }
  }
  t.ok(sent >= 2000 && sent <= 20_000, `${sent} requests over ${operations.length} operations`)
  t.same(problems.slice(0, 50), [], `${problems.length} answers broke the contract`)
  t.same(slow, [], 'none slower than 2 s')
})

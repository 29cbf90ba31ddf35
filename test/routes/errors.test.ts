import t, { type Test } from 'tap'
import { Type } from '@sinclair/typebox'
import { buildApp } from '../../src/app.js'
import * as errors from '../../src/errors.js'
import { DuplicateRoleError, InvalidConditionError, InvalidPermissionError, RoleCycleError, UnknownRoleError } from '../../src/authz/errors.js'
import { bearer, createTestDatabase, newUser, testConfig } from '../helper.js'

/**
 * The error contract: RFC 9457 problem+json everywhere but the OAuth endpoints, the right status
 * for each kind of bad input, never a 500 for it, and x-request-id on every answer. The app gets
 * two extra routes before it is ready, to reach a 403 and an unexpected failure.
 */
const database = await createTestDatabase(t)
const app = await buildApp(testConfig(database.url), { database: database.handle, logger: false })
app.get('/test/audit-only', { config: { permissions: ['audit:read'] }, schema: { hide: true } }, async () => ({ ok: true }))
app.get('/test/boom', { config: { public: true }, schema: { hide: true } }, async () => {
  throw new Error('secret internals: password=hunter2 at /srv/warden/db.ts')
})
app.get('/test/aggregate', { config: { public: true }, schema: { hide: true } }, async () => {
  throw new AggregateError([new Error('password=hunter2')], 'secret internals')
})
app.post('/test/echo', {
  config: { public: true },
  schema: { hide: true, body: Type.Object({ name: Type.String({ maxLength: 10 }), n: Type.Optional(Type.Integer()) }, { additionalProperties: false }) }
}, async request => request.body)
/** the authorization engine's errors (src/authz/errors.ts), thrown from a handler as they would escape one */
const engineErrors: Record<string, () => Error> = {
  cycle: () => new RoleCycleError(['a', 'b', 'a']),
  'unknown-role': () => new UnknownRoleError('ghost', 'a'),
  'duplicate-role': () => new DuplicateRoleError('a'),
  'invalid-permission': () => new InvalidPermissionError('Posts:Read', 'role a'),
  'invalid-condition': () => new InvalidConditionError([{ path: '/owner', message: 'must be true' }], 'role a')
}
app.get('/test/engine/:kind', { config: { public: true }, schema: { hide: true } }, async request => {
  throw engineErrors[(request.params as { kind: string }).kind]!()
})
await app.ready()
t.teardown(() => app.close())

const user = await newUser(app, 'errors')

interface Reply { statusCode: number, headers: Record<string, unknown>, body: string, json: () => any }

function isProblem (t: Test, res: Reply, status: number, code: string) {
  t.equal(res.statusCode, status, res.body)
  t.match(res.headers['content-type'], /^application\/problem\+json/)
  const body = res.json()
  t.match(body, { type: String, title: String, status, detail: String, code })
  t.match(body.code, /^[A-Z][A-Z0-9_]*$/)
  t.ok(res.headers['x-request-id'], 'x-request-id on errors too')
}

t.test('400: validation failures list what is wrong', async t => {
  const res = await app.inject({ method: 'POST', url: '/test/echo', payload: { name: 'x'.repeat(11), extra: 1 } })
  isProblem(t, res, 400, 'VALIDATION_FAILED')
  t.ok(res.json().errors.length >= 1)
  for (const e of res.json().errors) t.match(e, { path: /^body/, message: String })
  const coerced = await app.inject({ method: 'POST', url: '/test/echo', payload: { name: ['x'] } })
  isProblem(t, coerced, 400, 'VALIDATION_FAILED')
  const numeric = await app.inject({ method: 'POST', url: '/test/echo', payload: { name: 'x', n: '5' } })
  isProblem(t, numeric, 400, 'VALIDATION_FAILED')
  const ok = await app.inject({ method: 'POST', url: '/test/echo', payload: { name: 'x', n: 5 } })
  t.same(ok.json(), { name: 'x', n: 5 })
})

t.test('400: malformed JSON and hostile JSON are not 500', async t => {
  for (const payload of ['{"name": ', '{name: "x"}', '', 'null', '"x"', '[]', '{"__proto__": {"admin": true}, "name": "x"}', '{"constructor": {"prototype": {"admin": true}}, "name": "x"}']) {
    const res = await app.inject({ method: 'POST', url: '/test/echo', headers: { 'content-type': 'application/json' }, payload })
    t.equal(res.statusCode, 400, `${JSON.stringify(payload)}: ${res.body}`)
    t.match(res.headers['content-type'], /^application\/problem\+json/)
    t.match(res.json().code, /^(BAD_REQUEST|VALIDATION_FAILED)$/)
  }
  t.equal(({} as Record<string, unknown>).admin, undefined, 'no prototype pollution')
  const oauth = await app.inject({ method: 'POST', url: '/v1/auth/token', headers: { 'content-type': 'application/json' }, payload: '{"grant_type":' })
  t.equal(oauth.statusCode, 400)
  t.same(Object.keys(oauth.json()).sort(), ['error', 'error_description'], 'the OAuth endpoint answers malformed JSON in RFC 6749 shape')
  t.equal(oauth.json().error, 'invalid_request')
})

t.test('401 and 403', async t => {
  const none = await app.inject({ method: 'GET', url: '/test/audit-only' })
  isProblem(t, none, 401, 'UNAUTHENTICATED')
  t.equal(none.headers['www-authenticate'], 'Bearer realm="warden"')
  const bad = await app.inject({ method: 'GET', url: '/test/audit-only', headers: bearer('x.y.z') })
  isProblem(t, bad, 401, 'INVALID_TOKEN')
  t.match(bad.headers['www-authenticate'], /^Bearer realm="warden", error="invalid_token"/)
  const forbidden = await app.inject({ method: 'GET', url: '/test/audit-only', headers: bearer(user.token) })
  isProblem(t, forbidden, 403, 'FORBIDDEN')
  t.notOk(forbidden.headers['www-authenticate'], 'a missing permission is not a scope problem')
})

t.test('401 comes before body validation and body parsing', async t => {
  const invalid = await app.inject({ method: 'PATCH', url: '/v1/auth/me', payload: { username: ['x'] } })
  isProblem(t, invalid, 401, 'UNAUTHENTICATED')
  const malformed = await app.inject({ method: 'PATCH', url: '/v1/auth/me', headers: { 'content-type': 'application/json' }, payload: '{' })
  isProblem(t, malformed, 401, 'UNAUTHENTICATED')
  const withBadToken = await app.inject({ method: 'POST', url: '/v1/auth/me/password', headers: bearer('a.b.c'), payload: {} })
  isProblem(t, withBadToken, 401, 'INVALID_TOKEN')
})

t.test('403 for a missing scope says which scope', async t => {
  const admin = await (await import('../helper.js')).loginAdmin(app, { scope: 'users:read' })
  const res = await app.inject({ method: 'GET', url: '/test/audit-only', headers: bearer(admin.access_token) })
  t.equal(res.statusCode, 403)
  t.match(res.headers['content-type'], /^application\/problem\+json/)
  t.match(res.headers['www-authenticate'], /^Bearer realm="warden", error="insufficient_scope", scope="audit:read"/)
})

t.test('404: unknown routes and methods are problem+json', async t => {
  for (const [method, url] of [['GET', '/nope'], ['GET', '/v1/nope/deeper?x=1'], ['DELETE', '/v1/auth/me'], ['PUT', '/v1/auth/token']] as const) {
    const res = await app.inject({ method, url })
    isProblem(t, res, 404, 'NOT_FOUND')
    t.notMatch(res.json().detail, /\?x=1/, 'the query string is not echoed')
  }
})

t.test('415: only JSON (and forms on the OAuth endpoints)', async t => {
  const text = await app.inject({ method: 'POST', url: '/v1/auth/register', headers: { 'content-type': 'text/plain' }, payload: '{"email":"a@b.test","username":"abc","password":"long enough pass"}' })
  isProblem(t, text, 415, 'UNSUPPORTED_MEDIA_TYPE')
  const xml = await app.inject({ method: 'POST', url: '/test/echo', headers: { 'content-type': 'application/xml' }, payload: '<name>x</name>' })
  isProblem(t, xml, 415, 'UNSUPPORTED_MEDIA_TYPE')
  const textOnEcho = await app.inject({ method: 'POST', url: '/test/echo', headers: { 'content-type': 'text/plain' }, payload: 'x' })
  isProblem(t, textOnEcho, 415, 'UNSUPPORTED_MEDIA_TYPE')
  const multipart = await app.inject({ method: 'PATCH', url: '/v1/auth/me', headers: { ...bearer(user.token), 'content-type': 'multipart/form-data; boundary=x' }, payload: '--x--' })
  isProblem(t, multipart, 415, 'UNSUPPORTED_MEDIA_TYPE')
})

t.test('413: bodies over 64 KB', async t => {
  const big = JSON.stringify({ name: 'x'.repeat(70 * 1024) })
  const res = await app.inject({ method: 'POST', url: '/test/echo', headers: { 'content-type': 'application/json' }, payload: big })
  isProblem(t, res, 413, 'PAYLOAD_TOO_LARGE')
  const register = await app.inject({ method: 'POST', url: '/v1/auth/register', headers: { 'content-type': 'application/json' }, payload: big })
  isProblem(t, register, 413, 'PAYLOAD_TOO_LARGE')
  const form = await app.inject({
    method: 'POST',
    url: '/v1/auth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: 'grant_type=password&username=' + 'x'.repeat(70 * 1024)
  })
  t.equal(form.statusCode, 413, 'a large form body on the token endpoint')
})

t.test('500: internals never leak', async t => {
  const res = await app.inject({ method: 'GET', url: '/test/boom' })
  isProblem(t, res, 500, 'INTERNAL_ERROR')
  t.notMatch(res.body, /hunter2|secret internals|\/srv\/warden|stack/)
})

t.test('x-request-id', async t => {
  const given = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'abc-123.req:7' } })
  t.equal(given.headers['x-request-id'], 'abc-123.req:7', 'a valid one is echoed')
  const onError = await app.inject({ method: 'GET', url: '/nope', headers: { 'x-request-id': 'trace-42' } })
  t.equal(onError.headers['x-request-id'], 'trace-42')
  const generated = await app.inject({ method: 'GET', url: '/healthz' })
  t.match(generated.headers['x-request-id'], /^[0-9a-f-]{36}$/, 'generated when absent')
  for (const bad of ['has spaces in it', 'x'.repeat(200), 'line\\nbreak', '<script>', '']) {
    const res = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': bad } })
    t.match(res.headers['x-request-id'], /^[0-9a-f-]{36}$/, `replaced: ${JSON.stringify(bad.slice(0, 20))}`)
  }
  const a = await app.inject({ method: 'GET', url: '/healthz' })
  t.not(a.headers['x-request-id'], generated.headers['x-request-id'], 'unique')
})

t.test('bad query input is 400, never 500', async t => {
  for (const query of ['?limit=abc', '?limit=-1', '?limit=1e3', '?cursor=%00%01', '?cursor=' + Buffer.from('{"t":"nope","id":"x"}').toString('base64url'), '?cursor=' + 'A'.repeat(3000)]) {
    const res = await app.inject({ method: 'GET', url: '/v1/auth/sessions' + query, headers: bearer(user.token) })
    t.equal(res.statusCode, 400, `${query.slice(0, 40)}: ${res.body}`)
    t.match(res.headers['content-type'], /^application\/problem\+json/)
  }
  const badUrl = await app.inject({ method: 'GET', url: '/v1/auth/sessions/%E0%A4%A' })
  t.ok(badUrl.statusCode === 400 || badUrl.statusCode === 404, `malformed URL: ${badUrl.statusCode}`)
})

t.test('every error class has a code listed in ERROR_CODES', async t => {
  const listed = new Set<string>(errors.ERROR_CODES)
  let count = 0
  for (const [name, value] of Object.entries(errors)) {
    if (typeof value !== 'function' || name === 'OAuthError' || name === 'TooManyAttempts') continue
    const instance = new (value as new (message?: string) => { code: string, statusCode: number })('x')
    t.ok(listed.has(instance.code), `${name} -> ${instance.code}`)
    t.ok(instance.statusCode >= 400 && instance.statusCode < 600)
    count++
  }
  t.ok(count >= 15)
})

t.test('the authorization engine\'s errors get their catalogue answer, never a 500', async t => {
  // the answers the role routes give for the same refusals: an inheritance cycle and a taken role
  // name are 409 CONFLICT, an unknown role or a malformed permission name 400 BAD_REQUEST, a bad
  // condition 400 INVALID_CONDITION with its errors
  const expected: Record<string, [number, string]> = {
    cycle: [409, 'CONFLICT'],
    'unknown-role': [400, 'BAD_REQUEST'],
    'duplicate-role': [409, 'CONFLICT'],
    'invalid-permission': [400, 'BAD_REQUEST'],
    'invalid-condition': [400, 'INVALID_CONDITION']
  }
  t.same(Object.keys(expected).sort(), Object.keys(engineErrors).sort())
  for (const [kind, [status, code]] of Object.entries(expected)) {
    const res = await app.inject({ method: 'GET', url: `/test/engine/${kind}` })
    isProblem(t, res, status, code)
    t.equal(res.json().detail, engineErrors[kind]!().message, `${kind}: the engine's message is the detail`)
  }
  const cycle = await app.inject({ method: 'GET', url: '/test/engine/cycle' })
  t.equal(cycle.json().detail, 'role inheritance cycle: a -> b -> a', 'as the role routes word it')
  const condition = await app.inject({ method: 'GET', url: '/test/engine/invalid-condition' })
  t.same(condition.json().errors, [{ path: '/owner', message: 'must be true' }], 'a bad condition lists what is wrong')
})

t.test('docs/api.md lists every code of the catalogue, with its status, and no other', async t => {
  const { readFile } = await import('node:fs/promises')
  const doc = await readFile(new URL('../../docs/api.md', import.meta.url), 'utf8')
  const bullet = /^- \*\*Error codes\*\*[\s\S]*?(?=^- \*\*)/m.exec(doc)?.[0]
  t.ok(bullet, 'the error codes bullet is in docs/api.md')
  const list = bullet!.slice(0, bullet!.indexOf('On the OAuth endpoints'))
  const documented = new Map<string, number>()
  for (const group of list.matchAll(/((?:`[A-Za-z_]+`,?\s*)+)\((\d{3})\)/g)) {
    for (const [, code] of group[1]!.matchAll(/`([A-Za-z_]+)`/g)) documented.set(code!.toUpperCase(), Number(group[2]))
  }
  t.same([...documented.keys()].sort(), [...errors.ERROR_CODES].sort(), 'the same codes')
  for (const [code, status] of documented) {
    const entry = errors.CATALOGUE.get(code)!
    t.equal(entry.statusCode, status, code)
    t.ok(list.includes(`\`${entry.format === 'oauth' ? code.toLowerCase() : code}\``), `${code} written as it is answered`)
  }
  // the contract's own list (Conventions) names codes of the catalogue only
  const conventions = /`code` is a stable UPPER_SNAKE string, e\.g\.([\s\S]*?)others may/.exec(doc)![1]!
  for (const [, code] of conventions.matchAll(/`([A-Z_]+)`/g)) t.ok(errors.ERROR_CODES.includes(code!), code)
})

t.test('OAuth errors answer in RFC 6749 shape, with their status and headers', async t => {
  const res = await app.inject({ method: 'POST', url: '/v1/auth/token', payload: { grant_type: 'client_credentials' } })
  t.equal(res.statusCode, 401)
  t.same(Object.keys(res.json()).sort(), ['error', 'error_description'])
  t.equal(res.json().error, 'invalid_client')
  t.equal(res.headers['www-authenticate'], 'Basic realm="warden"')
  t.equal(res.headers['cache-control'], 'no-store')
  const grant = await app.inject({ method: 'POST', url: '/v1/auth/token', payload: { grant_type: 'password', username: 'nobody-here', password: 'wrong password' } })
  t.equal(grant.statusCode, 400)
  t.same(grant.json(), { error: 'invalid_grant', error_description: 'invalid username or password' })
  t.notOk(grant.headers['www-authenticate'])
})

t.test('a 500 lists no errors of its own', async t => {
  const res = await app.inject({ method: 'GET', url: '/test/aggregate' })
  isProblem(t, res, 500, 'INTERNAL_ERROR')
  t.notOk(res.json().errors)
  t.notMatch(res.body, /hunter2/)
})

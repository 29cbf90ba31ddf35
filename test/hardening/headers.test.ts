import t from 'tap'
import { build, bearer, loginAdmin, newUser } from '../helper.js'

/**
 * Every answer, the router's own included, is problem+json with a request id when it is an
 * error, and carries the hardening headers; answers about the caller are never cached.
 */
const app = await build(t)
const admin = await loginAdmin(app)
const user = await newUser(app, 'headers')

t.test('the router\'s own refusals are problem+json with a request id', async t => {
  const cases = [
    { url: '/v1/users/%ZZ', status: 400, code: 'BAD_REQUEST' },
    { url: '/v1/users/%E0%A4%A', status: 400, code: 'BAD_REQUEST' },
    { url: '/v1/users/' + 'a'.repeat(250), status: 414, code: 'URI_TOO_LONG' },
    { url: '/v1/roles/' + 'r'.repeat(250) + '/permissions/x', status: 414, code: 'URI_TOO_LONG' }
  ]
  for (const c of cases) {
    const res = await app.inject({ method: 'GET', url: c.url, headers: { 'x-request-id': 'router-err-1', ...bearer(admin.access_token) } })
    t.equal(res.statusCode, c.status, `${c.url.slice(0, 30)}: ${res.body}`)
    t.match(res.headers['content-type'], /^application\/problem\+json/)
    t.match(res.json(), { type: String, title: String, status: c.status, detail: String, code: c.code })
    t.notMatch(res.body, /FST_ERR/, 'no framework code')
    t.equal(res.headers['x-request-id'], 'router-err-1', 'the request id is echoed')
    t.equal(res.headers['x-content-type-options'], 'nosniff')
  }
  const generated = await app.inject({ method: 'GET', url: '/v1/users/%ZZ' })
  t.match(generated.headers['x-request-id'], /^[0-9a-f-]{36}$/, 'or generated')
})

t.test('nosniff everywhere', async t => {
  const answers = await Promise.all([
    app.inject({ method: 'GET', url: '/healthz' }),
    app.inject({ method: 'GET', url: '/.well-known/jwks.json' }),
    app.inject({ method: 'GET', url: '/docs/json' }),
    app.inject({ method: 'GET', url: '/docs' }),
    app.inject({ method: 'GET', url: '/nope' }),
    app.inject({ method: 'GET', url: '/v1/auth/me' }),
    app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(user.token) }),
    app.inject({ method: 'POST', url: '/v1/auth/token', payload: { grant_type: 'nope' } }),
    app.inject({ method: 'GET', url: '/v1/users', headers: bearer(user.token) })
  ])
  for (const res of answers) t.equal(res.headers['x-content-type-options'], 'nosniff', `${res.statusCode} ${res.headers['content-type']}`)
})

t.test('answers about the caller are not stored by caches', async t => {
  const reads = ['/v1/auth/me', '/v1/users', `/v1/users/${user.id}`, `/v1/users/${user.id}/permissions`, '/v1/roles', '/v1/clients', '/v1/keys', '/v1/audit', '/v1/auth/sessions']
  for (const url of reads) {
    const res = await app.inject({ method: 'GET', url, headers: bearer(admin.access_token) })
    t.equal(res.statusCode, 200, url)
    t.equal(res.headers['cache-control'], 'no-store', url)
  }
  const denied = await app.inject({ method: 'GET', url: '/v1/users', headers: bearer(user.token) })
  t.equal(denied.statusCode, 403)
  t.equal(denied.headers['cache-control'], 'no-store', 'a refusal too')
  const token = await app.inject({ method: 'POST', url: '/v1/auth/token', payload: { grant_type: 'password', username: user.username, password: user.password } })
  t.equal(token.headers['cache-control'], 'no-store', 'token responses')
  const jwks = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
  t.match(jwks.headers['cache-control'], /^public, max-age=\d+$/, 'public documents stay cacheable')
})

t.test('frame protection and a content security policy', async t => {
  const api = await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(user.token) })
  t.equal(api.headers['x-content-type-options'], 'nosniff', 'JSON answers: nosniff (they are never rendered)')

  const docs = await app.inject({ method: 'GET', url: '/docs/' })
  t.equal(docs.statusCode, 200)
  t.equal(docs.headers['x-frame-options'], 'DENY', 'Swagger UI is never framed')
  t.equal(docs.headers['referrer-policy'], 'no-referrer', 'and gets helmet\'s other protections')
  const csp = String(docs.headers['content-security-policy'])
  t.match(csp, /default-src 'self'/, 'Swagger UI loads its own assets only')
  t.match(csp, /script-src 'self'/)
  t.match(csp, /frame-ancestors 'none'/)
  t.notMatch(csp, /unsafe-eval/)
  t.notMatch(csp, /upgrade-insecure-requests/, 'the issuer may be plain http on loopback')
  t.notOk(api.headers['strict-transport-security'], 'no HSTS for an http issuer')
})

import t from 'tap'
import { DEFAULT_PERMISSIONS } from '../../src/db/seed.js'
import { build } from '../helper.js'

const app = await build(t)
const res = await app.inject({ method: 'GET', url: '/docs/json' })
const doc = res.json() as {
  openapi: string
  info: { title: string, version: string }
  components: { securitySchemes: Record<string, any> }
  paths: Record<string, Record<string, Record<string, any>>>
}
const METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options'])
const operations = Object.entries(doc.paths).flatMap(([path, item]) =>
  Object.entries(item).filter(([method]) => METHODS.has(method)).map(([method, op]) => ({ path, method, op })))
const find = (method: string, path: string) => operations.find(o => o.method === method && o.path === path)?.op

/** The routes that need no token; everything else under /v1 must declare security. */
const PUBLIC = new Set(['post /v1/auth/token', 'post /v1/auth/revoke', 'post /v1/auth/register', 'get /v1/auth/authorize', 'get /v1/auth/end-session', 'post /v1/auth/end-session'])
/** browser navigations, whose errors are pages */
const HTML_PAGES = new Set(['get /v1/auth/authorize', 'get /v1/auth/end-session', 'post /v1/auth/end-session'])
/** Routes that authenticate their caller themselves (client credentials or a bearer token). */
const OWN_AUTH = new Set(['post /v1/auth/introspect'])

t.test('an OpenAPI 3.1 document', async t => {
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^application\/json/)
  t.equal(doc.openapi, '3.1.0')
  t.equal(doc.info.title, 'Warden')
  t.ok(operations.length >= 12, `${operations.length} operations`)
})

t.test('security schemes: bearer and OAuth2 password + client credentials', async t => {
  const { bearerAuth, oauth2 } = doc.components.securitySchemes
  t.match(bearerAuth, { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
  t.equal(oauth2.type, 'oauth2')
  t.match(oauth2.flows.password, { tokenUrl: /\/v1\/auth\/token$/ })
  t.match(oauth2.flows.clientCredentials, { tokenUrl: /\/v1\/auth\/token$/ })
  t.type(oauth2.flows.password.scopes, 'object')
})

t.test('every /v1 operation has a unique operationId, tags and a summary', async t => {
  const v1 = operations.filter(o => o.path.startsWith('/v1/'))
  t.ok(v1.length >= 10)
  const ids = new Set<string>()
  for (const { path, method, op } of v1) {
    t.match(op.operationId, /^[a-z][A-Za-z0-9]+$/, `${method} ${path} operationId`)
    t.notOk(ids.has(op.operationId), `${op.operationId} is unique`)
    ids.add(op.operationId)
    t.ok(Array.isArray(op.tags) && op.tags.length > 0, `${method} ${path} tags`)
    t.type(op.summary, 'string', `${method} ${path} summary`)
    t.ok(Object.keys(op.responses ?? {}).some(code => /^2/.test(code)), `${method} ${path} documents its success`)
  }
})

t.test('protected operations declare security, public ones declare none', async t => {
  for (const { path, method, op } of operations.filter(o => o.path.startsWith('/v1/'))) {
    const key = `${method} ${path}`
    if (PUBLIC.has(key)) {
      t.same(op.security, [], `${key} is public: security []`)
    } else if (OWN_AUTH.has(key)) {
      t.ok(Array.isArray(op.security) && op.security.length > 0, `${key} documents how to authenticate`)
    } else {
      t.same(op.security, [{ bearerAuth: [] }, { oauth2: [] }], `${key} needs a token`)
      t.ok(op.responses?.['401'], `${key} documents 401`)
    }
  }
  for (const path of ['/healthz', '/readyz', '/.well-known/jwks.json']) t.same(doc.paths[path].get.security, [], `${path} is public`)
  t.same(find('get', '/v1/auth/me')?.security, [{ bearerAuth: [] }, { oauth2: [] }])
})

t.test('operations list their required permissions in x-permissions: all or any, never allOf/anyOf', async t => {
  const withPermissions = operations.filter(o => o.op['x-permissions'])
  t.ok(withPermissions.length > 20, `${withPermissions.length} operations require permissions`)
  const known = new Set(Object.keys(DEFAULT_PERMISSIONS))
  for (const { path, method, op } of withPermissions) {
    const decl = op['x-permissions']
    t.notOk('allOf' in decl || 'anyOf' in decl || 'oneOf' in decl, `${method} ${path}: no JSON Schema keyword a generator would misread`)
    const names: string[] = decl.all ?? decl.any
    t.ok(Array.isArray(names) && names.length > 0, `${method} ${path}`)
    for (const name of names) t.ok(known.has(name), `${method} ${path}: ${name} is a seeded permission`)
    t.ok(op.security, `${method} ${path}: a permission route is protected`)
  }
  t.same(find('get', '/v1/users')?.['x-permissions'], { all: ['users:read'] })
  t.same(find('post', '/v1/keys/rotate')?.['x-permissions'], { all: ['keys:rotate'], global: true })
  t.match(find('patch', '/v1/posts/{id}')?.['x-permissions'], { all: ['posts:update'], checkedOn: 'resource' })
  t.notOk(find('get', '/v1/auth/me')?.['x-permissions'], 'an authenticated-only route requires no permission')
})

const schemas = (doc as unknown as { components: { schemas: Record<string, any> } }).components.schemas
const refs = (JSON.stringify(doc).match(/"\$ref":"#\/components\/schemas\/[A-Za-z0-9]+"/g) ?? [])

t.test('shared shapes are named schemas, referenced with $ref', async t => {
  for (const name of ['User', 'UserPage', 'Me', 'Role', 'Tenant', 'Client', 'CreatedClient', 'Session', 'Post', 'Permission', 'Assignment',
    'Decision', 'CheckRequest', 'Problem', 'ValidationError', 'TokenResponse', 'OAuthError', 'PasswordGrant', 'RefreshTokenGrant', 'ClientCredentialsGrant', 'Introspection', 'AuditEvent']) {
    t.ok(schemas[name], `components.schemas.${name}`)
  }
  for (const name of Object.keys(schemas)) t.match(name, /^[A-Z][A-Za-z0-9]+$/, `${name} is PascalCase`)
  t.ok(refs.length > 100, `${refs.length} $refs`)
  const used = new Set(refs.map(r => r.split('/').pop()!.replace('"', '')))
  for (const name of Object.keys(schemas)) t.ok(used.has(name), `${name} is used`)
  const getUser = find('get', '/v1/users/{id}')!
  t.same(getUser.responses['200'].content['application/json'].schema, { $ref: '#/components/schemas/User' })
  t.same(find('get', '/v1/users')!.responses['200'].content['application/json'].schema, { $ref: '#/components/schemas/UserPage' })
})

t.test('errors are declared as application/problem+json, OAuthError on the OAuth endpoints', async t => {
  for (const { path, method, op } of operations) {
    const errorStatuses = Object.keys(op.responses ?? {}).filter(s => /^[45]/.test(s))
    t.ok(errorStatuses.some(s => s.startsWith('4')), `${method} ${path} has a 4xx`)
    for (const status of errorStatuses) {
      const content = op.responses[status].content ?? {}
      const types = Object.keys(content)
      t.ok(types.length > 0, `${method} ${path} ${status} declares a body`)
      for (const type of types) {
        const ref = content[type].schema.$ref
        if (type === 'application/problem+json') t.equal(ref, '#/components/schemas/Problem', `${method} ${path} ${status}`)
        else if (type === 'text/html') t.ok(HTML_PAGES.has(`${method} ${path}`), `${method} ${path} ${status}: an HTML page from a browser endpoint`)
        else t.equal(ref, '#/components/schemas/OAuthError', `${method} ${path} ${status} ${type}`)
      }
    }
  }
  t.same(Object.keys(find('post', '/v1/auth/token')!.responses['400'].content), ['application/json'])
  t.same(Object.keys(find('get', '/v1/users')!.responses['403'].content), ['application/problem+json'])
  t.ok(find('post', '/v1/users')!.responses['413'], 'bodies may be too large')
  t.ok(find('post', '/v1/users')!.responses['429'], 'the rate limit')
  t.notOk(doc.paths['/healthz'].get.responses['429'], 'the probes are not rate limited')
})

t.test('parameters with a default are optional; bodies that may be left out are optional', async t => {
  for (const { path, method, op } of operations) {
    for (const param of op.parameters ?? []) {
      if (param.schema?.default !== undefined) t.notOk(param.required, `${method} ${path} ${param.name} has a default`)
    }
  }
  t.notOk(find('get', '/v1/users')!.parameters.find((p: { name: string }) => p.name === 'limit').required)
  t.notOk(find('post', '/v1/auth/logout')!.parameters.find((p: { name: string }) => p.name === 'all').required)
  t.equal(find('put', '/v1/roles/{name}/permissions/{permission}')!.requestBody.required, false)
  t.equal(find('put', '/v1/users/{id}/roles/{role}')!.requestBody.required, false)
})

t.test('the token endpoint: a form body, one schema per grant', async t => {
  const token = find('post', '/v1/auth/token')!
  const form = token.requestBody.content['application/x-www-form-urlencoded'].schema
  t.same(form.oneOf.map((s: { $ref: string }) => s.$ref.split('/').pop()), ['PasswordGrant', 'RefreshTokenGrant', 'ClientCredentialsGrant', 'AuthorizationCodeGrant'])
  t.equal(form.discriminator.propertyName, 'grant_type')
  t.same(schemas.PasswordGrant.required.sort(), ['grant_type', 'password', 'username'])
  t.same(schemas.PasswordGrant.properties.grant_type, { type: 'string', enum: ['password'] })
  t.same(token.responses['200'].content['application/json'].schema, { $ref: '#/components/schemas/TokenResponse' })
})

t.test('info names a license and a contact', async t => {
  const info = (doc as unknown as { info: Record<string, any> }).info
  t.match(info.license, { name: String })
  t.match(info.contact, { name: String })
})

t.test('request and response schemas are documented', async t => {
  const register = find('post', '/v1/auth/register')!
  t.same(register.requestBody.content['application/json'].schema, { $ref: '#/components/schemas/RegisterRequest' })
  const body = schemas.RegisterRequest
  t.equal(body.additionalProperties, false)
  t.same([...body.required].sort(), ['email', 'password', 'username'])
  t.ok(register.responses['201'])
  t.ok(register.responses['409'])
  const token = find('post', '/v1/auth/token')!
  t.ok(token.requestBody.content['application/x-www-form-urlencoded'], 'the token endpoint takes forms')
  t.ok(token.requestBody.content['application/json'], 'and JSON')
  t.notOk(schemas.User.properties.passwordHash, 'no hash in the documented user')
})

t.test('/docs serves the Swagger UI', async t => {
  const ui = await app.inject({ method: 'GET', url: '/docs' })
  t.equal(ui.statusCode, 200)
  t.match(ui.headers['content-type'], /^text\/html/)
  t.match(ui.body, /swagger/i)
  const yaml = await app.inject({ method: 'GET', url: '/docs/yaml' })
  t.equal(yaml.statusCode, 200)
})

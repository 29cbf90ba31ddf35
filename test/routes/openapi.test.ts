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
const PUBLIC = new Set(['post /v1/auth/token', 'post /v1/auth/revoke', 'post /v1/auth/register'])
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

t.test('protected operations declare security, public ones do not', async t => {
  for (const { path, method, op } of operations.filter(o => o.path.startsWith('/v1/'))) {
    const key = `${method} ${path}`
    if (PUBLIC.has(key)) {
      t.notOk(op.security, `${key} is public`)
    } else if (OWN_AUTH.has(key)) {
      t.ok(Array.isArray(op.security) && op.security.length > 0, `${key} documents how to authenticate`)
    } else {
      t.same(op.security, [{ bearerAuth: [] }, { oauth2: [] }], `${key} needs a token`)
      t.ok(op.responses?.['401'], `${key} documents 401`)
    }
  }
  t.same(find('get', '/v1/auth/me')?.security, [{ bearerAuth: [] }, { oauth2: [] }])
  t.notOk(find('post', '/v1/auth/token')?.security)
})

t.test('operations list their required permissions in x-permissions', async t => {
  const withPermissions = operations.filter(o => o.op['x-permissions'])
  t.ok(withPermissions.length > 0, 'some operations require permissions')
  const known = new Set(Object.keys(DEFAULT_PERMISSIONS))
  for (const { path, method, op } of withPermissions) {
    const decl = op['x-permissions']
    const names: string[] = decl.allOf ?? decl.anyOf
    t.ok(Array.isArray(names) && names.length > 0, `${method} ${path}`)
    for (const name of names) t.ok(known.has(name), `${method} ${path}: ${name} is a seeded permission`)
    t.ok(op.security, `${method} ${path}: a permission route is protected`)
  }
  const listUsers = find('get', '/v1/users')
  if (listUsers) {
    t.same(listUsers['x-permissions'], { allOf: ['users:read'] })
  }
  t.notOk(find('get', '/v1/auth/me')?.['x-permissions'], 'an authenticated-only route requires no permission')
})

t.test('request and response schemas are documented', async t => {
  const register = find('post', '/v1/auth/register')!
  const body = register.requestBody.content['application/json'].schema
  t.equal(body.additionalProperties, false)
  t.same([...body.required].sort(), ['email', 'password', 'username'])
  t.ok(register.responses['201'])
  t.ok(register.responses['409'])
  const token = find('post', '/v1/auth/token')!
  t.ok(token.requestBody.content['application/x-www-form-urlencoded'], 'the token endpoint takes forms')
  t.ok(token.requestBody.content['application/json'], 'and JSON')
  const user = register.responses['201'].content['application/json'].schema
  t.notOk(user.properties.passwordHash, 'no hash in the documented user')
})

t.test('/docs serves the Swagger UI', async t => {
  const ui = await app.inject({ method: 'GET', url: '/docs' })
  t.equal(ui.statusCode, 200)
  t.match(ui.headers['content-type'], /^text\/html/)
  t.match(ui.body, /swagger/i)
  const yaml = await app.inject({ method: 'GET', url: '/docs/yaml' })
  t.equal(yaml.statusCode, 200)
})

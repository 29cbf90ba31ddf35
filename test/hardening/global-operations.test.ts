import t from 'tap'
import { build, bearer, login, loginAdmin, newUser } from '../helper.js'

/**
 * Global resources (signing keys, the permission catalog, role definitions, tenants
 * themselves) need the permission from a global assignment. Before the fix, a user holding `*`
 * only in tenant T1, and a `*` client of T1, could rotate and list the keys and create
 * permissions.
 */
const app = await build(t)
const admin = (await loginAdmin(app)).access_token

async function call (token: string, method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: object) {
  return app.inject({ method, url, headers: bearer(token), ...(payload === undefined ? {} : { payload }) })
}

const t1 = (await call(admin, 'POST', '/v1/tenants', { slug: 'glob-t1', name: 'T1' })).json()
const t2 = (await call(admin, 'POST', '/v1/tenants', { slug: 'glob-t2', name: 'T2' })).json()
const tenantAdmin = await newUser(app, 'tadmin')
if ((await call(admin, 'PUT', `/v1/users/${tenantAdmin.id}/roles/admin`, { tenant: t1.id })).statusCode !== 201) throw new Error('assigning admin in T1 failed')
const tenantToken = (await login(app, tenantAdmin.username, tenantAdmin.password, { tenant: 'glob-t1' })).access_token
const client = (await call(admin, 'POST', '/v1/clients', { name: 'star-of-t1', scopes: ['*'], tenant: t1.id })).json()
const clientToken = (await app.inject({
  method: 'POST',
  url: '/v1/auth/token',
  payload: { grant_type: 'client_credentials', client_id: client.id, client_secret: client.clientSecret }
})).json().access_token as string
if (!clientToken) throw new Error('the client has no token')
await call(admin, 'POST', '/v1/roles', { name: 'glob-role', permissions: ['posts:read'] })

const globalOperations: Array<[string, 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', string, object?]> = [
  ['list signing keys', 'GET', '/v1/keys'],
  ['rotate signing keys', 'POST', '/v1/keys/rotate'],
  ['create a permission', 'POST', '/v1/permissions', { name: 'glob:made' }],
  ['delete a permission', 'DELETE', '/v1/permissions/glob%3Amade'],
  ['create a role', 'POST', '/v1/roles', { name: 'tenant-made' }],
  ['change a role', 'PATCH', '/v1/roles/glob-role', { description: 'changed by a tenant admin' }],
  ['grant to a role', 'PUT', '/v1/roles/glob-role/permissions/posts%3Aupdate', {}],
  ['revoke from a role', 'DELETE', '/v1/roles/glob-role/permissions/posts%3Aread'],
  ['delete a role', 'DELETE', '/v1/roles/glob-role'],
  ['create a tenant', 'POST', '/v1/tenants', { slug: 'tenant-made', name: 'X' }],
  ['delete another tenant', 'DELETE', `/v1/tenants/${t2.id}`],
  ['delete its own tenant', 'DELETE', `/v1/tenants/${t1.id}`]
]

for (const [who, token] of [['a tenant-scoped admin (* in T1)', tenantToken], ['a * client of T1', clientToken]] as const) {
  t.test(`${who} is refused every global operation`, async t => {
    for (const [name, method, url, payload] of globalOperations) {
      const res = await call(token, method, url, payload)
      t.equal(res.statusCode, 403, `${name}: ${res.body}`)
      t.match(res.headers['content-type'], /^application\/problem\+json/)
    }
    const keys = await call(admin, 'GET', '/v1/keys')
    t.equal(keys.json().items.length, 1, 'no key was rotated')
    t.equal((await call(admin, 'GET', '/v1/permissions/glob%3Amade')).statusCode, 404, 'no permission was created')
    const role = (await call(admin, 'GET', '/v1/roles/glob-role')).json()
    t.same(role.permissions, ['posts:read'], 'the role is unchanged')
    t.equal((await call(admin, 'GET', `/v1/tenants/${t2.id}`)).statusCode, 200, 'the other tenant exists')
  })
}

t.test('within its tenant the tenant admin still works', async t => {
  t.equal((await call(tenantToken, 'GET', '/v1/users')).statusCode, 200)
  t.equal((await call(tenantToken, 'GET', '/v1/roles')).statusCode, 200, 'reading role definitions (to assign them) is not global')
  t.equal((await call(tenantToken, 'GET', '/v1/permissions')).statusCode, 200)
  t.equal((await call(tenantToken, 'PATCH', `/v1/tenants/${t1.id}`, { name: 'T1 renamed' })).statusCode, 200, 'renaming its own tenant')
  t.equal((await call(tenantToken, 'GET', `/v1/tenants/${t2.id}`)).statusCode, 404, 'other tenants stay invisible')
})

t.test('a global administrator may do all of it', async t => {
  t.equal((await call(admin, 'GET', '/v1/keys')).statusCode, 200)
  t.equal((await call(admin, 'POST', '/v1/keys/rotate')).statusCode, 201)
  t.equal((await call(admin, 'POST', '/v1/permissions', { name: 'glob:made' })).statusCode, 201)
  t.equal((await call(admin, 'DELETE', '/v1/permissions/glob%3Amade')).statusCode, 204)
  t.equal((await call(admin, 'PATCH', '/v1/roles/glob-role', { description: 'by the admin' })).statusCode, 200)
  t.equal((await call(admin, 'DELETE', `/v1/tenants/${t2.id}`)).statusCode, 204)
})

t.test('the document says which operations are global', async t => {
  const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json()
  t.match(doc.paths['/v1/keys/rotate'].post['x-permissions'], { global: true })
  t.notOk(doc.paths['/v1/users'].get['x-permissions'].global)
})

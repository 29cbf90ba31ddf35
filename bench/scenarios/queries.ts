/**
 * Scenario Q: SQL statements per request for every operation of the OpenAPI document, with
 * warm caches (each read is sent once to warm up, then counted; each write is counted once, on
 * a fresh object). In process (app.inject), on a fresh database: `pglite` or a PostgreSQL URL.
 * An operation of the document without a request here is listed as not measured, so a new
 * route shows up in the table. Audit events are written in batches off the request path; the
 * batch is flushed before each count, and what a request itself runs is counted.
 * Prints one JSON line: QueryCountResult.
 */
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { openCountingDatabase } from '../lib/counting-db.js'

export interface QueryCountRow { operationId: string, method: string, path: string, status: number, queries: number, kind: 'read' | 'write' }
export interface QueryCountResult { backend: string, rows: QueryCountRow[], notMeasured: string[] }

const target = process.argv[2] ?? 'pglite'
const ADMIN_EMAIL = 'admin@warden.bench'
const ADMIN_PASSWORD = 'bench admin password 1'
const database = await openCountingDatabase(target === 'pglite'
  ? { databaseUrl: null, dataDir: 'memory://' }
  : { databaseUrl: target, dataDir: 'memory://' })
const config = loadConfig({
  DATA_DIR: 'memory://',
  WARDEN_ISSUER: 'http://warden.bench',
  WARDEN_ADMIN_EMAIL: ADMIN_EMAIL,
  WARDEN_ADMIN_PASSWORD: ADMIN_PASSWORD,
  LOG_LEVEL: 'silent',
  RATE_LIMIT_MAX: '10000000',
  ...(target === 'pglite' ? {} : { DATABASE_URL: target })
})
const app = await buildApp(config, { database, logger: false })
await app.ready()

type Req = { method: string, url: string, headers?: Record<string, string>, payload?: unknown }
const form = (fields: Record<string, string>) => ({ 'content-type': 'application/x-www-form-urlencoded', payload: new URLSearchParams(fields).toString() })

async function send (req: Req) {
  const { method, url, headers, payload } = req
  return app.inject({ method: method as 'GET', url, headers, payload: payload as string })
}
async function token (fields: Record<string, string>) {
  const { payload, ...headers } = form(fields)
  const res = await send({ method: 'POST', url: '/v1/auth/token', headers, payload })
  if (res.statusCode !== 200) throw new Error(`token: ${res.statusCode} ${res.body}`)
  return res.json() as { access_token: string, refresh_token?: string }
}
const bearer = (t: string) => ({ authorization: `Bearer ${t}` })

const admin = await token({ grant_type: 'password', username: ADMIN_EMAIL, password: ADMIN_PASSWORD })
const A = bearer(admin.access_token)
const json = async (req: Req) => {
  const res = await send(req)
  if (res.statusCode >= 300) throw new Error(`${req.method} ${req.url}: ${res.statusCode} ${res.body}`)
  return res.json()
}

// fixtures
let n = 0
const fresh = (p: string) => `${p}${++n}${Date.now() % 100000}`
async function newUser () {
  const username = fresh('qc')
  const password = 'pw-' + username + '-long-enough'
  const user = await json({ method: 'POST', url: '/v1/auth/register', payload: { email: `${username}@example.test`, username, password } })
  const tokens = await token({ grant_type: 'password', username, password })
  return { id: user.id as string, username, password, tokens }
}
const alice = await newUser()
const U = bearer(alice.tokens.access_token)
const tenant = await json({ method: 'POST', url: '/v1/tenants', headers: A, payload: { slug: fresh('t'), name: 'Q tenant' } })
const role = await json({ method: 'POST', url: '/v1/roles', headers: A, payload: { name: fresh('r'), permissions: ['posts:read'] } })
await json({ method: 'POST', url: '/v1/permissions', headers: A, payload: { name: `${fresh('res')}:read` } })
const client = await json({ method: 'POST', url: '/v1/clients', headers: A, payload: { name: fresh('c'), scopes: ['authz:check'] } })
const post = await json({ method: 'POST', url: '/v1/posts', headers: U, payload: { title: 'Q', content: 'q' } })
await json({ method: 'PUT', url: `/v1/users/${alice.id}/roles/${role.name}`, headers: A, payload: {} })

/** One request per operation: reads are repeated (warm), writes get a fresh object each time. */
const requests: Record<string, { kind: 'read' | 'write', make: () => Promise<Req> }> = {
  healthz: { kind: 'read', make: async () => ({ method: 'GET', url: '/healthz' }) },
  readyz: { kind: 'read', make: async () => ({ method: 'GET', url: '/readyz' }) },
  jwks: { kind: 'read', make: async () => ({ method: 'GET', url: '/.well-known/jwks.json' }) },
  openidConfiguration: { kind: 'read', make: async () => ({ method: 'GET', url: '/.well-known/openid-configuration' }) },
  oauthAuthorizationServerMetadata: { kind: 'read', make: async () => ({ method: 'GET', url: '/.well-known/oauth-authorization-server' }) },
  metrics: { kind: 'read', make: async () => ({ method: 'GET', url: '/metrics', headers: A }) },
  getMe: { kind: 'read', make: async () => ({ method: 'GET', url: '/v1/auth/me', headers: U }) },
  listSessions: { kind: 'read', make: async () => ({ method: 'GET', url: '/v1/auth/sessions', headers: U }) },
  listUsers: { kind: 'read', make: async () => ({ method: 'GET', url: '/v1/users?limit=20', headers: A }) },
  getUser: { kind: 'read', make: async () => ({ method: 'GET', url: `/v1/users/${alice.id}`, headers: A }) },
  listUserRoles: { kind: 'read', make: async () => ({ method: 'GET', url: `/v1/users/${alice.id}/roles`, headers: A }) },
  getUserPermissions: { kind: 'read', make: async () => ({ method: 'GET', url: `/v1/users/${alice.id}/permissions`, headers: A }) },
  listRoles: { kind: 'read', make: async () => ({ method: 'GET', url: '/v1/roles?limit=20', headers: A }) },
  getRole: { kind: 'read', make: async () => ({ method: 'GET', url: `/v1/roles/${role.name}`, headers: A }) },
  listPermissions: { kind: 'read', make: async () => ({ method: 'GET', url: '/v1/permissions?limit=20', headers: A }) },
  listTenants: { kind: 'read', make: async () => ({ method: 'GET', url: '/v1/tenants?limit=20', headers: A }) },
  getTenant: { kind: 'read', make: async () => ({ method: 'GET', url: `/v1/tenants/${tenant.id}`, headers: A }) },
  listTenantMembers: { kind: 'read', make: async () => ({ method: 'GET', url: `/v1/tenants/${tenant.id}/members`, headers: A }) },
  listClients: { kind: 'read', make: async () => ({ method: 'GET', url: '/v1/clients?limit=20', headers: A }) },
  getClient: { kind: 'read', make: async () => ({ method: 'GET', url: `/v1/clients/${client.id}`, headers: A }) },
  listKeys: { kind: 'read', make: async () => ({ method: 'GET', url: '/v1/keys', headers: A }) },
  listAuditEvents: { kind: 'read', make: async () => ({ method: 'GET', url: '/v1/audit?limit=20', headers: A }) },
  listPosts: { kind: 'read', make: async () => ({ method: 'GET', url: '/v1/posts?limit=20', headers: U }) },
  getPost: { kind: 'read', make: async () => ({ method: 'GET', url: `/v1/posts/${post.id}`, headers: U }) },
  checkPermission: { kind: 'read', make: async () => ({ method: 'POST', url: '/v1/authz/check', headers: U, payload: { permission: 'posts:read' } }) },
  checkPermissions: { kind: 'read', make: async () => ({ method: 'POST', url: '/v1/authz/check-batch', headers: U, payload: { checks: Array.from({ length: 100 }, () => ({ permission: 'posts:read' })) } }) },
  listPermissionSubjects: { kind: 'read', make: async () => ({ method: 'GET', url: '/v1/authz/subjects?permission=posts:read&limit=20', headers: A }) },
  introspect: { kind: 'read', make: async () => ({ method: 'POST', url: '/v1/auth/introspect', headers: { ...A, ...{ 'content-type': 'application/x-www-form-urlencoded' } }, payload: new URLSearchParams({ token: alice.tokens.access_token }).toString() }) },
  // writes
  register: { kind: 'write', make: async () => { const u = fresh('qr'); return { method: 'POST', url: '/v1/auth/register', payload: { email: `${u}@example.test`, username: u, password: 'pw-' + u + '-long-enough' } } } },
  token: { kind: 'write', make: async () => { const { payload, ...headers } = form({ grant_type: 'refresh_token', refresh_token: (await newUser()).tokens.refresh_token! }); return { method: 'POST', url: '/v1/auth/token', headers, payload } } },
  revoke: { kind: 'write', make: async () => { const { payload, ...headers } = form({ token: (await newUser()).tokens.refresh_token! }); return { method: 'POST', url: '/v1/auth/revoke', headers, payload } } },
  logout: { kind: 'write', make: async () => ({ method: 'POST', url: '/v1/auth/logout', headers: bearer((await newUser()).tokens.access_token), payload: {} }) },
  updateMe: { kind: 'write', make: async () => ({ method: 'PATCH', url: '/v1/auth/me', headers: U, payload: { fullName: fresh('Alice ') } }) },
  changePassword: { kind: 'write', make: async () => { const u = await newUser(); return { method: 'POST', url: '/v1/auth/me/password', headers: bearer(u.tokens.access_token), payload: { currentPassword: u.password, newPassword: u.password + '-new' } } } },
  deleteSession: { kind: 'write', make: async () => { const u = await newUser(); const t = bearer(u.tokens.access_token); const [s] = (await json({ method: 'GET', url: '/v1/auth/sessions', headers: t })).items ?? []; return { method: 'DELETE', url: `/v1/auth/sessions/${s?.id}`, headers: t } } },
  createUser: { kind: 'write', make: async () => { const u = fresh('qu'); return { method: 'POST', url: '/v1/users', headers: A, payload: { email: `${u}@example.test`, username: u, password: 'pw-' + u + '-long-enough' } } } },
  updateUser: { kind: 'write', make: async () => ({ method: 'PATCH', url: `/v1/users/${(await newUser()).id}`, headers: A, payload: { fullName: 'Renamed' } }) },
  deleteUser: { kind: 'write', make: async () => ({ method: 'DELETE', url: `/v1/users/${(await newUser()).id}`, headers: A }) },
  assignRole: { kind: 'write', make: async () => ({ method: 'PUT', url: `/v1/users/${(await newUser()).id}/roles/${role.name}`, headers: A, payload: {} }) },
  unassignRole: { kind: 'write', make: async () => { const u = await newUser(); await json({ method: 'PUT', url: `/v1/users/${u.id}/roles/${role.name}`, headers: A, payload: {} }); return { method: 'DELETE', url: `/v1/users/${u.id}/roles/${role.name}`, headers: A } } },
  createRole: { kind: 'write', make: async () => ({ method: 'POST', url: '/v1/roles', headers: A, payload: { name: fresh('r'), permissions: ['posts:read'] } }) },
  updateRole: { kind: 'write', make: async () => ({ method: 'PATCH', url: `/v1/roles/${role.name}`, headers: A, payload: { description: fresh('d') } }) },
  deleteRole: { kind: 'write', make: async () => { const r = await json({ method: 'POST', url: '/v1/roles', headers: A, payload: { name: fresh('r') } }); return { method: 'DELETE', url: `/v1/roles/${r.name}`, headers: A } } },
  grantPermission: { kind: 'write', make: async () => { const r = await json({ method: 'POST', url: '/v1/roles', headers: A, payload: { name: fresh('r') } }); return { method: 'PUT', url: `/v1/roles/${r.name}/permissions/posts:read`, headers: A, payload: {} } } },
  revokePermission: { kind: 'write', make: async () => { const r = await json({ method: 'POST', url: '/v1/roles', headers: A, payload: { name: fresh('r'), permissions: ['posts:read'] } }); return { method: 'DELETE', url: `/v1/roles/${r.name}/permissions/posts:read`, headers: A } } },
  createPermission: { kind: 'write', make: async () => ({ method: 'POST', url: '/v1/permissions', headers: A, payload: { name: `${fresh('res')}:read` } }) },
  deletePermission: { kind: 'write', make: async () => { const p = await json({ method: 'POST', url: '/v1/permissions', headers: A, payload: { name: `${fresh('res')}:read` } }); return { method: 'DELETE', url: `/v1/permissions/${p.name}`, headers: A } } },
  createTenant: { kind: 'write', make: async () => ({ method: 'POST', url: '/v1/tenants', headers: A, payload: { slug: fresh('t'), name: 'T' } }) },
  updateTenant: { kind: 'write', make: async () => ({ method: 'PATCH', url: `/v1/tenants/${tenant.id}`, headers: A, payload: { name: fresh('T') } }) },
  deleteTenant: { kind: 'write', make: async () => { const t = await json({ method: 'POST', url: '/v1/tenants', headers: A, payload: { slug: fresh('t'), name: 'T' } }); return { method: 'DELETE', url: `/v1/tenants/${t.id}`, headers: A } } },
  createClient: { kind: 'write', make: async () => ({ method: 'POST', url: '/v1/clients', headers: A, payload: { name: fresh('c'), scopes: ['authz:check'] } }) },
  deleteClient: { kind: 'write', make: async () => { const c = await json({ method: 'POST', url: '/v1/clients', headers: A, payload: { name: fresh('c'), scopes: [] } }); return { method: 'DELETE', url: `/v1/clients/${c.id}`, headers: A } } },
  rotateClientSecret: { kind: 'write', make: async () => ({ method: 'POST', url: `/v1/clients/${client.id}/secret`, headers: A, payload: {} }) },
  rotateKeys: { kind: 'write', make: async () => ({ method: 'POST', url: '/v1/keys/rotate', headers: A, payload: {} }) },
  createPost: { kind: 'write', make: async () => ({ method: 'POST', url: '/v1/posts', headers: U, payload: { title: fresh('p'), content: 'b' } }) },
  updatePost: { kind: 'write', make: async () => ({ method: 'PATCH', url: `/v1/posts/${post.id}`, headers: U, payload: { title: fresh('p') } }) },
  deletePost: { kind: 'write', make: async () => { const p = await json({ method: 'POST', url: '/v1/posts', headers: U, payload: { title: fresh('p'), content: 'b' } }); return { method: 'DELETE', url: `/v1/posts/${p.id}`, headers: U } } },
  publishPost: { kind: 'write', make: async () => { const p = await json({ method: 'POST', url: '/v1/posts', headers: U, payload: { title: fresh('p'), content: 'b' } }); return { method: 'POST', url: `/v1/posts/${p.id}/publish`, headers: A, payload: {} } } }
}

const doc = (await send({ method: 'GET', url: '/docs/json' })).json() as { paths: Record<string, Record<string, { operationId?: string }>> }
const rows: QueryCountRow[] = []
const notMeasured: string[] = []
for (const [path, item] of Object.entries(doc.paths)) {
  for (const [method, op] of Object.entries(item)) {
    if (!['get', 'post', 'put', 'patch', 'delete'].includes(method) || op.operationId === undefined) continue
    const entry = requests[op.operationId]
    if (entry === undefined) { notMeasured.push(op.operationId); continue }
    // the previous write's own NOTIFY comes back from the database a moment later and drops what
    // it made stale: let it arrive, then warm up, so a read's count is its steady state
    await new Promise(resolve => setTimeout(resolve, 50))
    if (entry.kind === 'read') await send(await entry.make())
    const req = await entry.make()
    await new Promise(resolve => setTimeout(resolve, 50))
    await app.audit.flush()
    const before = database.queries()
    const res = await send(req)
    const queries = database.queries() - before
    rows.push({ operationId: op.operationId, method: method.toUpperCase(), path, status: res.statusCode, queries, kind: entry.kind })
  }
}
await app.close()
await database.close()
process.stdout.write(JSON.stringify({ backend: target === 'pglite' ? 'pglite' : 'postgres', rows, notMeasured } satisfies QueryCountResult) + '\n')

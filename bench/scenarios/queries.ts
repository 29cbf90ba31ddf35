/**
 * Scenario Q: SQL statements per request for every operation of the OpenAPI document, with
 * warm caches (each read is sent once to warm up, then counted; each write is counted once, on
 * a fresh object). In process (app.inject), on a fresh database: `pglite` or a PostgreSQL URL.
 * An operation of the document without a request here is listed as not measured, so a new
 * route shows up in the table. Audit events are written in batches off the request path; the
 * batch is flushed before each count, and what a request itself runs is counted. The browser
 * navigations (authorize, end-session) are sent with a browser session's cookie and must answer
 * their redirect, with the Location expected.
 * Prints one JSON line: QueryCountResult.
 */
import { createHash, randomBytes } from 'node:crypto'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { BUILT_IN_CLIENTS } from '../../src/db/seed.js'
import { totpCode } from '../../src/security/totp.js'
import { openCountingDatabase } from '../lib/counting-db.js'

/** `expect`: the status the request must answer when that is not a 2xx (a browser navigation's redirect). */
export interface QueryCountRow { operationId: string, method: string, path: string, status: number, queries: number, kind: 'read' | 'write', expect?: number }
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

// browser sign-in (authorization code flow, end-session, consents): a cookie jar over app.inject
const ISSUER = config.issuer
const CONSOLE = { id: BUILT_IN_CLIENTS.console.id, redirect: ISSUER + BUILT_IN_CLIENTS.console.redirect, postLogout: ISSUER + BUILT_IN_CLIENTS.console.postLogout }
const PARTNER_REDIRECT = 'https://partner.example/callback'
class Browser {
  readonly jar = new Map<string, string>()
  cookie (): Record<string, string> {
    return this.jar.size === 0 ? {} : { cookie: [...this.jar].map(([name, value]) => `${name}=${value}`).join('; ') }
  }

  async go (req: Req) {
    const res = await send({ ...req, headers: { ...req.headers, ...this.cookie() } })
    for (const c of res.cookies as Array<{ name: string, value: string, maxAge?: number, expires?: Date }>) {
      if (c.value === '' || c.maxAge === 0 || (c.expires !== undefined && c.expires.getTime() <= Date.now())) this.jar.delete(c.name)
      else this.jar.set(c.name, c.value)
    }
    return res
  }

  async submit (url: string, fields: Record<string, string>) {
    const { payload, ...headers } = form(fields)
    return this.go({ method: 'POST', url, headers, payload })
  }
}
const unescapeHtml = (s: string) => s.replace(/&(amp|lt|gt|quot|#39|#x27);/g, m => ({ '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'", '&#x27;': "'" })[m]!)
/** The hidden inputs of a page's forms. */
const hiddenFields = (html: string) => Object.fromEntries([...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map(m => [unescapeHtml(m[1]), unescapeHtml(m[2])]))
const expectStatus = (what: string, res: { statusCode: number, body: string }, status: number) => {
  if (res.statusCode !== status) throw new Error(`${what}: ${res.statusCode} (expected ${status}) ${res.body.slice(0, 300)}`)
}
/** A browser signed in to Warden through the sign-in page (no authorization request). */
async function signIn (u: { username: string, password: string }) {
  const browser = new Browser()
  const page = await browser.go({ method: 'GET', url: '/signin' })
  expectStatus('sign-in page', page, 200)
  const res = await browser.submit('/signin', { ...hiddenFields(page.body), username: u.username, password: u.password })
  expectStatus('sign-in', res, 200)
  if (!browser.jar.has('__Host-warden_session')) throw new Error('sign-in: no session cookie')
  return browser
}
const pkce = () => {
  const verifier = randomBytes(32).toString('base64url')
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') }
}
const authorizeUrl = (clientId: string, redirectUri: string, scope: string, challenge: string) => '/v1/auth/authorize?' + new URLSearchParams({
  response_type: 'code', client_id: clientId, redirect_uri: redirectUri, scope, state: 'q-state', nonce: 'q-nonce', code_challenge: challenge, code_challenge_method: 'S256'
}).toString()
/** An authorization code through the browser's session, allowing the consent page when the client asks. */
async function codeFor (browser: Browser, clientId: string, redirectUri: string, scope: string) {
  const { verifier, challenge } = pkce()
  let res = await browser.go({ method: 'GET', url: authorizeUrl(clientId, redirectUri, scope, challenge) })
  if (res.statusCode === 200) res = await browser.submit('/consent', { ...hiddenFields(res.body), decision: 'allow' })
  expectStatus('authorize', res, 303)
  const code = new URL(res.headers.location as string).searchParams.get('code')
  if (code === null) throw new Error(`authorize: no code in ${String(res.headers.location)}`)
  return { code, verifier }
}
/** The console's (public client) tokens for the browser's user: an ID token and an access token with openid. */
async function consoleTokens (browser: Browser) {
  const { code, verifier } = await codeFor(browser, CONSOLE.id, CONSOLE.redirect, 'openid profile email')
  const tokens = await token({ grant_type: 'authorization_code', code, redirect_uri: CONSOLE.redirect, code_verifier: verifier, client_id: CONSOLE.id }) as { access_token: string, id_token?: string }
  if (tokens.id_token === undefined) throw new Error('code exchange: no id_token')
  return tokens as { access_token: string, id_token: string }
}
const partner = await json({ method: 'POST', url: '/v1/clients', headers: A, payload: { name: fresh('partner'), scopes: ['posts:read'], grantTypes: ['authorization_code', 'refresh_token'], redirectUris: [PARTNER_REDIRECT] } }) as { id: string, clientSecret: string }
/** The user allows the third-party client and it redeems the code: a consent and a session it holds. */
async function consentTo (browser: Browser) {
  const { code, verifier } = await codeFor(browser, partner.id, PARTNER_REDIRECT, 'openid posts:read')
  const { payload, ...headers } = form({ grant_type: 'authorization_code', code, redirect_uri: PARTNER_REDIRECT, code_verifier: verifier })
  const res = await send({ method: 'POST', url: '/v1/auth/token', headers: { ...headers, authorization: 'Basic ' + Buffer.from(`${partner.id}:${partner.clientSecret}`).toString('base64') }, payload })
  expectStatus('partner code exchange', res, 200)
}
const aliceBrowser = await signIn(alice)
const aliceOidc = await consoleTokens(aliceBrowser)
await consentTo(aliceBrowser)
/** A fresh user with a pending TOTP enrolment, and its secret. */
async function enrolled () {
  const u = await newUser()
  const { secret } = await json({ method: 'POST', url: '/v1/auth/mfa/totp', headers: bearer(u.tokens.access_token) }) as { secret: string }
  return { ...u, secret }
}
/** What-if previews a grant of posts:update on a role three users hold (each gains it). */
const previewed = await json({ method: 'POST', url: '/v1/roles', headers: A, payload: { name: fresh('r'), permissions: ['posts:read'] } }) as { name: string }
for (let i = 0; i < 3; i++) await json({ method: 'PUT', url: `/v1/users/${(await newUser()).id}/roles/${previewed.name}`, headers: A, payload: {} })
const endSessionUrl = (params: Record<string, string>) => '/v1/auth/end-session?' + new URLSearchParams({ post_logout_redirect_uri: CONSOLE.postLogout, state: 'q-state', ...params }).toString()

/** One request per operation: reads are repeated (warm), writes get a fresh object each time. */
const requests: Record<string, { kind: 'read' | 'write', make: () => Promise<Req>, expect?: number, location?: string }> = {
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
  whatIf: { kind: 'read', make: async () => ({ method: 'POST', url: '/v1/authz/what-if', headers: A, payload: { change: { kind: 'grant', role: previewed.name, permission: 'posts:update' } } }), expect: 200 },
  userinfo: { kind: 'read', make: async () => ({ method: 'GET', url: '/v1/auth/userinfo', headers: bearer(aliceOidc.access_token) }), expect: 200 },
  userinfoPost: { kind: 'read', make: async () => ({ method: 'POST', url: '/v1/auth/userinfo', headers: bearer(aliceOidc.access_token) }), expect: 200 },
  listConsents: { kind: 'read', make: async () => ({ method: 'GET', url: '/v1/auth/consents', headers: U }), expect: 200 },
  getMfa: { kind: 'read', make: async () => ({ method: 'GET', url: '/v1/auth/mfa', headers: U }), expect: 200 },
  introspect: { kind: 'read', make: async () => ({ method: 'POST', url: '/v1/auth/introspect', headers: { ...A, ...{ 'content-type': 'application/x-www-form-urlencoded' } }, payload: new URLSearchParams({ token: alice.tokens.access_token }).toString() }) },
  // writes
  // a signed-in browser coming back to the console: straight to its redirect URI with a new code
  authorize: { kind: 'write', make: async () => ({ method: 'GET', url: authorizeUrl(CONSOLE.id, CONSOLE.redirect, 'openid profile email', pkce().challenge), headers: aliceBrowser.cookie() }), expect: 303, location: CONSOLE.redirect + '?code=' },
  // RP-initiated logout of a fresh browser session (and the console session it began): with the ID token, at once
  endSession: { kind: 'write', make: async () => { const b = await signIn(alice); const { id_token: hint } = await consoleTokens(b); return { method: 'GET', url: endSessionUrl({ id_token_hint: hint }), headers: b.cookie() } }, expect: 303, location: CONSOLE.postLogout + '?state=q-state' },
  // without an ID token: the confirmation page's form, sent back
  endSessionConfirm: {
    kind: 'write',
    make: async () => {
      const b = await signIn(alice)
      await consoleTokens(b)
      const page = await b.go({ method: 'GET', url: endSessionUrl({ client_id: CONSOLE.id }) })
      expectStatus('end-session confirmation page', page, 200)
      const { payload, ...headers } = form(hiddenFields(page.body))
      return { method: 'POST', url: '/v1/auth/end-session', headers: { ...headers, ...b.cookie() }, payload }
    },
    expect: 303,
    location: CONSOLE.postLogout + '?state=q-state'
  },
  revokeConsent: { kind: 'write', make: async () => { const u = await newUser(); await consentTo(await signIn(u)); return { method: 'DELETE', url: `/v1/auth/consents/${partner.id}`, headers: bearer(u.tokens.access_token) } }, expect: 204 },
  enrolTotp: { kind: 'write', make: async () => ({ method: 'POST', url: '/v1/auth/mfa/totp', headers: bearer((await newUser()).tokens.access_token) }), expect: 201 },
  confirmTotp: { kind: 'write', make: async () => { const u = await enrolled(); return { method: 'POST', url: '/v1/auth/mfa/totp/confirm', headers: bearer(u.tokens.access_token), payload: { code: totpCode(u.secret) } } }, expect: 200 },
  disableTotp: {
    kind: 'write',
    make: async () => {
      const u = await enrolled()
      await json({ method: 'POST', url: '/v1/auth/mfa/totp/confirm', headers: bearer(u.tokens.access_token), payload: { code: totpCode(u.secret) } })
      return { method: 'DELETE', url: '/v1/auth/mfa/totp', headers: bearer(u.tokens.access_token), payload: { password: u.password } }
    },
    expect: 204
  },
  register: { kind: 'write', make: async () => { const u = fresh('qr'); return { method: 'POST', url: '/v1/auth/register', payload: { email: `${u}@example.test`, username: u, password: 'pw-' + u + '-long-enough' } } } },
  token: { kind: 'write', make: async () => { const { payload, ...headers } = form({ grant_type: 'refresh_token', refresh_token: (await newUser()).tokens.refresh_token! }); return { method: 'POST', url: '/v1/auth/token', headers, payload } } },
  revoke: { kind: 'write', make: async () => { const { payload, ...headers } = form({ token: (await newUser()).tokens.refresh_token! }); return { method: 'POST', url: '/v1/auth/revoke', headers, payload } } },
  logout: { kind: 'write', make: async () => ({ method: 'POST', url: '/v1/auth/logout', headers: bearer((await newUser()).tokens.access_token), payload: {} }) },
  updateMe: { kind: 'write', make: async () => ({ method: 'PATCH', url: '/v1/auth/me', headers: U, payload: { fullName: fresh('Alice ') } }) },
  changePassword: { kind: 'write', make: async () => { const u = await newUser(); return { method: 'POST', url: '/v1/auth/me/password', headers: bearer(u.tokens.access_token), payload: { currentPassword: u.password, newPassword: u.password + '-new' } } } },
  listUserSessions: { kind: 'read', make: async () => { const u = await newUser(); return { method: 'GET', url: `/v1/users/${u.id}/sessions`, headers: A } } },
  deleteUserSession: { kind: 'write', make: async () => { const u = await newUser(); const [s] = (await json({ method: 'GET', url: `/v1/users/${u.id}/sessions`, headers: A })).items ?? []; return { method: 'DELETE', url: `/v1/users/${u.id}/sessions/${s?.id}`, headers: A } } },
  deleteSession: { kind: 'write', make: async () => { const u = await newUser(); const t = bearer(u.tokens.access_token); const [s] = (await json({ method: 'GET', url: '/v1/auth/sessions', headers: t })).items ?? []; return { method: 'DELETE', url: `/v1/auth/sessions/${s?.id}`, headers: t } } },
  createUser: { kind: 'write', make: async () => { const u = fresh('qu'); return { method: 'POST', url: '/v1/users', headers: A, payload: { email: `${u}@example.test`, username: u, password: 'pw-' + u + '-long-enough' } } } },
  updateUser: { kind: 'write', make: async () => ({ method: 'PATCH', url: `/v1/users/${(await newUser()).id}`, headers: A, payload: { fullName: 'Renamed' } }) },
  deleteUser: { kind: 'write', make: async () => ({ method: 'DELETE', url: `/v1/users/${(await newUser()).id}`, headers: A }) },
  resetUserMfa: {
    kind: 'write',
    make: async () => {
      const u = await enrolled()
      await json({ method: 'POST', url: '/v1/auth/mfa/totp/confirm', headers: bearer(u.tokens.access_token), payload: { code: totpCode(u.secret) } })
      return { method: 'DELETE', url: `/v1/users/${u.id}/mfa`, headers: A }
    },
    expect: 204
  },
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
  updateClient: { kind: 'write', make: async () => { const c = await json({ method: 'POST', url: '/v1/clients', headers: A, payload: { name: fresh('c'), scopes: ['authz:check'] } }); return { method: 'PATCH', url: `/v1/clients/${c.id}`, headers: A, payload: { name: fresh('c') } } }, expect: 200 },
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
    if (entry.expect !== undefined) expectStatus(`${method.toUpperCase()} ${path}`, res, entry.expect)
    if (entry.location !== undefined && !String(res.headers.location).startsWith(entry.location)) throw new Error(`${method.toUpperCase()} ${path}: to ${String(res.headers.location)}, not ${entry.location}...`)
    rows.push({ operationId: op.operationId, method: method.toUpperCase(), path, status: res.statusCode, queries, kind: entry.kind, ...(entry.expect === undefined ? {} : { expect: entry.expect }) })
  }
}
await app.close()
await database.close()
process.stdout.write(JSON.stringify({ backend: target === 'pglite' ? 'pglite' : 'postgres', rows, notMeasured } satisfies QueryCountResult) + '\n')

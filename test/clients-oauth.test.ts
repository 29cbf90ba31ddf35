import t from 'tap'
import { and, eq } from 'drizzle-orm'
import { build, bearer, login, loginAdmin, newUser } from './helper.js'
import { auditEvents, clients, roleAssignments, roles, tenants } from '../src/db/schema/index.js'
import { changed } from '../src/access/changes.js'
import { clientAllowsGrant, hashClientSecret } from '../src/services/clients.js'

// The admin clients API for browser sign-in (API.md "Browser sign-in", Clients): client types,
// redirect URIs, grant types, first-party clients, PATCH, and what the client_credentials grant
// makes of them.

const app = await build(t)
const [acme] = await app.db.insert(tenants).values({ slug: 'oauth-acme', name: 'Acme' }).returning()
const admin = await loginAdmin(app)

interface Client {
  id: string
  name: string
  type: 'confidential' | 'public'
  scopes: string[]
  redirectUris: string[]
  postLogoutRedirectUris: string[]
  grantTypes: string[]
  firstParty: boolean
  tenantId: string
  clientSecret?: string | null
}

const createClient = (body: Record<string, unknown>, token = admin.access_token) =>
  app.inject({ method: 'POST', url: '/v1/clients', headers: bearer(token), payload: body })

async function newClient (body: Record<string, unknown>, token = admin.access_token): Promise<Client> {
  const res = await createClient(body, token)
  if (res.statusCode !== 201) throw new Error(`create client: ${res.statusCode} ${res.body}`)
  return res.json()
}

const patchClient = (id: string, body: Record<string, unknown>, token = admin.access_token) =>
  app.inject({ method: 'PATCH', url: `/v1/clients/${id}`, headers: bearer(token), payload: body })

const getClient = (id: string, token = admin.access_token) =>
  app.inject({ method: 'GET', url: `/v1/clients/${id}`, headers: bearer(token) })

const basic = (id: string, secret: string) => ({ authorization: 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64') })

function form (url: string, headers: Record<string, string>, fields: Record<string, string>) {
  return app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    payload: new URLSearchParams(fields).toString()
  })
}

const clientGrant = (headers: Record<string, string>, fields: Record<string, string> = {}) =>
  form('/v1/auth/token', headers, { grant_type: 'client_credentials', ...fields })

async function clientsNamed (name: string) {
  return app.db.select().from(clients).where(eq(clients.name, name))
}

async function auditOf (action: string, targetId?: string) {
  await app.audit.flush()
  return app.db.select().from(auditEvents)
    .where(and(eq(auditEvents.action, action), targetId === undefined ? undefined : eq(auditEvents.targetId, targetId)))
}

/** A user holding `role` only within `tenantId`, logged in there. */
async function tenantMember (role: string, tenantId: string) {
  const user = await newUser(app, 'member')
  const [r] = await app.db.select({ id: roles.id }).from(roles).where(eq(roles.name, role))
  await app.db.delete(roleAssignments).where(eq(roleAssignments.userId, user.id))
  await app.db.insert(roleAssignments).values({ userId: user.id, roleId: r.id, tenantId })
  await app.changes.publish(changed.user(user.id))
  const tokens = await login(app, user.username, user.password, { tenant: tenantId })
  return { ...user, token: tokens.access_token }
}

const VIEW_KEYS = ['createdAt', 'createdBy', 'firstParty', 'grantTypes', 'id', 'name', 'postLogoutRedirectUris', 'redirectUris', 'scopes', 'secretRotatedAt', 'tenantId', 'type']

t.test('without the new fields: a confidential client_credentials client, as before', async t => {
  const res = await createClient({ name: 'old-style', scopes: ['posts:read'] })
  t.equal(res.statusCode, 201, res.body)
  const body = res.json()
  t.same(Object.keys(body).sort(), [...VIEW_KEYS, 'clientSecret'].sort())
  t.match(body, { type: 'confidential', grantTypes: ['client_credentials'], redirectUris: [], postLogoutRedirectUris: [], firstParty: false })
  t.match(body.clientSecret, /^[A-Za-z0-9_-]{43}$/)
  const [row] = await app.db.select().from(clients).where(eq(clients.id, body.id))
  t.type(row.secretHash, 'string')
  t.equal(row.type, 'confidential')
  const grant = await clientGrant(basic(body.id, body.clientSecret))
  t.equal(grant.statusCode, 200, grant.body)
  t.equal(grant.json().scope, 'posts:read')

  const get = await getClient(body.id)
  t.same(Object.keys(get.json()).sort(), VIEW_KEYS, 'the view, never the secret')
  const list = await app.inject({ method: 'GET', url: '/v1/clients?limit=100', headers: bearer(admin.access_token) })
  const listed = list.json().items.find((c: Client) => c.id === body.id)
  t.same(Object.keys(listed).sort(), VIEW_KEYS)
})

t.test('a public client: no secret, authorization_code by default', async t => {
  const res = await createClient({ name: 'spa', scopes: ['posts:read'], type: 'public', redirectUris: ['https://spa.example.com/callback', 'http://127.0.0.1/cb'] })
  t.equal(res.statusCode, 201, res.body)
  t.equal(res.headers['cache-control'], 'no-store')
  const body = res.json()
  t.match(body, {
    type: 'public',
    grantTypes: ['authorization_code'],
    redirectUris: ['https://spa.example.com/callback', 'http://127.0.0.1/cb'],
    postLogoutRedirectUris: [],
    firstParty: false,
    clientSecret: null
  })
  const [row] = await app.db.select().from(clients).where(eq(clients.id, body.id))
  t.equal(row.secretHash, null, 'no secret stored')
  t.equal(row.type, 'public')
  const get = await getClient(body.id)
  t.equal(get.statusCode, 200)
  t.match(get.json(), { type: 'public', grantTypes: ['authorization_code'], redirectUris: body.redirectUris })
  const [event] = await auditOf('client.create', body.id)
  t.match(event?.after, { type: 'public', redirectUris: body.redirectUris })

  const rotate = await app.inject({ method: 'POST', url: `/v1/clients/${body.id}/secret`, headers: bearer(admin.access_token) })
  t.equal(rotate.statusCode, 409, rotate.body)
  t.equal(rotate.json().code, 'CONFLICT')
  t.match(rotate.json().detail, /public client has no secret/)
  const [after] = await app.db.select().from(clients).where(eq(clients.id, body.id))
  t.equal(after.secretHash, null, 'still no secret')
  t.equal(after.tokenVersion, 0)

  const withRefresh = await newClient({
    name: 'native',
    scopes: [],
    type: 'public',
    firstParty: true,
    grantTypes: ['authorization_code', 'refresh_token'],
    redirectUris: ['http://localhost:8123/cb', 'https://app.example.com/oauth2redirect'],
    postLogoutRedirectUris: ['https://app.example.com/bye']
  })
  t.match(withRefresh, { type: 'public', firstParty: true, grantTypes: ['authorization_code', 'refresh_token'], postLogoutRedirectUris: ['https://app.example.com/bye'], clientSecret: null })
})

t.test('a confidential web app: a secret, the code flow and client_credentials', async t => {
  const c = await newClient({
    name: 'web',
    scopes: ['posts:read'],
    type: 'confidential',
    firstParty: true,
    grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
    redirectUris: ['https://web.example.com/oauth/callback?x=1'],
    postLogoutRedirectUris: ['https://web.example.com/']
  })
  t.match(c, { type: 'confidential', firstParty: true, grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'] })
  t.match(c.clientSecret, /^[A-Za-z0-9_-]{43}$/)
  const grant = await clientGrant(basic(c.id, c.clientSecret!))
  t.equal(grant.statusCode, 200, grant.body)
})

t.test('bad redirect URIs: 400 VALIDATION_FAILED with the path, nothing created', async t => {
  const bad: Array<[string, RegExp]> = [
    ['http://app.example.com/callback', /https/],
    ['https://app.example.com/callback#frag', /fragment/],
    ['https://app.example.com/callback#', /fragment/],
    ['/callback', /absolute/],
    ['callback', /absolute/],
    ['https://user:pass@app.example.com/callback', /user information/],
    ['https://user@app.example.com/callback', /user information/],
    ['javascript:alert(1)', /https/],
    ['data:text/html,hi', /https/],
    ['http://127.0.0.1.evil.example/cb', /https/],
    ['https://app.example.com/a b', /white space/],
    ['https://app.example.com/' + 'a'.repeat(2000), /2000/],
    ['', /.+/]
  ]
  let n = 0
  for (const [uri, message] of bad) {
    for (const field of ['redirectUris', 'postLogoutRedirectUris'] as const) {
      const name = `bad-uri-${n++}`
      const res = await createClient({ name, scopes: [], type: 'public', redirectUris: ['https://ok.example.com/cb'], [field]: field === 'redirectUris' ? ['https://ok.example.com/cb', uri] : [uri] })
      t.equal(res.statusCode, 400, `${field} ${JSON.stringify(uri.slice(0, 60))}: ${res.body.slice(0, 300)}`)
      const problem = res.json()
      t.equal(problem.code, 'VALIDATION_FAILED')
      const path = field === 'redirectUris' ? 'body/redirectUris/1' : 'body/postLogoutRedirectUris/0'
      t.equal(problem.errors?.[0]?.path, path, `${field} ${uri.slice(0, 60)}: the path`)
      t.match(problem.errors?.[0]?.message, message)
      t.equal((await clientsNamed(name)).length, 0, 'nothing created')
    }
  }

  const tooMany = await createClient({ name: 'too-many', scopes: [], type: 'public', redirectUris: Array.from({ length: 21 }, (_, i) => `https://app.example.com/${i}`) })
  t.equal(tooMany.statusCode, 400)
  t.equal(tooMany.json().code, 'VALIDATION_FAILED')
  const twenty = await createClient({ name: 'twenty', scopes: [], type: 'public', redirectUris: Array.from({ length: 20 }, (_, i) => `https://app.example.com/${i}`) })
  t.equal(twenty.statusCode, 201, 'twenty are allowed')
  const dup = await createClient({ name: 'dup', scopes: [], type: 'public', redirectUris: ['https://a.example.com/cb', 'https://a.example.com/cb'] })
  t.equal(dup.statusCode, 400, 'no duplicates')

  const several = await createClient({ name: 'several', scopes: [], type: 'public', redirectUris: ['http://a.example.com/', 'https://b.example.com/', 'https://c.example.com/#x'] })
  t.equal(several.statusCode, 400)
  t.same(several.json().errors.map((e: { path: string }) => e.path), ['body/redirectUris/0', 'body/redirectUris/2'], 'every bad URI is listed')
  t.match(several.json().detail, /redirectUris\/0: must use https/)

  const loopbacks = await createClient({ name: 'loopbacks', scopes: [], type: 'public', redirectUris: ['http://127.0.0.1:5173/cb', 'http://localhost/cb', 'http://[::1]:8080/', 'https://localhost/cb'] })
  t.equal(loopbacks.statusCode, 201, loopbacks.body)
})

t.test('grant type rules: 400 VALIDATION_FAILED, nothing created', async t => {
  const cases: Array<[string, Record<string, unknown>, string, RegExp]> = [
    ['public-cc', { type: 'public', grantTypes: ['client_credentials'] }, 'body/grantTypes', /public client/],
    ['public-cc-mixed', { type: 'public', grantTypes: ['authorization_code', 'client_credentials'], redirectUris: ['https://a.example.com/'] }, 'body/grantTypes', /public client/],
    ['refresh-alone', { grantTypes: ['refresh_token'] }, 'body/grantTypes', /refresh_token/],
    ['refresh-cc', { grantTypes: ['refresh_token', 'client_credentials'] }, 'body/grantTypes', /refresh_token/],
    ['code-no-uri', { grantTypes: ['authorization_code'] }, 'body/grantTypes', /redirect URI/],
    ['code-empty-uris', { grantTypes: ['authorization_code'], redirectUris: [] }, 'body/redirectUris', /redirect URI/],
    ['public-default-no-uri', { type: 'public' }, 'body/redirectUris', /redirect URI/],
    ['no-grants', { grantTypes: [] }, 'body/grantTypes', /fewer than 1/],
    ['unknown-grant', { grantTypes: ['password'] }, 'body/grantTypes/0', /.+/],
    ['implicit', { grantTypes: ['implicit'] }, 'body/grantTypes/0', /.+/],
    ['dup-grant', { grantTypes: ['client_credentials', 'client_credentials'] }, 'body/grantTypes', /duplicate/],
    ['bad-type', { type: 'private' }, 'body/type', /.+/],
    ['bad-first-party', { firstParty: 'yes' }, 'body/firstParty', /boolean/],
    ['uris-not-array', { redirectUris: 'https://a.example.com/' }, 'body/redirectUris', /array/]
  ]
  for (const [name, fields, path, message] of cases) {
    const res = await createClient({ name, scopes: [], ...fields })
    t.equal(res.statusCode, 400, `${name}: ${res.body}`)
    t.equal(res.json().code, 'VALIDATION_FAILED', name)
    t.ok(res.json().errors.some((e: { path: string, message: string }) => e.path === path && message.test(e.message)), `${name}: ${JSON.stringify(res.json().errors)}`)
    t.equal((await clientsNamed(name)).length, 0, `${name}: nothing created`)
  }
})

t.test('PATCH: changes the settings, audited, the tokens follow the scopes', async t => {
  const c = await newClient({ name: 'patched', scopes: ['posts:read', 'authz:check'] })
  const token = (await clientGrant(basic(c.id, c.clientSecret!))).json().access_token
  t.equal((await app.inject({ method: 'GET', url: '/v1/posts', headers: bearer(token) })).statusCode, 200)

  const res = await patchClient(c.id, {
    name: 'patched-web',
    scopes: ['authz:check'],
    grantTypes: ['client_credentials', 'authorization_code', 'refresh_token'],
    redirectUris: ['https://patched.example.com/cb'],
    postLogoutRedirectUris: ['https://patched.example.com/'],
    firstParty: true
  })
  t.equal(res.statusCode, 200, res.body)
  const body = res.json()
  t.same(Object.keys(body).sort(), VIEW_KEYS, 'the client, never a secret')
  t.match(body, {
    id: c.id,
    name: 'patched-web',
    type: 'confidential',
    scopes: ['authz:check'],
    grantTypes: ['client_credentials', 'authorization_code', 'refresh_token'],
    redirectUris: ['https://patched.example.com/cb'],
    postLogoutRedirectUris: ['https://patched.example.com/'],
    firstParty: true,
    tenantId: c.tenantId
  })
  t.same((await getClient(c.id)).json(), body, 'GET shows the change')
  const [row] = await app.db.select().from(clients).where(eq(clients.id, c.id))
  t.type(row.secretHash, 'string', 'the secret is kept')
  t.equal(row.tokenVersion, 0)

  const [event] = await auditOf('client.update', c.id)
  t.equal(event?.outcome, 'success')
  t.match(event?.before, { name: 'patched', scopes: ['posts:read', 'authz:check'], firstParty: false })
  t.match(event?.after, { name: 'patched-web', scopes: ['authz:check'], firstParty: true })
  t.notOk(JSON.stringify(event).includes(c.clientSecret!), 'no secret in the audit log')

  t.equal((await app.inject({ method: 'GET', url: '/v1/posts', headers: bearer(token) })).statusCode, 403, 'a scope taken away is gone from its tokens at once')
  const check = await app.inject({ method: 'POST', url: '/v1/authz/check', headers: bearer(token), payload: { permission: 'authz:check' } })
  t.equal(check.statusCode, 200, 'the scope it keeps still works')

  const one = await patchClient(c.id, { firstParty: false })
  t.equal(one.statusCode, 200)
  t.match(one.json(), { name: 'patched-web', firstParty: false, scopes: ['authz:check'], redirectUris: ['https://patched.example.com/cb'] }, 'only the given field changes')
})

t.test('PATCH: the rules apply to the merged result', async t => {
  const c = await newClient({ name: 'merge', scopes: [] })
  const cases: Array<[Record<string, unknown>, string, RegExp]> = [
    [{ grantTypes: ['authorization_code'] }, 'body/grantTypes', /redirect URI/],
    [{ grantTypes: ['refresh_token'] }, 'body/grantTypes', /refresh_token/],
    [{ grantTypes: ['client_credentials', 'refresh_token'] }, 'body/grantTypes', /refresh_token/],
    [{ grantTypes: [] }, 'body/grantTypes', /.+/],
    [{ redirectUris: ['http://merge.example.com/cb'] }, 'body/redirectUris/0', /https/],
    [{ postLogoutRedirectUris: ['https://merge.example.com/#bye'] }, 'body/postLogoutRedirectUris/0', /fragment/],
    [{ type: 'public' }, 'body/type', /additional/],
    [{ tenant: 'default' }, 'body/tenant', /additional/],
    [{ clientSecret: 'x' }, 'body/clientSecret', /additional/],
    [{ name: '' }, 'body/name', /.+/],
    [{ scopes: ['Not A Permission'] }, 'body/scopes/0', /.+/]
  ]
  for (const [fields, path, message] of cases) {
    const res = await patchClient(c.id, fields)
    t.equal(res.statusCode, 400, `${JSON.stringify(fields)}: ${res.body}`)
    t.equal(res.json().code, 'VALIDATION_FAILED')
    t.ok(res.json().errors.some((e: { path: string, message: string }) => e.path === path && message.test(e.message)), `${JSON.stringify(fields)}: ${JSON.stringify(res.json().errors)}`)
  }
  const empty = await patchClient(c.id, {})
  t.equal(empty.statusCode, 400, 'an empty change')
  t.equal(empty.json().code, 'VALIDATION_FAILED')
  t.match((await getClient(c.id)).json(), { name: 'merge', type: 'confidential', grantTypes: ['client_credentials'], redirectUris: [], postLogoutRedirectUris: [] }, 'nothing changed')

  // redirect URIs first, then the grant that needs them
  t.equal((await patchClient(c.id, { redirectUris: ['https://merge.example.com/cb'] })).statusCode, 200)
  t.equal((await patchClient(c.id, { grantTypes: ['authorization_code', 'client_credentials'] })).statusCode, 200)
  const emptied = await patchClient(c.id, { redirectUris: [] })
  t.equal(emptied.statusCode, 400, 'the code grant keeps its redirect URI')
  t.equal(emptied.json().errors[0].path, 'body/redirectUris')
  t.equal((await patchClient(c.id, { redirectUris: [], grantTypes: ['client_credentials'] })).statusCode, 200, 'both at once')

  const pub = await newClient({ name: 'merge-public', scopes: [], type: 'public', redirectUris: ['https://p.example.com/cb'] })
  const cc = await patchClient(pub.id, { grantTypes: ['authorization_code', 'client_credentials'] })
  t.equal(cc.statusCode, 400, 'a public client never gets client_credentials')
  t.equal(cc.json().errors[0].path, 'body/grantTypes')
  const noUris = await patchClient(pub.id, { redirectUris: [] })
  t.equal(noUris.statusCode, 400)
  t.equal(noUris.json().errors[0].path, 'body/redirectUris')
  const refresh = await patchClient(pub.id, { grantTypes: ['authorization_code', 'refresh_token'] })
  t.equal(refresh.statusCode, 200, refresh.body)
  t.equal(refresh.json().type, 'public')
  t.equal((await app.db.select().from(clients).where(eq(clients.id, pub.id)))[0].secretHash, null)

  // a stored redirect URI is not checked again when another field changes
  await app.db.update(clients).set({ redirectUris: ['http://legacy.example.com/cb'] }).where(eq(clients.id, pub.id))
  t.equal((await patchClient(pub.id, { name: 'merge-public-2' })).statusCode, 200)
})

t.test('PATCH: 404s, 401 and 403', async t => {
  const unknown = await patchClient('5b0e6a52-58a3-4d1b-9a56-7f1c3c0b7e11', { name: 'x' })
  t.equal(unknown.statusCode, 404)
  t.equal(unknown.json().code, 'NOT_FOUND')
  const notUuid = await patchClient('not-a-uuid', { name: 'x' })
  t.equal(notUuid.statusCode, 400)

  const c = await newClient({ name: 'guarded', scopes: ['posts:read'] })
  const none = await app.inject({ method: 'PATCH', url: `/v1/clients/${c.id}`, payload: { name: 'x' } })
  t.equal(none.statusCode, 401)
  const user = await newUser(app)
  const forbidden = await patchClient(c.id, { name: 'x' }, user.token)
  t.equal(forbidden.statusCode, 403)
  const readOnly = await loginAdmin(app, { scope: 'clients:read' })
  t.equal((await patchClient(c.id, { name: 'x' }, readOnly.access_token)).statusCode, 403, 'clients:read is not enough')
  t.equal((await getClient(c.id)).json().name, 'guarded')

  const theirs = await newClient({ name: 'acme-patch', scopes: ['posts:read'], tenant: acme.id })
  const tenantAdmin = await tenantMember('admin', acme.id)
  const other = await patchClient(c.id, { name: 'stolen' }, tenantAdmin.token)
  t.equal(other.statusCode, 404, 'another tenant\'s client is not visible')
  t.equal((await getClient(c.id)).json().name, 'guarded', 'unchanged')
  const own = await patchClient(theirs.id, { name: 'acme-patched', scopes: ['posts:read', 'users:read'] }, tenantAdmin.token)
  t.equal(own.statusCode, 200, own.body)
  t.equal(own.json().name, 'acme-patched')
})

t.test('PATCH scopes: no escalation, the same rule as create', async t => {
  const c = await newClient({ name: 'escalate', scopes: ['posts:read', 'users:read'] })
  const narrow = await loginAdmin(app, { scope: 'clients:write clients:read posts:read authz:check' })
  const refused = await patchClient(c.id, { scopes: ['posts:read', 'users:read', 'users:delete'] }, narrow.access_token)
  t.equal(refused.statusCode, 403, refused.body)
  t.match(refused.json().detail, /users:delete/)
  t.notMatch(refused.json().detail, /users:read/, 'only what the change adds')
  const star = await patchClient(c.id, { scopes: ['*'] }, narrow.access_token)
  t.equal(star.statusCode, 403)
  const denied = await auditOf('client.update', c.id)
  t.ok(denied.some(e => e.outcome === 'denied'), 'the refusal is audited')
  t.same((await getClient(c.id)).json().scopes, ['posts:read', 'users:read'], 'unchanged')

  const added = await patchClient(c.id, { scopes: ['posts:read', 'users:read', 'authz:check'] }, narrow.access_token)
  t.equal(added.statusCode, 200, 'what the caller holds may be added; what the client had may stay')
  const removed = await patchClient(c.id, { scopes: ['posts:read'] }, narrow.access_token)
  t.equal(removed.statusCode, 200, 'taking a scope away grants nothing')
  t.same(removed.json().scopes, ['posts:read'])
  const back = await patchClient(c.id, { scopes: ['posts:read', 'users:read'] }, narrow.access_token)
  t.equal(back.statusCode, 403, 'nor can it be given back by one who does not hold it')

  const unknown = await patchClient(c.id, { scopes: ['nothing:here'] })
  t.equal(unknown.statusCode, 400)
  t.equal(unknown.json().code, 'BAD_REQUEST')

  // a client with clients:write manages clients within its own scopes
  const manager = await newClient({ name: 'oauth-manager', scopes: ['clients:write', 'clients:read', 'posts:read'], tenant: acme.id })
  const token = (await clientGrant(basic(manager.id, manager.clientSecret!))).json().access_token
  const child = await newClient({ name: 'oauth-child', scopes: ['posts:read'] }, token)
  t.equal((await patchClient(child.id, { scopes: ['posts:read', 'users:read'] }, token)).statusCode, 403)
  t.equal((await patchClient(child.id, { scopes: ['posts:read', 'clients:read'] }, token)).statusCode, 200)
  t.equal((await patchClient(c.id, { name: 'x' }, token)).statusCode, 404, 'a client in another tenant')
})

t.test('the client_credentials grant needs the grant and a confidential client', async t => {
  const coder = await newClient({ name: 'coder', scopes: ['posts:read'], grantTypes: ['authorization_code'], redirectUris: ['https://coder.example.com/cb'] })
  t.type(coder.clientSecret, 'string')
  const refused = await clientGrant(basic(coder.id, coder.clientSecret!))
  t.equal(refused.statusCode, 400, refused.body)
  t.equal(refused.json().error, 'unauthorized_client')
  t.match(refused.json().error_description, /client_credentials/)
  const inBody = await clientGrant({}, { client_id: coder.id, client_secret: coder.clientSecret! })
  t.equal(inBody.json().error, 'unauthorized_client')
  const wrong = await clientGrant(basic(coder.id, 'wrong-secret'))
  t.equal(wrong.statusCode, 401, 'authentication first: a wrong secret is invalid_client')
  t.equal(wrong.json().error, 'invalid_client')
  const events = await auditOf('auth.client_token', coder.id)
  t.ok(events.some(e => e.outcome === 'denied'), 'the refusal is audited')

  const pub = await newClient({ name: 'public-cc', scopes: ['posts:read'], type: 'public', redirectUris: ['https://pub.example.com/cb'] })
  // a public client cannot authenticate, so it is invalid_client whatever it presents
  for (const res of [
    await clientGrant({}, { client_id: pub.id }),
    await clientGrant({}, { client_id: pub.id, client_secret: '' }),
    await clientGrant({}, { client_id: pub.id, client_secret: 'anything' }),
    await clientGrant(basic(pub.id, '')),
    await clientGrant(basic(pub.id, 'anything'))
  ]) {
    t.equal(res.statusCode, 401, res.body)
    t.equal(res.json().error, 'invalid_client')
  }
  // even a public row that somehow has a secret hash and the grant never authenticates
  const secret = 'a'.repeat(43)
  await app.db.update(clients).set({ secretHash: hashClientSecret(secret), grantTypes: ['authorization_code', 'client_credentials'] }).where(eq(clients.id, pub.id))
  const forged = await clientGrant(basic(pub.id, secret))
  t.equal(forged.statusCode, 401, 'a public client never authenticates with a secret')

  const introspect = await form('/v1/auth/introspect', {}, { token: 'x', client_id: pub.id })
  t.equal(introspect.statusCode, 401, 'nor at the introspection endpoint')
  const revoke = await form('/v1/auth/revoke', {}, { token: 'x', client_id: pub.id })
  t.equal(revoke.statusCode, 200, 'a public client names itself at the revocation endpoint (RFC 7009)')
  const revokeWithSecret = await form('/v1/auth/revoke', {}, { token: 'x', client_id: pub.id, client_secret: secret })
  t.equal(revokeWithSecret.statusCode, 401, 'but a secret it presents is checked, and fails')

  // PATCH away the grant: the next client_credentials request is refused
  const service = await newClient({ name: 'service', scopes: ['posts:read'] })
  t.equal((await clientGrant(basic(service.id, service.clientSecret!))).statusCode, 200)
  t.equal((await patchClient(service.id, { grantTypes: ['authorization_code'], redirectUris: ['https://service.example.com/cb'] })).statusCode, 200)
  const after = await clientGrant(basic(service.id, service.clientSecret!))
  t.equal(after.statusCode, 400)
  t.equal(after.json().error, 'unauthorized_client')
})

t.test('clientAllowsGrant', async t => {
  const confidential = { type: 'confidential', secretHash: 'h', grantTypes: ['client_credentials', 'authorization_code'] }
  t.ok(clientAllowsGrant(confidential, 'client_credentials'))
  t.ok(clientAllowsGrant(confidential, 'authorization_code'))
  t.notOk(clientAllowsGrant(confidential, 'refresh_token'))
  const pub = { type: 'public', secretHash: null, grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'] }
  t.ok(clientAllowsGrant(pub, 'authorization_code'))
  t.ok(clientAllowsGrant(pub, 'refresh_token'))
  t.notOk(clientAllowsGrant(pub, 'client_credentials'), 'never for a public client')
})

t.test('OpenAPI: PATCH and the new fields', async t => {
  const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json()
  const patch = doc.paths['/v1/clients/{id}'].patch
  t.ok(patch)
  t.equal(patch.operationId, 'updateClient')
  t.same(patch['x-permissions'], { all: ['clients:write'] })
  t.same(patch.requestBody.content['application/json'].schema, { $ref: '#/components/schemas/UpdateClientRequest' })
  t.same(patch.responses['200'].content['application/json'].schema, { $ref: '#/components/schemas/Client' })
  t.ok(patch.responses['404'])
  const schemas = doc.components.schemas
  t.equal(schemas.UpdateClientRequest.additionalProperties, false)
  t.notOk(schemas.UpdateClientRequest.properties.type, 'type cannot be changed')
  for (const field of ['type', 'redirectUris', 'postLogoutRedirectUris', 'grantTypes', 'firstParty']) {
    t.ok(schemas.Client.properties[field], `Client.${field}`)
    t.ok(schemas.Client.required.includes(field), `Client.${field} is required`)
    t.ok(schemas.CreateClientRequest.properties[field], `CreateClientRequest.${field}`)
    t.notOk(schemas.CreateClientRequest.required.includes(field), `CreateClientRequest.${field} is optional`)
  }
  t.match(JSON.stringify(schemas.CreatedClient.properties.clientSecret), /null/, 'clientSecret may be null')
  t.ok(doc.paths['/v1/clients/{id}/secret'].post.responses['409'], 'rotating a public client\'s secret is 409')
})

import t from 'tap'
import type { AddressInfo } from 'node:net'
import { eq } from 'drizzle-orm'
import { build, loginAdmin, newUser, ISSUER } from './helper.js'
import { roleAssignments, roles, tenants } from '../src/db/schema/index.js'
import { buildNotesService } from '../examples/notes-service/server.js'
import { changed } from '../src/access/changes.js'

// Warden and the example service, both listening, talking over HTTP as they would in production.
const warden = await build(t)
await warden.listen({ port: 0, host: '127.0.0.1' })
const wardenUrl = `http://127.0.0.1:${(warden.server.address() as AddressInfo).port}`

const notes = await buildNotesService({ issuer: ISSUER, audience: 'warden', jwksUrl: `${wardenUrl}/.well-known/jwks.json` })
await notes.listen({ port: 0, host: '127.0.0.1' })
t.teardown(() => notes.close())
const notesUrl = `http://127.0.0.1:${(notes.server.address() as AddressInfo).port}`

async function token (fields: Record<string, string>, headers: Record<string, string> = {}) {
  const res = await fetch(`${wardenUrl}/v1/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields)
  })
  if (res.status !== 200) throw new Error(`token: ${res.status} ${await res.text()}`)
  return (await res.json() as { access_token: string }).access_token
}

function call (path: string, accessToken?: string, init: { method?: string, body?: unknown } = {}) {
  return fetch(`${notesUrl}${path}`, {
    method: init.method ?? 'GET',
    headers: {
      ...(accessToken === undefined ? {} : { authorization: `Bearer ${accessToken}` }),
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' })
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body)
  })
}

const user = await newUser(warden, 'ann')
const userToken = await token({ grant_type: 'password', username: user.username, password: user.password })

t.test('public route', async t => {
  const res = await call('/health')
  t.equal(res.status, 200)
  t.same(await res.json(), { ok: true })
})

t.test('authenticated route: 401 without a token, the principal with one', async t => {
  const none = await call('/whoami')
  t.equal(none.status, 401)
  t.match(none.headers.get('content-type'), /^application\/problem\+json/)
  t.equal(none.headers.get('www-authenticate'), 'Bearer realm="warden"')
  t.equal((await none.json() as { code: string }).code, 'UNAUTHENTICATED')

  const res = await call('/whoami', userToken)
  t.equal(res.status, 200)
  const body = await res.json() as { sub: string, kind: string, tid: string, scopes: string[] }
  t.equal(body.sub, user.id)
  t.equal(body.kind, 'user')
  t.ok(body.scopes.includes('posts:read'))

  const bad = await call('/whoami', userToken.slice(0, -3) + 'abc')
  t.equal(bad.status, 401)
})

t.test('permission route: allowed with the scope, 403 without it', async t => {
  const created = await call('/notes', userToken, { method: 'POST', body: { text: 'hello' } })
  t.equal(created.status, 201)
  const note = await created.json() as { authorId: string, text: string }
  t.equal(note.authorId, user.id)
  const list = await call('/notes', userToken)
  t.equal(list.status, 200)
  t.same((await list.json() as { items: Array<{ text: string }> }).items.map(n => n.text), ['hello'])

  const writeOnly = await token({ grant_type: 'password', username: user.username, password: user.password, scope: 'posts:create' })
  const denied = await call('/notes', writeOnly)
  t.equal(denied.status, 403)
  t.equal(denied.headers.get('www-authenticate'), 'Bearer realm="warden", error="insufficient_scope", scope="posts:read"')
  t.equal((await denied.json() as { code: string }).code, 'INSUFFICIENT_SCOPE')
  t.equal((await call('/notes', undefined)).status, 401)
})

t.test('a service client reads but may not write', async t => {
  const admin = await loginAdmin(warden)
  const res = await fetch(`${wardenUrl}/v1/clients`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin.access_token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'notes-reader', scopes: ['posts:read', 'posts:create'] })
  })
  t.equal(res.status, 201)
  const client = await res.json() as { id: string, clientSecret: string }
  const clientToken = await token({ grant_type: 'client_credentials' }, {
    authorization: 'Basic ' + Buffer.from(`${client.id}:${client.clientSecret}`).toString('base64')
  })
  const list = await call('/notes', clientToken)
  t.equal(list.status, 200)
  const write = await call('/notes', clientToken, { method: 'POST', body: { text: 'from a machine' } })
  t.equal(write.status, 403, 'POST /notes is for user tokens only')
})

t.test('another tenant sees none of these notes', async t => {
  const [globex] = await warden.db.insert(tenants).values({ slug: 'globex', name: 'Globex' }).returning()
  const ben = await newUser(warden, 'ben')
  const [userRole] = await warden.db.select({ id: roles.id }).from(roles).where(eq(roles.name, 'user'))
  await warden.db.delete(roleAssignments).where(eq(roleAssignments.userId, ben.id))
  await warden.db.insert(roleAssignments).values({ userId: ben.id, roleId: userRole.id, tenantId: globex.id })
  await warden.changes.publish(changed.user(ben.id))
  const benToken = await token({ grant_type: 'password', username: ben.username, password: ben.password, tenant: 'globex' })
  const theirs = await call('/notes', benToken)
  t.equal(theirs.status, 200)
  t.same(await theirs.json(), { items: [] }, 'the tenant comes from the token')
  const ours = await call('/notes', userToken)
  t.equal((await ours.json() as { items: unknown[] }).items.length, 1)
})

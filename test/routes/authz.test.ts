import t from 'tap'
import { and, eq } from 'drizzle-orm'
import { auditEvents, clients, roleAssignments, roles, tenants } from '../../src/db/schema/index.js'
import { bearer, build, login, loginAdmin, newUser } from '../helper.js'
import { changed } from '../../src/access/changes.js'

const app = await build(t)

async function assign (userId: string, role: string, tenantId: string | null = null, expiresAt: Date | null = null) {
  const [row] = await app.db.select({ id: roles.id }).from(roles).where(eq(roles.name, role))
  await app.db.insert(roleAssignments).values({ userId, roleId: row.id, tenantId, expiresAt })
  await app.changes.publish(changed.user(userId))
}

/** A service client token, minted directly (the client API is not this file's subject). */
async function clientToken (scopes: string[], tenantId: string) {
  const [client] = await app.db.insert(clients).values({ name: 'svc', secretHash: 'unused', scopes, tenantId }).returning()
  return app.tokens.signAccessToken({ sub: client.id, tid: tenantId, scope: scopes, clientId: client.id }).token
}

async function check (token: string, payload: object) {
  return app.inject({ method: 'POST', url: '/v1/authz/check', headers: bearer(token), payload })
}

const [defaultTenant] = await app.db.select().from(tenants).where(eq(tenants.slug, 'default'))
const [acme] = await app.db.insert(tenants).values({ slug: 'acme', name: 'Acme' }).returning()
const admin = (await loginAdmin(app)).access_token
const alice = await newUser(app, 'alice')
const bob = await newUser(app, 'bob')
await assign(bob.id, 'moderator', acme.id)
const carol = await newUser(app, 'carol')
await assign(carol.id, 'editor')
// frank is only an editor: posts:read reaches him through editor > author > user
const frank = await newUser(app, 'frank')
await app.db.delete(roleAssignments).where(eq(roleAssignments.userId, frank.id))
await assign(frank.id, 'editor')
const frankToken = (await login(app, frank.username, frank.password)).access_token

t.test('checking oneself: allowed and denied, with reasons', async t => {
  let res = await check(alice.token, { permission: 'posts:read' })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { allowed: true, reason: 'granted by role user' })

  res = await check(alice.token, { permission: 'users:read' })
  t.same(res.json(), { allowed: false, reason: 'missing permission users:read' })

  res = await check(alice.token, { permission: 'posts:delete' })
  t.same(res.json(), { allowed: false, reason: 'condition not met for posts:delete' }, 'owner condition without a resource')

  res = await check(carol.token, { permission: 'posts:publish' })
  t.same(res.json(), { allowed: true, reason: 'granted by role editor' })
  res = await check(frankToken, { permission: 'posts:create' })
  t.same(res.json(), { allowed: true, reason: 'granted by role editor via author > user' })
})

t.test('conditions are evaluated against the resource', async t => {
  const own = await check(alice.token, { permission: 'posts:update', resource: { type: 'post', id: 'p1', ownerId: alice.id } })
  t.equal(own.json().allowed, true)
  t.match(own.json().reason, /condition met/)
  const other = await check(alice.token, { permission: 'posts:update', resource: { type: 'post', id: 'p2', ownerId: bob.id } })
  t.same(other.json(), { allowed: false, reason: 'condition not met for posts:update' })
  const asSubject = await check(admin, { permission: 'posts:delete', subject: alice.id, resource: { type: 'post', ownerId: alice.id } })
  t.equal(asSubject.json().allowed, true, 'owner is the subject, not the caller')
  const notOwner = await check(admin, { permission: 'posts:delete', subject: alice.id, resource: { type: 'post', ownerId: bob.id } })
  t.equal(notOwner.json().allowed, false)
})

t.test('unknown and invalid permissions are answers, not errors', async t => {
  for (const token of [alice.token, admin]) {
    const res = await check(token, { permission: 'rockets:launch' })
    t.equal(res.statusCode, 200)
    t.same(res.json(), { allowed: false, reason: 'unknown permission rockets:launch' })
  }
  const invalid = await check(admin, { permission: 'Not A Permission' })
  t.equal(invalid.statusCode, 200)
  t.equal(invalid.json().allowed, false)
  t.match(invalid.json().reason, /invalid permission name/)
  const wildcard = await check(admin, { permission: 'posts:*' })
  t.same(wildcard.json(), { allowed: true, reason: 'granted by role admin (*)' })
})

t.test('token scopes limit a self check', async t => {
  const scoped = await login(app, alice.username, alice.password, { scope: 'posts:read' })
  const res = await check(scoped.access_token, { permission: 'posts:create' })
  t.same(res.json(), { allowed: false, reason: 'token scope does not cover posts:create' })
})

t.test('checking another subject needs authz:check', async t => {
  const res = await check(alice.token, { permission: 'posts:read', subject: bob.id })
  t.equal(res.statusCode, 403)
  t.equal(res.json().code, 'FORBIDDEN')
  const batch = await app.inject({
    method: 'POST',
    url: '/v1/authz/check-batch',
    headers: bearer(alice.token),
    payload: { checks: [{ permission: 'posts:read' }, { permission: 'posts:read', subject: bob.id }] }
  })
  t.equal(batch.statusCode, 403, 'one subject check in a batch is enough')

  const ok = await check(admin, { permission: 'posts:read', subject: bob.id })
  t.equal(ok.statusCode, 200)
  t.same(ok.json(), { allowed: true, reason: 'granted by role user' })
  const unknown = await check(admin, { permission: 'posts:read', subject: '00000000-0000-4000-8000-000000000000' })
  t.same(unknown.json(), { allowed: false, reason: 'unknown subject' })

  const svc = await clientToken(['authz:check'], defaultTenant.id)
  const byClient = await check(svc, { permission: 'posts:publish', subject: carol.id })
  t.equal(byClient.statusCode, 200, byClient.body)
  t.same(byClient.json(), { allowed: true, reason: 'granted by role editor' })
  const svcNoScope = await clientToken(['posts:read'], defaultTenant.id)
  t.equal((await check(svcNoScope, { permission: 'posts:read', subject: carol.id })).statusCode, 403)

  await app.audit.flush()
  const denied = await app.db.select().from(auditEvents)
    .where(and(eq(auditEvents.action, 'authz.check'), eq(auditEvents.actorId, alice.id), eq(auditEvents.outcome, 'denied')))
  t.ok(denied.length >= 2, 'the refused subject checks are audited')
})

t.test('a tenant-scoped role applies only in its tenant', async t => {
  const inAcme = await check(admin, { permission: 'users:read', subject: bob.id, tenant: 'acme' })
  t.same(inAcme.json(), { allowed: true, reason: 'granted by role moderator' })
  const byId = await check(admin, { permission: 'users:read', subject: bob.id, tenant: acme.id })
  t.equal(byId.json().allowed, true)
  const inDefault = await check(admin, { permission: 'users:read', subject: bob.id })
  t.same(inDefault.json(), { allowed: false, reason: 'missing permission users:read' })
  const unknownTenant = await check(admin, { permission: 'users:read', subject: bob.id, tenant: 'nowhere' })
  t.same(unknownTenant.json(), { allowed: false, reason: 'unknown tenant' })

  const bobAcme = await login(app, bob.username, bob.password, { tenant: 'acme' })
  const self = await check(bobAcme.access_token, { permission: 'users:read' })
  t.equal(self.json().allowed, true)
  const selfDefault = await check(bob.token, { permission: 'users:read' })
  t.equal(selfDefault.json().allowed, false)
  const otherTenant = await check(bob.token, { permission: 'posts:read', tenant: 'acme' })
  t.equal(otherTenant.json().allowed, false, 'a self check stays in the token\'s tenant')

  // a client of acme with authz:check cannot ask about the default tenant
  const svc = await clientToken(['authz:check'], acme.id)
  const cross = await check(svc, { permission: 'posts:read', subject: alice.id, tenant: 'default' })
  t.same(cross.json(), { allowed: false, reason: 'unknown tenant' })
  const home = await check(svc, { permission: 'users:read', subject: bob.id })
  t.equal(home.json().allowed, true)
})

t.test('check-batch answers in order and limits the batch', async t => {
  const checks = [
    { permission: 'posts:read' },
    { permission: 'users:delete' },
    { permission: 'users:read', subject: bob.id, tenant: 'acme' },
    { permission: 'users:read', subject: bob.id },
    { permission: 'nope:nope' },
    { permission: 'posts:update', subject: alice.id, resource: { type: 'post', ownerId: alice.id } }
  ]
  const res = await app.inject({ method: 'POST', url: '/v1/authz/check-batch', headers: bearer(admin), payload: { checks } })
  t.equal(res.statusCode, 200, res.body)
  t.same(res.json().results.map((r: { allowed: boolean }) => r.allowed), [true, true, true, false, false, true])
  t.equal(res.json().results[4].reason, 'unknown permission nope:nope')

  const many = Array.from({ length: 100 }, (_, i) => ({ permission: i % 2 === 0 ? 'posts:read' : 'users:read', subject: alice.id }))
  const hundred = await app.inject({ method: 'POST', url: '/v1/authz/check-batch', headers: bearer(admin), payload: { checks: many } })
  t.equal(hundred.statusCode, 200)
  t.same(hundred.json().results.map((r: { allowed: boolean }) => r.allowed), many.map((_, i) => i % 2 === 0))

  const tooMany = await app.inject({
    method: 'POST', url: '/v1/authz/check-batch', headers: bearer(admin), payload: { checks: [...many, { permission: 'posts:read' }] }
  })
  t.equal(tooMany.statusCode, 400)
  t.equal(tooMany.json().code, 'VALIDATION_FAILED')
  const empty = await app.inject({ method: 'POST', url: '/v1/authz/check-batch', headers: bearer(admin), payload: { checks: [] } })
  t.equal(empty.statusCode, 400)
})

t.test('validation and authentication', async t => {
  const bad: object[] = [
    {},
    { permission: 'posts:read', extra: 1 },
    { permission: 'posts:read', subject: 'not-a-uuid' },
    { permission: 'x'.repeat(129) },
    { permission: ['posts:read'] },
    { permission: 'posts:read', resource: { id: 'no type' } },
    { permission: 'posts:read', resource: { type: 'post', owner: 'x' } }
  ]
  for (const payload of bad) {
    const res = await check(alice.token, payload)
    t.equal(res.statusCode, 400, JSON.stringify(payload))
  }
  const anon = await app.inject({ method: 'POST', url: '/v1/authz/check', payload: { permission: 'posts:read' } })
  t.equal(anon.statusCode, 401)
  const anonSubjects = await app.inject({ method: 'GET', url: '/v1/authz/subjects?permission=posts:read' })
  t.equal(anonSubjects.statusCode, 401)
})

t.test('denied decisions are audited', async t => {
  await check(alice.token, { permission: 'keys:rotate' })
  await app.audit.flush()
  const [event] = await app.db.select().from(auditEvents)
    .where(and(eq(auditEvents.action, 'authz.check'), eq(auditEvents.actorId, alice.id), eq(auditEvents.detail, 'keys:rotate: missing permission keys:rotate')))
  t.ok(event, 'recorded')
  t.equal(event.outcome, 'denied')
  t.equal(event.targetId, alice.id)
  t.equal(event.tenantId, defaultTenant.id)
})

t.test('a kept allow: the same answer, counted, and never beyond what decided it', async t => {
  const allowedCount = async () => {
    const text = await app.metrics.registry.getSingleMetricAsString('warden_authz_decisions_total')
    return Number(/outcome="allowed"\} (\d+)/.exec(text)?.[1] ?? 0)
  }
  const call = (method: 'PUT' | 'POST', url: string, payload: object) => app.inject({ method, url, headers: bearer(admin), payload })
  t.equal((await call('POST', '/v1/roles', { name: 'office-reader', permissions: [] })).statusCode, 201)
  t.equal((await call('PUT', '/v1/roles/office-reader/permissions/users:read', { condition: { network: ['10.0.0.0/8'] } })).statusCode, 201)
  const dave = await newUser(app, 'dave')
  await assign(dave.id, 'office-reader')
  const token = (await login(app, dave.username, dave.password)).access_token
  const ask = (permission: string, remoteAddress = '10.1.2.3') =>
    app.inject({ method: 'POST', url: '/v1/authz/check', headers: bearer(token), payload: { permission }, remoteAddress })

  // unconditional: the second answer is the first one's bytes, and each is a counted decision
  const before = await allowedCount()
  const first = await ask('posts:read')
  const second = await ask('posts:read')
  t.same(first.json(), { allowed: true, reason: 'granted by role user' })
  t.equal(second.body, first.body)
  t.equal(second.headers['content-type'], first.headers['content-type'])
  t.equal(second.headers['cache-control'], 'no-store')
  t.equal(await allowedCount(), before + 2, 'a kept answer is still a decision')

  // a grant that depends on the request's address is decided per request
  t.match((await ask('users:read')).json(), { allowed: true, reason: /condition met/ })
  t.match((await ask('users:read')).json(), { allowed: true })
  t.same((await ask('users:read', '192.0.2.1')).json(), { allowed: false, reason: 'condition not met for users:read' })
  t.match((await ask('users:read')).json(), { allowed: true })

  // the kept answer ends with the view: the role that granted it goes
  const [userRole] = await app.db.select({ id: roles.id }).from(roles).where(eq(roles.name, 'user'))
  await app.db.delete(roleAssignments).where(and(eq(roleAssignments.userId, dave.id), eq(roleAssignments.roleId, userRole.id)))
  await app.changes.publish(changed.user(dave.id))
  t.same((await ask('posts:read')).json(), { allowed: false, reason: 'missing permission posts:read' })
  // a resource, another subject or a tenant is never answered from it
  await assign(dave.id, 'user')
  t.same((await ask('posts:read')).json(), { allowed: true, reason: 'granted by role user' })
  const withResource = await app.inject({ method: 'POST', url: '/v1/authz/check', headers: bearer(token), payload: { permission: 'posts:update', resource: { type: 'post', ownerId: dave.id } } })
  t.match(withResource.json(), { allowed: true, reason: /condition met/ })
  const otherTenant = await app.inject({ method: 'POST', url: '/v1/authz/check', headers: bearer(token), payload: { permission: 'posts:read', tenant: 'acme' } })
  t.same(otherTenant.json(), { allowed: false, reason: 'the caller\'s token applies only in its own tenant' })
})

t.test('subjects: who holds a permission, through inheritance, wildcards and tenants', async t => {
  type Subject = { id: string, username: string, email: string, via: string[] }
  async function subjects (token: string, query: string) {
    const out: Subject[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const url: string = `/v1/authz/subjects?${query}&limit=2${cursor ? `&cursor=${cursor}` : ''}`
      const res = await app.inject({ method: 'GET', url, headers: bearer(token) })
      t.equal(res.statusCode, 200, res.body)
      const body = res.json() as { items: Subject[], nextCursor: string | null }
      out.push(...body.items)
      cursor = body.nextCursor
      pages++
    } while (cursor !== null && pages < 50)
    return out
  }
  const george = await newUser(app, 'george')
  await assign(george.id, 'editor', null, new Date(Date.now() - 60_000))

  const readers = await subjects(admin, 'permission=posts:read')
  const byId = new Map(readers.map(s => [s.id, s]))
  t.same(byId.get(frank.id), { id: frank.id, username: frank.username, email: frank.email, via: ['editor'] })
  t.same(byId.get(carol.id)?.via, ['editor', 'user'])
  t.ok(byId.has(alice.id))
  t.ok(byId.has(george.id), 'george still holds posts:read through user')
  t.equal(new Set(readers.map(s => s.id)).size, readers.length, 'each user once across pages')

  const publishers = await subjects(admin, 'permission=posts:publish')
  const publisherIds = publishers.map(s => s.id).sort()
  t.ok(publisherIds.includes(carol.id) && publisherIds.includes(frank.id))
  t.notOk(publisherIds.includes(george.id), 'expired assignment excluded')
  t.notOk(publisherIds.includes(alice.id), 'owner-only holders are not listed by default')
  t.ok(publishers.some(s => s.username === 'admin' && s.via[0] === 'admin'), 'the admin holds it through *')

  const withConditional = await subjects(admin, 'permission=posts:publish&includeConditional=true')
  t.ok(withConditional.some(s => s.id === alice.id))

  const acmeModerators = await subjects(admin, 'permission=users:read&tenant=acme')
  t.ok(acmeModerators.some(s => s.id === bob.id && s.via.includes('moderator')))
  const defaultModerators = await subjects(admin, 'permission=users:read')
  t.notOk(defaultModerators.some(s => s.id === bob.id), 'a tenant role does not count elsewhere')

  t.same(await subjects(admin, 'permission=rockets:launch'), [], 'unknown permission: nobody')

  const forbidden = await app.inject({ method: 'GET', url: '/v1/authz/subjects?permission=posts:read', headers: bearer(alice.token) })
  t.equal(forbidden.statusCode, 403)
  const invalid = await app.inject({ method: 'GET', url: '/v1/authz/subjects?permission=NOPE', headers: bearer(admin) })
  t.equal(invalid.statusCode, 400)
  const noTenant = await app.inject({ method: 'GET', url: '/v1/authz/subjects?permission=posts:read&tenant=nowhere', headers: bearer(admin) })
  t.equal(noTenant.statusCode, 404)
  const badCursor = await app.inject({ method: 'GET', url: '/v1/authz/subjects?permission=posts:read&cursor=zzz', headers: bearer(admin) })
  t.equal(badCursor.statusCode, 400)

  const acmeClient = await clientToken(['authz:check'], acme.id)
  const hidden = await app.inject({ method: 'GET', url: '/v1/authz/subjects?permission=posts:read&tenant=default', headers: bearer(acmeClient) })
  t.equal(hidden.statusCode, 404, 'a tenant-bound caller cannot list another tenant')
})

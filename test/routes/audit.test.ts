import t from 'tap'
import { eq } from 'drizzle-orm'
import { roleAssignments, roles, tenants } from '../../src/db/schema/index.js'
import { bearer, build, login, loginAdmin, newUser } from '../helper.js'
import { changed } from '../../src/access/changes.js'

const app = await build(t)

async function assign (userId: string, role: string, tenantId: string | null = null) {
  const [row] = await app.db.select({ id: roles.id }).from(roles).where(eq(roles.name, role))
  await app.db.insert(roleAssignments).values({ userId, roleId: row.id, tenantId })
  await app.changes.publish(changed.user(userId))
}

interface Event {
  id: number
  at: string
  actorId: string | null
  actorKind: string | null
  action: string
  targetType: string | null
  targetId: string | null
  tenantId: string | null
  outcome: string
  before: unknown
  after: unknown
  detail: string | null
  requestId: string | null
  ip: string | null
}

async function audit (token: string, query = ''): Promise<Event[]> {
  await app.audit.flush()
  const res = await app.inject({ method: 'GET', url: `/v1/audit?limit=100&${query}`, headers: bearer(token) })
  if (res.statusCode !== 200) throw new Error(`audit ${query}: ${res.statusCode} ${res.body}`)
  return res.json().items
}

const [defaultTenant] = await app.db.select().from(tenants).where(eq(tenants.slug, 'default'))
const admin = (await loginAdmin(app)).access_token
const alice = await newUser(app, 'alice')
const bob = await newUser(app, 'bob')

t.test('events recorded by the post and decision routes appear, newest first', async t => {
  const started = new Date().toISOString()
  const created = await app.inject({
    method: 'POST', url: '/v1/posts', headers: { ...bearer(alice.token), 'x-request-id': 'audit-test-1' }, payload: { title: 'Audited', content: 'x' }
  })
  t.equal(created.statusCode, 201)
  const postId = created.json().id
  await app.inject({ method: 'POST', url: `/v1/posts/${postId}/publish`, headers: bearer(alice.token) })

  const events = await audit(admin, `target=${postId}`)
  t.same(events.map(e => e.action), ['post.publish', 'post.create'])
  const [, create] = events
  t.match(create, {
    actorId: alice.id,
    actorKind: 'user',
    action: 'post.create',
    targetType: 'post',
    targetId: postId,
    tenantId: defaultTenant.id,
    outcome: 'success',
    after: { title: 'Audited', isPublished: false },
    before: null,
    requestId: 'audit-test-1'
  })
  t.type(create.ip, 'string')
  t.ok(create.at >= started.slice(0, 19), 'at is an ISO time')
  t.ok(events[0].id > events[1].id)
})

t.test('denied decisions are recorded and filterable', async t => {
  const res = await app.inject({ method: 'POST', url: '/v1/authz/check', headers: bearer(bob.token), payload: { permission: 'keys:rotate' } })
  t.equal(res.json().allowed, false)
  const refused = await app.inject({ method: 'GET', url: '/v1/audit', headers: bearer(bob.token) })
  t.equal(refused.statusCode, 403)

  const denied = await audit(admin, `actor=${bob.id}&outcome=denied`)
  t.ok(denied.length >= 2)
  t.ok(denied.every(e => e.actorId === bob.id && e.outcome === 'denied'))
  const check = denied.find(e => e.action === 'authz.check')
  t.equal(check?.detail, 'keys:rotate: missing permission keys:rotate')
  t.ok(denied.some(e => e.detail?.includes('audit:read')), 'the refused audit read itself')

  const checks = await audit(admin, `action=authz.check&actor=${bob.id}`)
  t.ok(checks.length >= 1 && checks.every(e => e.action === 'authz.check'))
  t.same(await audit(admin, `actor=${bob.id}&outcome=failure`), [])
})

t.test('filters: time window, action, target; pagination by id', async t => {
  const before = await audit(admin)
  const lastId = before[0].id
  const from = new Date(Date.now() - 1000).toISOString()
  for (let i = 0; i < 5; i++) {
    await app.inject({ method: 'POST', url: '/v1/posts', headers: bearer(bob.token), payload: { title: `p${i}`, content: 'x' } })
  }
  const window = await audit(admin, `from=${from}&action=post.create&actor=${bob.id}`)
  t.equal(window.length, 5)
  t.same(await audit(admin, `to=${encodeURIComponent('2000-01-01T00:00:00Z')}`), [], 'nothing before 2000')
  t.same(await audit(admin, `from=${encodeURIComponent('2999-01-01T00:00:00+02:00')}`), [], 'nothing in the future')

  const seen: number[] = []
  let cursor: string | null = null
  do {
    await app.audit.flush()
    const url: string = `/v1/audit?actor=${bob.id}&action=post.create&limit=2${cursor ? `&cursor=${cursor}` : ''}`
    const res = await app.inject({ method: 'GET', url, headers: bearer(admin) })
    t.equal(res.statusCode, 200)
    seen.push(...res.json().items.map((e: Event) => e.id))
    cursor = res.json().nextCursor
  } while (cursor !== null)
  t.equal(seen.length, 5)
  t.same(seen, [...seen].sort((a, b) => b - a), 'newest first')
  t.ok(seen.every(id => id > lastId))

  for (const query of ['from=yesterday', 'to=2024-13-01T00:00:00Z', 'outcome=maybe', 'limit=0', 'limit=101', 'cursor=garbage', `actor=${'x'.repeat(201)}`]) {
    const res = await app.inject({ method: 'GET', url: `/v1/audit?${query}`, headers: bearer(admin) })
    t.equal(res.statusCode, 400, query)
  }
})

t.test('authentication and permission', async t => {
  const anon = await app.inject({ method: 'GET', url: '/v1/audit' })
  t.equal(anon.statusCode, 401)
  t.equal(anon.json().code, 'UNAUTHENTICATED')
  const forbidden = await app.inject({ method: 'GET', url: '/v1/audit', headers: bearer(alice.token) })
  t.equal(forbidden.statusCode, 403)
  t.equal(forbidden.json().code, 'FORBIDDEN')
})

t.test('a reader whose audit:read comes from a tenant role sees only that tenant', async t => {
  const [acme] = await app.db.insert(tenants).values({ slug: 'audit-acme', name: 'Acme' }).returning()
  const hank = await newUser(app, 'hank')
  await assign(hank.id, 'admin', acme.id)
  const hankAcme = (await login(app, hank.username, hank.password, { tenant: 'audit-acme' })).access_token
  const made = await app.inject({ method: 'POST', url: '/v1/posts', headers: bearer(hankAcme), payload: { title: 'acme', content: 'x' } })
  t.equal(made.statusCode, 201)

  const seen = await audit(hankAcme)
  t.ok(seen.length >= 1)
  t.ok(seen.every(e => e.tenantId === acme.id), 'only acme events')
  t.ok(seen.some(e => e.action === 'post.create' && e.targetId === made.json().id))
  t.same(await audit(hankAcme, `actor=${alice.id}`), [], 'default-tenant events are hidden')

  const global = await audit(admin, `target=${made.json().id}`)
  t.equal(global.length, 1, 'a global reader sees it too')
  t.ok((await audit(admin, `actor=${alice.id}`)).length > 0)

  const hankDefault = await app.inject({ method: 'GET', url: '/v1/audit', headers: bearer(hank.token) })
  t.equal(hankDefault.statusCode, 403, 'not in the default tenant')
})

import t from 'tap'
import { and, eq } from 'drizzle-orm'
import { auditEvents, posts, roleAssignments, roles, tenants } from '../../src/db/schema/index.js'
import { bearer, build, login, loginAdmin, newUser } from '../helper.js'
import { changed } from '../../src/access/changes.js'

const app = await build(t)

async function assign (userId: string, role: string, tenantId: string | null = null) {
  const [row] = await app.db.select({ id: roles.id }).from(roles).where(eq(roles.name, role))
  await app.db.insert(roleAssignments).values({ userId, roleId: row.id, tenantId })
  await app.changes.publish(changed.user(userId))
}

async function create (token: string, payload: Record<string, unknown>) {
  const res = await app.inject({ method: 'POST', url: '/v1/posts', headers: bearer(token), payload })
  if (res.statusCode !== 201) throw new Error(`create failed: ${res.statusCode} ${res.body}`)
  return res.json() as { id: string, isPublished: boolean, authorId: string }
}

const [defaultTenant] = await app.db.select().from(tenants).where(eq(tenants.slug, 'default'))
const alice = await newUser(app, 'alice')
const bob = await newUser(app, 'bob')
const carol = await newUser(app, 'carol')
await assign(carol.id, 'editor')
const dave = await newUser(app, 'dave')
await assign(dave.id, 'moderator', defaultTenant.id)

t.test('an author creates, reads, updates and deletes their own post', async t => {
  const res = await app.inject({
    method: 'POST', url: '/v1/posts', headers: bearer(alice.token), payload: { title: 'Hello', content: 'First draft' }
  })
  t.equal(res.statusCode, 201, res.body)
  const post = res.json()
  t.match(post, { title: 'Hello', content: 'First draft', isPublished: false, authorId: alice.id, tenantId: defaultTenant.id })
  t.match(post.id, /^[0-9a-f-]{36}$/)
  t.equal(post.createdAt, post.updatedAt)

  const got = await app.inject({ method: 'GET', url: `/v1/posts/${post.id}`, headers: bearer(alice.token) })
  t.equal(got.statusCode, 200)
  t.same(got.json(), post)

  const patched = await app.inject({
    method: 'PATCH', url: `/v1/posts/${post.id}`, headers: bearer(alice.token), payload: { title: 'Hello again' }
  })
  t.equal(patched.statusCode, 200, patched.body)
  t.equal(patched.json().title, 'Hello again')
  t.equal(patched.json().content, 'First draft')

  const published = await app.inject({ method: 'POST', url: `/v1/posts/${post.id}/publish`, headers: bearer(alice.token) })
  t.equal(published.statusCode, 200, published.body)
  t.equal(published.json().isPublished, true)

  const deleted = await app.inject({ method: 'DELETE', url: `/v1/posts/${post.id}`, headers: bearer(alice.token) })
  t.equal(deleted.statusCode, 204)
  t.equal(deleted.body, '')
  const rows = await app.db.select().from(posts).where(eq(posts.id, post.id))
  t.equal(rows.length, 0)
  const gone = await app.inject({ method: 'GET', url: `/v1/posts/${post.id}`, headers: bearer(alice.token) })
  t.equal(gone.statusCode, 404)

  await app.audit.flush()
  const events = await app.db.select().from(auditEvents).where(eq(auditEvents.targetId, post.id))
  t.same(events.map(e => e.action).sort(), ['post.create', 'post.delete', 'post.publish', 'post.update'])
  t.ok(events.every(e => e.actorId === alice.id && e.outcome === 'success'))
})

t.test('creating a published post uses the owner grant of posts:publish', async t => {
  const post = await create(alice.token, { title: 'Live', content: 'at once', isPublished: true })
  t.equal(post.isPublished, true)
  const seen = await app.inject({ method: 'GET', url: `/v1/posts/${post.id}`, headers: bearer(bob.token) })
  t.equal(seen.statusCode, 200)
})

t.test('a draft is invisible to other users; a published post is readable but not theirs to change', async t => {
  const draft = await create(alice.token, { title: 'Secret', content: 'draft' })
  for (const [method, url] of [
    ['GET', `/v1/posts/${draft.id}`],
    ['PATCH', `/v1/posts/${draft.id}`],
    ['DELETE', `/v1/posts/${draft.id}`],
    ['POST', `/v1/posts/${draft.id}/publish`]
  ] as const) {
    const res = await app.inject({ method, url, headers: bearer(bob.token), ...(method === 'PATCH' ? { payload: { title: 'x' } } : {}) })
    t.equal(res.statusCode, 404, `${method} ${url}`)
    t.equal(res.json().code, 'NOT_FOUND')
  }

  const pub = await create(alice.token, { title: 'Public', content: 'hello', isPublished: true })
  const read = await app.inject({ method: 'GET', url: `/v1/posts/${pub.id}`, headers: bearer(bob.token) })
  t.equal(read.statusCode, 200)
  const patch = await app.inject({ method: 'PATCH', url: `/v1/posts/${pub.id}`, headers: bearer(bob.token), payload: { title: 'mine now' } })
  t.equal(patch.statusCode, 403)
  t.equal(patch.json().code, 'FORBIDDEN')
  const del = await app.inject({ method: 'DELETE', url: `/v1/posts/${pub.id}`, headers: bearer(bob.token) })
  t.equal(del.statusCode, 403)
  const [row] = await app.db.select().from(posts).where(eq(posts.id, pub.id))
  t.equal(row.title, 'Public', 'unchanged')

  await app.audit.flush()
  const denied = await app.db.select().from(auditEvents)
    .where(and(eq(auditEvents.targetId, pub.id), eq(auditEvents.outcome, 'denied')))
  t.same(denied.map(e => e.detail?.split(':').slice(0, 2).join(':')).sort(), ['posts:delete', 'posts:update'])
  t.ok(denied.every(e => e.actorId === bob.id && e.targetType === 'post'))
})

t.test('an editor reads drafts, updates and publishes others\' posts but cannot delete them', async t => {
  const draft = await create(alice.token, { title: 'Needs work', content: 'typo teh' })
  const read = await app.inject({ method: 'GET', url: `/v1/posts/${draft.id}`, headers: bearer(carol.token) })
  t.equal(read.statusCode, 200)
  const patch = await app.inject({
    method: 'PATCH', url: `/v1/posts/${draft.id}`, headers: bearer(carol.token), payload: { content: 'typo the' }
  })
  t.equal(patch.statusCode, 200, patch.body)
  t.equal(patch.json().content, 'typo the')
  t.equal(patch.json().authorId, alice.id, 'the author stays')
  const publish = await app.inject({ method: 'POST', url: `/v1/posts/${draft.id}/publish`, headers: bearer(carol.token) })
  t.equal(publish.statusCode, 200)
  t.equal(publish.json().isPublished, true)
  const del = await app.inject({ method: 'DELETE', url: `/v1/posts/${draft.id}`, headers: bearer(carol.token) })
  t.equal(del.statusCode, 403)
})

t.test('a moderator deletes others\' posts but cannot publish them', async t => {
  const draft = await create(alice.token, { title: 'Spam', content: 'buy now' })
  const publish = await app.inject({ method: 'POST', url: `/v1/posts/${draft.id}/publish`, headers: bearer(dave.token) })
  t.equal(publish.statusCode, 403, 'may read the draft (posts:update) but not publish')
  const unpublish = await app.inject({
    method: 'PATCH', url: `/v1/posts/${draft.id}`, headers: bearer(dave.token), payload: { isPublished: true }
  })
  t.equal(unpublish.statusCode, 403, 'changing isPublished needs posts:publish')
  const del = await app.inject({ method: 'DELETE', url: `/v1/posts/${draft.id}`, headers: bearer(dave.token) })
  t.equal(del.statusCode, 204)
  t.equal((await app.db.select().from(posts).where(eq(posts.id, draft.id))).length, 0)
})

t.test('a post of another tenant is 404, even for a global admin', async t => {
  const [other] = await app.db.insert(tenants).values({ slug: 'posts-other', name: 'Other' }).returning()
  const [foreign] = await app.db.insert(posts).values({
    title: 'Elsewhere', content: 'x', isPublished: true, authorId: alice.id, tenantId: other.id
  }).returning()
  const admin = await loginAdmin(app)
  for (const token of [alice.token, admin.access_token]) {
    const get = await app.inject({ method: 'GET', url: `/v1/posts/${foreign.id}`, headers: bearer(token) })
    t.equal(get.statusCode, 404)
    const del = await app.inject({ method: 'DELETE', url: `/v1/posts/${foreign.id}`, headers: bearer(token) })
    t.equal(del.statusCode, 404)
    const list = await app.inject({ method: 'GET', url: `/v1/posts?authorId=${alice.id}&limit=100`, headers: bearer(token) })
    t.notOk(list.json().items.some((p: { id: string }) => p.id === foreign.id))
  }

  await assign(bob.id, 'user', other.id)
  const inOther = await login(app, bob.username, bob.password, { tenant: 'posts-other' })
  const seen = await app.inject({ method: 'GET', url: `/v1/posts/${foreign.id}`, headers: bearer(inOther.access_token) })
  t.equal(seen.statusCode, 200, 'visible from a token of its tenant')
  const created = await create(inOther.access_token, { title: 'There', content: 'y' })
  const [row] = await app.db.select().from(posts).where(eq(posts.id, created.id))
  t.equal(row.tenantId, other.id, 'created in the token\'s tenant')
})

t.test('token scopes limit resource-level checks', async t => {
  const post = await create(alice.token, { title: 'Scoped', content: 'z', isPublished: true })
  const readOnly = await login(app, alice.username, alice.password, { scope: 'posts:read' })
  const read = await app.inject({ method: 'GET', url: `/v1/posts/${post.id}`, headers: bearer(readOnly.access_token) })
  t.equal(read.statusCode, 200)
  const patch = await app.inject({ method: 'PATCH', url: `/v1/posts/${post.id}`, headers: bearer(readOnly.access_token), payload: { title: 'no' } })
  t.equal(patch.statusCode, 403)
  const create403 = await app.inject({ method: 'POST', url: '/v1/posts', headers: bearer(readOnly.access_token), payload: { title: 'a', content: 'b' } })
  t.equal(create403.statusCode, 403)
})

t.test('validation and authentication', async t => {
  const post = await create(alice.token, { title: 'Valid', content: 'ok' })
  const cases: Array<[string, string, unknown]> = [
    ['POST', '/v1/posts', {}],
    ['POST', '/v1/posts', { title: '', content: 'x' }],
    ['POST', '/v1/posts', { title: 'x'.repeat(201), content: 'x' }],
    ['POST', '/v1/posts', { title: 'x', content: 'x', authorId: bob.id }],
    ['POST', '/v1/posts', { title: 'x', content: 'x', isPublished: 'true' }],
    ['POST', '/v1/posts', { title: ['x'], content: 'x' }],
    ['PATCH', `/v1/posts/${post.id}`, {}],
    ['PATCH', `/v1/posts/${post.id}`, { tenantId: defaultTenant.id }],
    ['GET', '/v1/posts/not-a-uuid', undefined],
    ['GET', '/v1/posts?limit=0', undefined],
    ['GET', '/v1/posts?limit=101', undefined],
    ['GET', '/v1/posts?cursor=garbage', undefined],
    ['GET', '/v1/posts?authorId=nope', undefined]
  ]
  for (const [method, url, payload] of cases) {
    const res = await app.inject({ method: method as 'GET', url, headers: bearer(alice.token), ...(payload === undefined ? {} : { payload: payload as object }) })
    t.equal(res.statusCode, 400, `${method} ${url} ${JSON.stringify(payload)}: ${res.body}`)
    t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
  }
  const anon = await app.inject({ method: 'GET', url: '/v1/posts' })
  t.equal(anon.statusCode, 401)
  const anonPatch = await app.inject({ method: 'PATCH', url: `/v1/posts/${post.id}`, payload: { title: 'x' } })
  t.equal(anonPatch.statusCode, 401)
  const missing = await app.inject({ method: 'GET', url: '/v1/posts/00000000-0000-4000-8000-000000000000', headers: bearer(alice.token) })
  t.equal(missing.statusCode, 404)
})

t.test('listing: visibility, filters and keyset pagination', async t => {
  const erin = await newUser(app, 'erin')
  const created: string[] = []
  for (let i = 0; i < 7; i++) {
    const post = await create(erin.token, { title: `post ${i}`, content: String(i), isPublished: i % 2 === 0 })
    created.push(post.id)
  }
  type Item = { id: string, isPublished: boolean, authorId: string, createdAt: string }
  async function all (token: string, query: string) {
    const seen: Item[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const url: string = `/v1/posts?${query}&limit=2${cursor ? `&cursor=${cursor}` : ''}`
      const res = await app.inject({ method: 'GET', url, headers: bearer(token) })
      t.equal(res.statusCode, 200, res.body)
      const body = res.json() as { items: Item[], nextCursor: string | null }
      t.ok(body.items.length <= 2)
      seen.push(...body.items)
      cursor = body.nextCursor
      pages++
    } while (cursor !== null && pages < 20)
    return seen
  }

  const own = await all(erin.token, `authorId=${erin.id}`)
  t.same(own.map(p => p.id), [...created].reverse(), 'the author sees all of theirs, newest first, each once')
  for (let i = 1; i < own.length; i++) t.ok(own[i - 1].createdAt >= own[i].createdAt)

  const byBob = await all(bob.token, `authorId=${erin.id}`)
  t.same(byBob.map(p => p.id), created.filter((_, i) => i % 2 === 0).reverse(), 'others see the published ones only')

  const byEditor = await all(carol.token, `authorId=${erin.id}&published=false`)
  t.same(byEditor.map(p => p.id), created.filter((_, i) => i % 2 === 1).reverse(), 'an editor sees every draft')

  const drafts = await all(bob.token, 'published=false')
  t.ok(drafts.every(p => p.authorId === bob.id), 'a user\'s draft list holds only their own drafts')

  const published = await all(erin.token, `authorId=${erin.id}&published=true`)
  t.equal(published.length, 4)
  t.ok(published.every(p => p.isPublished))

  // a post inserted while paging does not shift the pages already read
  const first = await app.inject({ method: 'GET', url: `/v1/posts?authorId=${erin.id}&limit=3`, headers: bearer(erin.token) })
  await create(erin.token, { title: 'newest', content: 'n' })
  const second = await app.inject({
    method: 'GET', url: `/v1/posts?authorId=${erin.id}&limit=3&cursor=${first.json().nextCursor}`, headers: bearer(erin.token)
  })
  t.same(second.json().items.map((p: Item) => p.id), [...created].reverse().slice(3, 6))
})

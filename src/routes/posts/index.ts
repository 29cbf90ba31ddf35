import { randomUUID } from 'node:crypto'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { Type } from '@sinclair/typebox'
import { and, desc, eq, lt, or, sql, type SQL } from 'drizzle-orm'
import { decide, ScopeSet, type ResourceContext } from '../../authz/index.js'
import { posts } from '../../db/schema/index.js'
import { NotFound } from '../../errors.js'
import { decodeCursor, page } from '../../lib/cursor.js'
import { DEFAULT_PAGE_LIMIT, IdParamsSchema, protectedErrors, withNotFound } from '../../schemas/common.js'
import { CreatePostSchema, type Post, PostListQuerySchema, PostPageSchema, PostSchema, UpdatePostSchema } from '../../schemas/posts.js'
import { ref } from '../../schemas/registry.js'

type PostRow = typeof posts.$inferSelect

const toPost = (row: PostRow): Post => ({
  ...row,
  createdAt: row.createdAt.toISOString(),
  updatedAt: row.updatedAt.toISOString()
})

/** What the engine sees of a post: the author owns it; conditions may test `isPublished`. */
const resourceOf = (post: Pick<PostRow, 'id' | 'authorId' | 'isPublished'>): ResourceContext => ({
  type: 'post',
  id: post.id,
  ownerId: post.authorId,
  attributes: { isPublished: post.isPublished }
})

const TAGS = ['posts']
/** OpenAPI note for routes that check a permission on the post itself, not at route level. */
const onThePost = (permission: string) => ({ all: [permission], checkedOn: 'resource' })

/**
 * The example protected resource. Every rule goes through the decision engine with the post as
 * the resource: published posts need posts:read; a draft needs posts:update (which authors hold
 * on their own posts through the `user` role's owner condition); changes need posts:update,
 * posts:delete or posts:publish on the post. A caller who may not read a post gets 404 for it,
 * one who may read it but not change it 403. Posts live in the token's tenant.
 */
const postsRoutes: FastifyPluginAsyncTypebox = async app => {
  // built once: Drizzle no longer assembles the same SELECT on every read (bench E)
  const postById = app.db.select().from(posts)
    .where(and(eq(posts.id, sql.placeholder('id')), eq(posts.tenantId, sql.placeholder('tenantId'))))
    .prepare('warden_post_by_id')

  async function load (request: FastifyRequest, id: string): Promise<PostRow> {
    const [row] = await postById.execute({ id, tenantId: request.principal!.tid })
    if (row === undefined) throw new NotFound('post not found')
    return row
  }

  /** The post if the caller may read it; 404 otherwise, so a hidden draft looks like no post at all. */
  async function loadVisible (request: FastifyRequest, id: string): Promise<PostRow> {
    const row = await load(request, id)
    await request.authorize(row.isPublished ? 'posts:read' : 'posts:update', resourceOf(row), { hide: true })
    return row
  }

  app.get('/', {
    config: { permissions: ['posts:read'] },
    schema: {
      tags: TAGS,
      operationId: 'listPosts',
      summary: 'List posts',
      description: 'Published posts of the token\'s tenant, the caller\'s own drafts, and every draft when the caller holds posts:update unconditionally. Newest first.',
      querystring: PostListQuerySchema,
      response: { 200: ref(PostPageSchema), ...protectedErrors }
    }
  }, async request => {
    const principal = request.principal!
    const { limit = DEFAULT_PAGE_LIMIT, cursor, authorId, published } = request.query
    const after = cursor === undefined ? null : decodeCursor(cursor, 'uuid')

    const effective = await request.effectivePermissions()
    const scopes = ScopeSet.parse(principal.scope)
    const ctx = { subjectId: principal.sub, request: { ip: request.ip, now: Date.now() } }
    const everyDraft = decide(effective, 'posts:update', ctx, scopes).allowed
    const ownDrafts = everyDraft || decide(effective, 'posts:update', {
      ...ctx,
      resource: { type: 'post', ownerId: principal.sub, attributes: { isPublished: false } }
    }, scopes).allowed

    const where: Array<SQL | undefined> = [eq(posts.tenantId, principal.tid)]
    if (!everyDraft) where.push(ownDrafts ? or(eq(posts.isPublished, true), eq(posts.authorId, principal.sub)) : eq(posts.isPublished, true))
    if (authorId !== undefined) where.push(eq(posts.authorId, authorId))
    if (published !== undefined) where.push(eq(posts.isPublished, published))
    if (after !== null) {
      where.push(or(lt(posts.createdAt, after.at), and(eq(posts.createdAt, after.at), lt(posts.id, after.id))))
    }
    const rows = await app.db.select().from(posts)
      .where(and(...where))
      .orderBy(desc(posts.createdAt), desc(posts.id))
      .limit(limit + 1)
    const result = page(rows, limit, row => ({ at: row.createdAt, id: row.id }))
    return { items: result.items.map(toPost), nextCursor: result.nextCursor }
  })

  app.post('/', {
    config: { permissions: ['posts:create'], principal: 'user' },
    schema: {
      tags: TAGS,
      operationId: 'createPost',
      summary: 'Create a post',
      description: 'Needs posts:create; with `isPublished: true` also posts:publish on the new post (its author owns it).',
      body: ref(CreatePostSchema),
      response: { 201: ref(PostSchema), ...protectedErrors }
    }
  }, async (request, reply) => {
    const principal = request.principal!
    const { title, content, isPublished = false } = request.body
    const id = randomUUID()
    if (isPublished) {
      await request.authorize('posts:publish', { type: 'post', id, ownerId: principal.sub, attributes: { isPublished: false } })
    }
    // created_at with millisecond precision, like the keyset cursors that carry it
    const now = new Date()
    const [row] = await app.db.insert(posts).values({
      id, title, content, isPublished, authorId: principal.sub, tenantId: principal.tid, createdAt: now, updatedAt: now
    }).returning()
    app.audit.record(request, { action: 'post.create', outcome: 'success', targetType: 'post', targetId: row.id, after: { title, isPublished } })
    return reply.code(201).send(toPost(row))
  })

  app.get('/:id', {
    config: { permissions: ['posts:read'] },
    schema: {
      tags: TAGS,
      operationId: 'getPost',
      summary: 'Get a post',
      description: 'A published post needs posts:read; a draft needs posts:update on it (its author holds that). 404 when the caller may not read it.',
      params: IdParamsSchema,
      response: { 200: ref(PostSchema), ...withNotFound }
    }
  }, async request => toPost(await loadVisible(request, request.params.id)))

  app.patch('/:id', {
    config: { authenticated: true },
    schema: {
      tags: TAGS,
      operationId: 'updatePost',
      'x-permissions': onThePost('posts:update'),
      summary: 'Update a post',
      description: 'Checked on the post: posts:update (the author holds it on their own posts); changing `isPublished` also needs posts:publish. 404 when the caller may not read the post, 403 when they may read but not change it.',
      params: IdParamsSchema,
      body: ref(UpdatePostSchema),
      response: { 200: ref(PostSchema), ...withNotFound }
    }
  }, async request => {
    const post = await loadVisible(request, request.params.id)
    const resource = resourceOf(post)
    await request.authorize('posts:update', resource)
    const { title, content, isPublished } = request.body
    if (isPublished !== undefined && isPublished !== post.isPublished) {
      await request.authorize('posts:publish', resource)
    }
    const [row] = await app.db.update(posts)
      .set({ title, content, isPublished, updatedAt: new Date() })
      .where(and(eq(posts.id, post.id), eq(posts.tenantId, post.tenantId)))
      .returning()
    if (row === undefined) throw new NotFound('post not found')
    app.audit.record(request, {
      action: 'post.update',
      outcome: 'success',
      targetType: 'post',
      targetId: post.id,
      before: { title: post.title, isPublished: post.isPublished },
      after: { title: row.title, isPublished: row.isPublished }
    })
    return toPost(row)
  })

  app.delete('/:id', {
    config: { authenticated: true },
    schema: {
      tags: TAGS,
      operationId: 'deletePost',
      'x-permissions': onThePost('posts:delete'),
      summary: 'Delete a post',
      description: 'Checked on the post: posts:delete (the author holds it on their own posts). 404 when the caller may not read the post, 403 when they may read but not delete it.',
      params: IdParamsSchema,
      response: { 204: Type.Null(), ...withNotFound }
    }
  }, async (request, reply) => {
    const post = await loadVisible(request, request.params.id)
    await request.authorize('posts:delete', resourceOf(post))
    await app.db.delete(posts).where(and(eq(posts.id, post.id), eq(posts.tenantId, post.tenantId)))
    app.audit.record(request, {
      action: 'post.delete',
      outcome: 'success',
      targetType: 'post',
      targetId: post.id,
      before: { title: post.title, authorId: post.authorId, isPublished: post.isPublished }
    })
    return reply.code(204).send(null)
  })

  app.post('/:id/publish', {
    config: { authenticated: true },
    schema: {
      tags: TAGS,
      operationId: 'publishPost',
      'x-permissions': onThePost('posts:publish'),
      summary: 'Publish a post',
      description: 'Checked on the post: posts:publish (the author holds it on their own posts). Publishing a published post changes nothing. 404 when the caller may not read the post, 403 when they may read but not publish it.',
      params: IdParamsSchema,
      response: { 200: ref(PostSchema), ...withNotFound }
    }
  }, async request => {
    const post = await loadVisible(request, request.params.id)
    await request.authorize('posts:publish', resourceOf(post))
    if (post.isPublished) return toPost(post)
    const [row] = await app.db.update(posts)
      .set({ isPublished: true, updatedAt: new Date() })
      .where(and(eq(posts.id, post.id), eq(posts.tenantId, post.tenantId)))
      .returning()
    if (row === undefined) throw new NotFound('post not found')
    app.audit.record(request, { action: 'post.publish', outcome: 'success', targetType: 'post', targetId: post.id })
    return toPost(row)
  })
}

export default postsRoutes

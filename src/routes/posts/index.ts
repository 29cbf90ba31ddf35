import { randomUUID } from 'node:crypto'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { Type } from '@sinclair/typebox'
import { decide, ScopeSet, type ResourceContext } from '../../authz/index.js'
import { NotFound } from '../../errors.js'
import type { PostRow } from '../../repositories/posts.js'
import { DEFAULT_PAGE_LIMIT, IdParamsSchema, protectedErrors, withNotFound } from '../../schemas/common.js'
import { CreatePostSchema, PostListQuerySchema, PostPageSchema, PostSchema, UpdatePostSchema } from '../../schemas/posts.js'
import { ref } from '../../schemas/registry.js'
import { postView } from '../../services/posts.js'

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
  async function load (request: FastifyRequest, id: string): Promise<PostRow> {
    const row = await app.postsRepository.find(request.principal!.tid, id)
    if (row === null) throw new NotFound('post not found')
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

    const effective = await request.effectivePermissions()
    const scopes = ScopeSet.parse(principal.scope)
    const ctx = { subjectId: principal.sub, request: { ip: request.ip, now: Date.now() } }
    const everyDraft = decide(effective, 'posts:update', ctx, scopes).allowed
    const ownDrafts = everyDraft || decide(effective, 'posts:update', {
      ...ctx,
      resource: { type: 'post', ownerId: principal.sub, attributes: { isPublished: false } }
    }, scopes).allowed

    const result = await app.postsRepository.list({
      tenantId: principal.tid,
      drafts: everyDraft ? 'all' : ownDrafts ? 'own' : 'none',
      subjectId: principal.sub,
      authorId,
      published,
      limit,
      cursor
    })
    return { items: result.items.map(postView), nextCursor: result.nextCursor }
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
    const row = await app.postsRepository.create({ id, title, content, isPublished, authorId: principal.sub, tenantId: principal.tid })
    app.audit.record(request, { action: 'post.create', outcome: 'success', targetType: 'post', targetId: row.id, after: { title, isPublished } })
    return reply.code(201).send(postView(row))
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
  }, async request => postView(await loadVisible(request, request.params.id)))

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
    const row = await app.postsRepository.update(post, { title, content, isPublished })
    if (row === null) throw new NotFound('post not found')
    app.audit.record(request, {
      action: 'post.update',
      outcome: 'success',
      targetType: 'post',
      targetId: post.id,
      before: { title: post.title, isPublished: post.isPublished },
      after: { title: row.title, isPublished: row.isPublished }
    })
    return postView(row)
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
    await app.postsRepository.remove(post)
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
    if (post.isPublished) return postView(post)
    const row = await app.postsRepository.update(post, { isPublished: true })
    if (row === null) throw new NotFound('post not found')
    app.audit.record(request, { action: 'post.publish', outcome: 'success', targetType: 'post', targetId: post.id })
    return postView(row)
  })
}

export default postsRoutes

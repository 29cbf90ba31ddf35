import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { Type } from '@sinclair/typebox'
import { Conflict, Forbidden, NotFound, WeakPassword } from '../../errors.js'
import { isUniqueViolation } from '../../lib/db-errors.js'
import { CreateUserBodySchema, UpdateUserBodySchema, UserListQuerySchema } from '../../schemas/admin.js'
import { SessionPageSchema, UserPageSchema, UserSchema } from '../../schemas/auth.js'
import { DEFAULT_PAGE_LIMIT, errorResponses, IdParamsSchema, PageQuerySchema, protectedErrors, withNotFound } from '../../schemas/common.js'
import { checkPasswordPolicy } from '../../security/passwords.js'
import { adminScope, visibleUser, type AdminScope, type UserRow } from '../../services/admin/scope.js'
import { userView } from '../../services/admin/users.js'
import { sessionView } from '../../services/sessions.js'
import assignmentRoutes from './assignments.js'
import { ref } from '../../schemas/registry.js'
import { changed } from '../../access/changes.js'

const TAGS = ['users']

/** The default role a user created here gets, like a self-registered one. */
const DEFAULT_ROLE = 'user'

function conflictOnTaken (err: unknown): never {
  if (isUniqueViolation(err)) throw new Conflict('email or username is already taken')
  throw err
}

/**
 * User administration. A global administrator manages every user; one whose permission comes
 * from a tenant role sees only the members of that tenant (users holding an assignment there),
 * and changes or deletes only users who belong to no other tenant.
 */
const usersRoutes: FastifyPluginAsyncTypebox = async app => {
  /** 403 (audited) when a tenant-scoped caller would change an account other tenants share. */
  async function assertOwnedByScope (request: FastifyRequest, scope: AdminScope, user: UserRow, action: string) {
    if (scope.tenantId === null || !await app.usersRepository.belongsElsewhere(user.id, scope.tenantId)) return
    app.audit.record(request, {
      action,
      outcome: 'denied',
      targetType: 'user',
      targetId: user.id,
      tenantId: scope.tenantId,
      detail: 'the user also belongs to other tenants or holds a global role'
    })
    throw new Forbidden('the user also belongs to other tenants; only a global administrator may change this account')
  }

  app.get('/', {
    config: { permissions: ['users:read'] },
    schema: {
      tags: TAGS,
      operationId: 'listUsers',
      summary: 'List users',
      description: 'Oldest first. A tenant-scoped administrator sees the members of their tenant only. `q` searches email, username and full name.',
      querystring: UserListQuerySchema,
      response: { 200: ref(UserPageSchema), ...protectedErrors }
    }
  }, async request => {
    const { limit = DEFAULT_PAGE_LIMIT, cursor, q } = request.query
    const scope = await adminScope(app, request, 'users:read')
    const result = await app.usersRepository.list({ memberOf: scope.tenantId, q, limit, cursor })
    return { items: result.items.map(userView), nextCursor: result.nextCursor }
  })

  app.post('/', {
    config: { permissions: ['users:create'] },
    schema: {
      tags: TAGS,
      operationId: 'createUser',
      summary: 'Create a user',
      description: 'The new user gets the default role `user` in the caller\'s tenant (the token\'s). 409 if the email or username (case-insensitively) is taken.',
      body: ref(CreateUserBodySchema),
      response: { 201: ref(UserSchema), ...protectedErrors, 409: errorResponses[409] }
    }
  }, async (request, reply) => {
    const { email, username, password, fullName, isActive } = request.body
    const tenantId = request.principal!.tid
    const policy = checkPasswordPolicy(password, { email, username })
    if (!policy.ok) throw new WeakPassword(policy.message)
    const passwordHash = await app.passwords.hash(password)
    const { user, assigned } = await app.usersRepository.create(
      { email: email.toLowerCase(), username, fullName: fullName ?? null, passwordHash, isActive: isActive ?? true },
      { name: DEFAULT_ROLE, tenantId, createdBy: request.principal!.sub }
    ).catch(conflictOnTaken)
    if (!assigned) request.log.warn(`role ${DEFAULT_ROLE} does not exist; user ${user.id} was created without a role`)
    app.audit.record(request, { action: 'user.create', outcome: 'success', targetType: 'user', targetId: user.id, tenantId, after: userView(user) })
    return reply.code(201).send(userView(user))
  })

  app.get('/:id', {
    config: { permissions: ['users:read'] },
    schema: {
      tags: TAGS,
      operationId: 'getUser',
      summary: 'Get a user',
      description: '404 for an unknown user and for one outside a tenant-scoped caller\'s tenant.',
      params: IdParamsSchema,
      response: { 200: ref(UserSchema), ...withNotFound }
    }
  }, async request => {
    const scope = await adminScope(app, request, 'users:read')
    return userView(await visibleUser(app.db, scope, request.params.id))
  })

  app.patch('/:id', {
    config: { permissions: ['users:update'] },
    schema: {
      tags: TAGS,
      operationId: 'updateUser',
      summary: 'Change a user',
      description: '`isActive: false` disables the user: their sessions end and every token of theirs stops working on its next request.',
      params: IdParamsSchema,
      body: ref(UpdateUserBodySchema),
      response: { 200: ref(UserSchema), ...withNotFound, 409: errorResponses[409] }
    }
  }, async request => {
    const scope = await adminScope(app, request, 'users:update')
    const before = await visibleUser(app.db, scope, request.params.id)
    await assertOwnedByScope(request, scope, before, 'user.update')
    const { email, username, fullName, isActive } = request.body
    const { user, ended } = await app.usersRepository.update(
      before,
      { email: email?.toLowerCase(), username, fullName, isActive },
      // a disabled user's sessions end, so that enabling them again does not revive old tokens
      isActive === false && before.isActive ? { reason: 'user disabled' } : undefined
    ).catch(conflictOnTaken)
    await app.changes.publish(changed.user(user.id), ...ended.map(id => changed.session(id)))
    app.audit.record(request, {
      action: isActive === false && before.isActive ? 'user.disable' : 'user.update',
      outcome: 'success',
      targetType: 'user',
      targetId: user.id,
      tenantId: scope.tenantId,
      before: userView(before),
      after: userView(user)
    })
    return userView(user)
  })

  app.delete('/:id', {
    config: { permissions: ['users:delete'] },
    schema: {
      tags: TAGS,
      operationId: 'deleteUser',
      summary: 'Delete a user',
      description: 'Deletes the user with their sessions, assignments and posts; their tokens stop working at once.',
      params: IdParamsSchema,
      response: { 204: Type.Null(), ...withNotFound }
    }
  }, async (request, reply) => {
    const scope = await adminScope(app, request, 'users:delete')
    const user = await visibleUser(app.db, scope, request.params.id)
    await assertOwnedByScope(request, scope, user, 'user.delete')
    const ended = await app.usersRepository.remove(user)
    await app.changes.publish(changed.user(user.id), ...ended.map(id => changed.session(id)))
    app.audit.record(request, { action: 'user.delete', outcome: 'success', targetType: 'user', targetId: user.id, tenantId: scope.tenantId, before: userView(user) })
    return reply.code(204).send(null)
  })

  app.delete('/:id/mfa', {
    config: { permissions: ['users:update'] },
    schema: {
      tags: TAGS,
      operationId: 'resetUserMfa',
      summary: 'Reset a user\'s two-factor authentication',
      description: 'For a user who lost their authenticator and recovery codes: removes both, and ends the user\'s sessions (their browser sign-ins included). They sign in with the password alone and can enrol again. 404 when the user has none.',
      params: IdParamsSchema,
      response: { 204: Type.Null(), ...withNotFound }
    }
  }, async (request, reply) => {
    const scope = await adminScope(app, request, 'users:update')
    const user = await visibleUser(app.db, scope, request.params.id)
    await assertOwnedByScope(request, scope, user, 'user.mfa_reset')
    if (!await app.mfaRepository.remove(user.id)) throw new NotFound('the user has no two-factor authentication')
    const ended = await app.sessionsRepository.revokeAllOf(user.id, 'two-factor reset')
    await app.browserRepository.endAllOf(user.id)
    await app.changes.publish(changed.user(user.id), ...ended.map(id => changed.session(id)))
    app.audit.record(request, { action: 'user.mfa_reset', outcome: 'success', targetType: 'user', targetId: user.id, tenantId: scope.tenantId })
    return reply.code(204).send(null)
  })

  app.get('/:id/sessions', {
    config: { permissions: ['users:read'] },
    schema: {
      tags: TAGS,
      operationId: 'listUserSessions',
      summary: 'A user\'s live sessions, newest first',
      description: 'The user\'s sessions that have not ended or expired (password grants and browser sign-ins alike), for an administrator; `current` is always false. A tenant-scoped administrator sees its members only (404 otherwise).',
      params: IdParamsSchema,
      querystring: PageQuerySchema,
      response: { 200: ref(SessionPageSchema), ...withNotFound }
    }
  }, async request => {
    const scope = await adminScope(app, request, 'users:read')
    const user = await visibleUser(app.db, scope, request.params.id)
    const { limit = DEFAULT_PAGE_LIMIT, cursor } = request.query
    const result = await app.sessionsRepository.listLive(user.id, { limit, cursor })
    return { items: result.items.map(s => sessionView(s, null)), nextCursor: result.nextCursor }
  })

  app.delete('/:id/sessions/:sid', {
    config: { permissions: ['users:update'] },
    schema: {
      tags: TAGS,
      operationId: 'deleteUserSession',
      summary: 'End one of a user\'s sessions',
      description: 'Ends the session; its access tokens are refused from the next request on and its refresh token stops working. 404 when the user has no such live session, or is not visible to a tenant-scoped administrator.',
      params: Type.Object({ id: Type.String({ format: 'uuid' }), sid: Type.String({ format: 'uuid' }) }),
      response: { 204: Type.Null(), ...withNotFound }
    }
  }, async (request, reply) => {
    const scope = await adminScope(app, request, 'users:update')
    const user = await visibleUser(app.db, scope, request.params.id)
    await assertOwnedByScope(request, scope, user, 'user.session_delete')
    const own = await app.sessionsRepository.findOwn(request.params.sid, user.id)
    if (own === null) throw new NotFound('session not found')
    await app.sessionsRepository.revoke([own], 'ended by an administrator')
    await app.changes.publish(changed.session(own))
    app.audit.record(request, { action: 'user.session_delete', outcome: 'success', targetType: 'session', targetId: own, tenantId: scope.tenantId, detail: `session of user ${user.id}` })
    return reply.code(204).send(null)
  })

  await app.register(assignmentRoutes)
}

export default usersRoutes

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type, type Static } from '@sinclair/typebox'
import { Conflict, InvalidPassword, NotFound, RegistrationDisabled, WeakPassword } from '../../errors.js'
import { isUniqueViolation } from '../../lib/db-errors.js'
import { DEFAULT_PAGE_LIMIT, errorResponses, PageQuerySchema, protectedErrors } from '../../schemas/common.js'
import { MeSchema, PasswordChangeBodySchema, PatchMeBodySchema, RegisterBodySchema, SessionPageSchema, UserSchema } from '../../schemas/auth.js'
import { checkPasswordPolicy } from '../../security/passwords.js'
import { userView } from '../../services/admin/users.js'
import { sessionView } from '../../services/sessions.js'
import type { UserRow } from '../../services/admin/scope.js'
import { ref } from '../../schemas/registry.js'
import { changed } from '../../access/changes.js'
import type { PrincipalView } from '../../access/index.js'

/** Self-service: registration, the current user, password change, logout and sessions. */
const accountRoutes: FastifyPluginAsyncTypebox = async app => {
  app.post('/register', {
    config: { public: true },
    schema: {
      tags: ['auth'],
      operationId: 'register',
      summary: 'Register a user (the default role in the default tenant)',
      description: 'The new user gets the default role `user` in the default tenant. 403 REGISTRATION_DISABLED when self-registration is off; 400 WEAK_PASSWORD for a common password; 409 when the e-mail or username (case-insensitively) is taken.',
      body: ref(RegisterBodySchema),
      response: { 201: ref(UserSchema), 400: errorResponses[400], 403: errorResponses[403], 409: errorResponses[409] }
    }
  }, async (request, reply) => {
    if (!app.config.registrationEnabled) throw new RegistrationDisabled('self-registration is disabled')
    const { email, username, password, fullName } = request.body
    const policy = checkPasswordPolicy(password, { email, username })
    if (!policy.ok) throw new WeakPassword(policy.message)
    const passwordHash = await app.passwords.hash(password)
    const tenant = await app.tenantsRepository.default()
    let user: UserRow
    try {
      user = await app.usersRepository.register({ email: email.toLowerCase(), username, fullName: fullName ?? null, passwordHash }, tenant.id)
    } catch (err) {
      if (isUniqueViolation(err)) throw new Conflict('email or username is already taken')
      throw err
    }
    app.audit.record(request, { action: 'user.register', outcome: 'success', targetType: 'user', targetId: user.id, tenantId: tenant.id, after: userView(user) })
    return reply.code(201).send(userView(user))
  })

  app.post('/logout', {
    config: { authenticated: true, principal: 'user' },
    schema: {
      tags: ['auth'],
      operationId: 'logout',
      summary: 'End the caller\'s session (?all=true: every session of the user)',
      description: 'Ends the session of the token (its refresh-token family): the access token is refused from the next request on. `all=true` ends every session of the user.',
      querystring: Type.Object({ all: Type.Optional(Type.Boolean({ default: false, description: 'end every session of the user, not only this one' })) }),
      response: { 204: Type.Null(), ...protectedErrors }
    }
  }, async (request, reply) => {
    const principal = request.principal!
    const ended = request.query.all === true
      ? await app.sessionsRepository.revokeAllOf(principal.sub, 'logout')
      : await app.sessionsRepository.revoke([principal.sid!], 'logout')
    await app.changes.publish(...ended.map(changed.session))
    app.audit.record(request, { action: 'auth.logout', outcome: 'success', targetType: 'user', targetId: principal.sub, detail: `${ended.length} session(s) ended` })
    return reply.code(204).send(null)
  })

  // Kept as bytes, not a string: Node copies a string body into a fresh off-heap buffer on every
  // write, and at 20,000 answers a second that churn of external memory drives V8 into full
  // collections whose cost grows with the heap (measured: GC 7.8% of /me's CPU with a
  // million-user state, against 1.9% for a route with a short body; bench/README.md).
  const meAnswers = new WeakMap<PrincipalView, Buffer>()
  // the answer holds only the fields of MeSchema, each of the schema's type
  const serializeMe = (answer: Static<typeof MeSchema>) => Buffer.from(JSON.stringify(answer))

  async function loadMe (userId: string) {
    const user = await app.usersRepository.find(userId)
    if (!user) throw new NotFound('user not found')
    return user
  }

  app.get('/me', {
    config: { authenticated: true, principal: 'user' },
    schema: {
      tags: ['auth'],
      operationId: 'getMe',
      summary: 'The caller: user fields, tenant, roles, effective permissions and token scopes',
      description: 'The user fields with the token\'s tenant, the roles held there or globally, the effective permissions in that tenant and the token\'s scopes. A client token gets 403.',
      response: { 200: ref(MeSchema), ...protectedErrors }
    }
  }, async (request, reply) => {
    // From the access state authn already keeps (kept fresh by the change bus): no SQL once
    // warm. The answer is kept with the caller's view while the view stands: any change anywhere,
    // or an expiry of what it shows, ends the view and with it this copy.
    const view = request.accessView!
    const now = Date.now()
    const kept = meAnswers.get(view)
    if (kept !== undefined && app.access.current(view, now)) return reply.type('application/json; charset=utf-8').send(kept)
    const principal = request.principal!
    const [user, tenant, held, effective] = await Promise.all([
      app.access.profile(principal.sub),
      app.access.tenant(principal.tid),
      app.access.heldRoles(principal.sub, principal.tid, now),
      request.effectivePermissions()
    ])
    if (user === null || held === null) throw new NotFound('user not found')
    if (tenant === null) throw new NotFound('tenant not found')
    const answer: Static<typeof MeSchema> = {
      ...userView(user),
      tenant,
      roles: held.sort(),
      permissions: effective.permissions(),
      scopes: [...principal.scopes]
    }
    // kept only when the view's own effective set answered (its `until` then covers the assignments' expiry)
    if (view.effective === effective && app.access.current(view, now)) {
      const body = serializeMe(answer)
      meAnswers.set(view, body)
      return reply.type('application/json; charset=utf-8').send(body)
    }
    return answer
  })

  app.patch('/me', {
    config: { authenticated: true, principal: 'user' },
    schema: {
      tags: ['auth'],
      operationId: 'updateMe',
      summary: 'Change the caller\'s full name or email',
      description: 'Only `fullName` and `email`; anything else is a 400. 409 when the e-mail is taken.',
      body: ref(PatchMeBodySchema),
      response: { 200: ref(UserSchema), ...protectedErrors, 409: errorResponses[409] }
    }
  }, async request => {
    const principal = request.principal!
    const before = await loadMe(principal.sub)
    const { fullName, email } = request.body
    let after: UserRow
    try {
      after = await app.usersRepository.updateSelf(principal.sub, { fullName, email: email?.toLowerCase() })
    } catch (err) {
      if (isUniqueViolation(err)) throw new Conflict('email is already taken')
      throw err
    }
    await app.changes.publish(changed.user(after.id))
    app.audit.record(request, { action: 'user.update_self', outcome: 'success', targetType: 'user', targetId: after.id, before: userView(before), after: userView(after) })
    return userView(after)
  })

  app.post('/me/password', {
    config: { authenticated: true, principal: 'user' },
    schema: {
      tags: ['auth'],
      operationId: 'changePassword',
      summary: 'Change the caller\'s password; ends the user\'s other sessions',
      description: '400 INVALID_PASSWORD for a wrong current password, 400 WEAK_PASSWORD for a common new one. Every other session of the user ends, and a login verified with the old password while this ran opens none.',
      body: ref(PasswordChangeBodySchema),
      response: { 204: Type.Null(), ...protectedErrors }
    }
  }, async (request, reply) => {
    const principal = request.principal!
    const user = await loadMe(principal.sub)
    const { currentPassword, newPassword } = request.body
    if (!await app.passwords.verify(user.passwordHash, currentPassword)) {
      app.audit.record(request, { action: 'user.password_change', outcome: 'failure', targetType: 'user', targetId: user.id, detail: 'wrong current password' })
      throw new InvalidPassword('current password is wrong')
    }
    const policy = checkPasswordPolicy(newPassword, { email: user.email, username: user.username })
    if (!policy.ok) throw new WeakPassword(policy.message)
    const passwordHash = await app.passwords.hash(newPassword)
    // one transaction: a login verified against the old password either opened its session
    // before (ended here) or finds the version bumped and opens none (see createSession)
    const ended = await app.usersRepository.changePassword(user.id, passwordHash, principal.sid!)
    await app.changes.publish(changed.user(user.id), ...ended.map(changed.session))
    app.audit.record(request, { action: 'user.password_change', outcome: 'success', targetType: 'user', targetId: user.id, detail: `${ended.length} other session(s) ended` })
    return reply.code(204).send(null)
  })

  app.get('/sessions', {
    config: { authenticated: true, principal: 'user' },
    schema: {
      tags: ['auth'],
      operationId: 'listSessions',
      summary: 'The caller\'s live sessions, newest first',
      description: 'The caller\'s sessions that have not ended or expired; `current` marks the one of the token making the request.',
      querystring: PageQuerySchema,
      response: { 200: ref(SessionPageSchema), ...protectedErrors }
    }
  }, async request => {
    const principal = request.principal!
    const { limit = DEFAULT_PAGE_LIMIT, cursor } = request.query
    const result = await app.sessionsRepository.listLive(principal.sub, { limit, cursor })
    return { items: result.items.map(s => sessionView(s, principal.sid)), nextCursor: result.nextCursor }
  })

  app.delete('/sessions/:id', {
    config: { authenticated: true, principal: 'user' },
    schema: {
      tags: ['auth'],
      operationId: 'deleteSession',
      summary: 'End one of the caller\'s sessions',
      description: 'Ends one of the caller\'s own sessions; its access tokens are refused from the next request on. 404 for another user\'s session.',
      params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
      response: { 204: Type.Null(), ...protectedErrors, 404: errorResponses[404] }
    }
  }, async (request, reply) => {
    const principal = request.principal!
    const own = await app.sessionsRepository.findOwn(request.params.id, principal.sub)
    if (own === null) throw new NotFound('session not found')
    await app.sessionsRepository.revoke([own], 'deleted by user')
    await app.changes.publish(changed.session(own))
    app.audit.record(request, { action: 'auth.session_delete', outcome: 'success', targetType: 'session', targetId: own })
    return reply.code(204).send(null)
  })
}

export default accountRoutes

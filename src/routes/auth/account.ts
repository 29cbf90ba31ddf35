import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { and, desc, eq, gt, isNull, lt, or, sql } from 'drizzle-orm'
import { roleAssignments, roles, sessions, tenants, users } from '../../db/schema/index.js'
import { Conflict, InvalidPassword, NotFound, RegistrationDisabled, WeakPassword } from '../../errors.js'
import { decodeCursor, page } from '../../lib/cursor.js'
import { isUniqueViolation } from '../../lib/db-errors.js'
import { DEFAULT_PAGE_LIMIT, errorResponses, PageQuerySchema, protectedErrors } from '../../schemas/common.js'
import { MeSchema, PasswordChangeBodySchema, PatchMeBodySchema, RegisterBodySchema, SessionPageSchema, UserSchema } from '../../schemas/auth.js'
import { checkPasswordPolicy } from '../../security/passwords.js'
import { userView } from '../../services/admin/users.js'
import { revokeSessions, revokeUserSessions } from '../../services/sessions.js'
import { defaultTenant } from '../../services/tenants.js'
import { ref } from '../../schemas/registry.js'
import { changed } from '../../access/changes.js'

type UserRow = typeof users.$inferSelect

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
    const tenant = await defaultTenant(app.db)
    let user: UserRow
    try {
      user = await app.db.transaction(async tx => {
        const [row] = await tx.insert(users).values({ email: email.toLowerCase(), username, fullName: fullName ?? null, passwordHash }).returning()
        const [role] = await tx.select({ id: roles.id }).from(roles).where(eq(roles.name, 'user'))
        if (role) await tx.insert(roleAssignments).values({ userId: row.id, roleId: role.id, tenantId: tenant.id })
        return row
      })
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
      ? await revokeUserSessions(app.db, principal.sub, 'logout')
      : await revokeSessions(app.db, [principal.sid!], 'logout')
    await app.changes.publish(...ended.map(changed.session))
    app.audit.record(request, { action: 'auth.logout', outcome: 'success', targetType: 'user', targetId: principal.sub, detail: `${ended.length} session(s) ended` })
    return reply.code(204).send(null)
  })

  async function loadMe (userId: string) {
    const [user] = await app.db.select().from(users).where(eq(users.id, userId))
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
  }, async request => {
    const principal = request.principal!
    const user = await loadMe(principal.sub)
    const [tenant] = await app.db.select({ id: tenants.id, slug: tenants.slug, name: tenants.name }).from(tenants).where(eq(tenants.id, principal.tid))
    if (!tenant) throw new NotFound('tenant not found')
    const now = new Date()
    const held = await app.db.selectDistinct({ name: roles.name }).from(roleAssignments)
      .innerJoin(roles, eq(roles.id, roleAssignments.roleId))
      .where(and(
        eq(roleAssignments.userId, user.id),
        or(isNull(roleAssignments.tenantId), eq(roleAssignments.tenantId, principal.tid)),
        or(isNull(roleAssignments.expiresAt), gt(roleAssignments.expiresAt, now))
      ))
    const effective = await request.effectivePermissions()
    return {
      ...userView(user),
      tenant,
      roles: held.map(r => r.name).sort(),
      permissions: effective.permissions(),
      scopes: [...principal.scopes]
    }
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
    const patch: Partial<UserRow> = { updatedAt: new Date() }
    if (request.body.fullName !== undefined) patch.fullName = request.body.fullName
    if (request.body.email !== undefined) patch.email = request.body.email.toLowerCase()
    let after: UserRow
    try {
      [after] = await app.db.update(users).set(patch).where(eq(users.id, principal.sub)).returning()
    } catch (err) {
      if (isUniqueViolation(err)) throw new Conflict('email is already taken')
      throw err
    }
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
    const ended = await app.db.transaction(async tx => {
      await tx.update(users).set({ passwordHash, credentialsVersion: sql`${users.credentialsVersion} + 1`, updatedAt: new Date() })
        .where(eq(users.id, user.id))
      return revokeUserSessions(tx, user.id, 'password changed', principal.sid!)
    })
    await app.changes.publish(...ended.map(changed.session))
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
    const after = cursor ? decodeCursor(cursor) : null
    const rows = await app.db.select().from(sessions)
      .where(and(
        eq(sessions.userId, principal.sub),
        isNull(sessions.revokedAt),
        gt(sessions.expiresAt, new Date()),
        // timestamps are stored at millisecond precision, as the cursor carries them
        after ? or(lt(sessions.createdAt, after.at), and(eq(sessions.createdAt, after.at), lt(sessions.id, after.id))) : undefined
      ))
      .orderBy(desc(sessions.createdAt), desc(sessions.id))
      .limit(limit + 1)
    const result = page(rows, limit, r => ({ at: r.createdAt, id: r.id }))
    return {
      items: result.items.map(s => ({
        id: s.id,
        tenantId: s.tenantId,
        scopes: s.scopes,
        userAgent: s.userAgent,
        ip: s.ip,
        createdAt: s.createdAt.toISOString(),
        lastUsedAt: s.lastUsedAt.toISOString(),
        expiresAt: s.expiresAt.toISOString(),
        current: s.id === principal.sid
      })),
      nextCursor: result.nextCursor
    }
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
    const [own] = await app.db.select({ id: sessions.id }).from(sessions)
      .where(and(eq(sessions.id, request.params.id), eq(sessions.userId, principal.sub), isNull(sessions.revokedAt)))
    if (!own) throw new NotFound('session not found')
    await revokeSessions(app.db, [own.id], 'deleted by user')
    await app.changes.publish(changed.session(own.id))
    app.audit.record(request, { action: 'auth.session_delete', outcome: 'success', targetType: 'session', targetId: own.id })
    return reply.code(204).send(null)
  })
}

export default accountRoutes

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { BadRequest, NotFound } from '../../errors.js'
import { isForeignKeyViolation } from '../../lib/db-errors.js'
import {
  AssignBodySchema, AssignmentListQuerySchema, AssignmentSchema, EffectivePermissionsSchema,
  TenantQuerySchema, UserRoleParamsSchema, type Assignment, AssignmentPageSchema
} from '../../schemas/admin.js'
import { DEFAULT_PAGE_LIMIT, IdParamsSchema, withNotFound } from '../../schemas/common.js'
import { assertMayGrant } from '../../services/admin/escalation.js'
import type { AssignmentRow } from '../../repositories/users.js'
import { emptyBodyAsObject } from '../../services/admin/optional-body.js'
import { roleGrants } from '../../services/admin/roles.js'
import { effectivePermissionsView } from '../../services/admin/users.js'
import { adminScope, assignmentTenant, heldIn, visibleTenant, visibleUser } from '../../services/admin/scope.js'
import { ref } from '../../schemas/registry.js'
import { changed } from '../../access/changes.js'

const TAGS = ['users']

const assignmentView = (row: Pick<AssignmentRow, 'tenantId' | 'expiresAt' | 'createdAt'> & { role: string }): Assignment => ({
  role: row.role,
  tenant: row.tenantId,
  expiresAt: row.expiresAt?.toISOString() ?? null,
  createdAt: row.createdAt.toISOString()
})

/**
 * A user's role assignments and effective permissions. A tenant-scoped administrator sees and
 * changes only their tenant's assignments (a missing `tenant` means theirs). Assigning a role,
 * or removing one, needs every grant the role confers, held in that scope (no escalation).
 */
const assignmentRoutes: FastifyPluginAsyncTypebox = async app => {
  async function findRole (name: string) {
    const role = await app.rolesRepository.findRef(name)
    if (role === null) throw new NotFound(`role ${name} not found`)
    return role
  }

  app.get('/:id/roles', {
    config: { permissions: ['users:read'] },
    schema: {
      tags: TAGS,
      operationId: 'listUserRoles',
      summary: 'List a user\'s role assignments',
      description: 'Oldest first; `tenant` (id or slug) narrows to one tenant. A tenant-scoped administrator sees only their tenant\'s assignments.',
      params: IdParamsSchema,
      querystring: AssignmentListQuerySchema,
      response: { 200: ref(AssignmentPageSchema), ...withNotFound }
    }
  }, async request => {
    const { limit = DEFAULT_PAGE_LIMIT, cursor, tenant } = request.query
    const scope = await adminScope(app, request, 'users:read')
    const user = await visibleUser(app.db, scope, request.params.id)
    const only = tenant !== undefined ? (await visibleTenant(app.db, scope, tenant)).id : scope.tenantId
    const result = await app.usersRepository.assignments(user.id, { tenantId: only, limit, cursor })
    return { items: result.items.map(assignmentView), nextCursor: result.nextCursor }
  })

  app.put('/:id/roles/:role', {
    config: { permissions: ['roles:assign'] },
    preValidation: emptyBodyAsObject,
    schema: {
      tags: TAGS,
      operationId: 'assignRole',
      summary: 'Assign a role to a user',
      description: 'Idempotent: creates the assignment (201) or replaces its expiry (200). Without `tenant` the assignment is global, ' +
        'or in the caller\'s tenant when their rights come from a tenant role. Refused (403) unless the caller holds every permission the role grants, in that scope.',
      params: UserRoleParamsSchema,
      body: ref(AssignBodySchema),
      response: { 200: ref(AssignmentSchema), 201: ref(AssignmentSchema), ...withNotFound }
    }
  }, async (request, reply) => {
    const body = request.body
    const scope = await adminScope(app, request, 'roles:assign')
    const user = await visibleUser(app.db, scope, request.params.id)
    const tenant = await assignmentTenant(app.db, scope, body.tenant)
    const tenantId = tenant?.id ?? null
    const expiresAt = body.expiresAt == null ? null : new Date(body.expiresAt)
    if (expiresAt !== null && expiresAt.getTime() <= Date.now()) throw new BadRequest('expiresAt must be in the future')
    const role = await findRole(request.params.role)

    assertMayGrant(app, request, await heldIn(app, request, tenantId), await roleGrants(app, role.name), {
      action: 'role.assign', targetType: 'user', targetId: user.id, tenantId
    })

    const { before, after } = await app.usersRepository.assign({ userId: user.id, roleId: role.id, tenantId }, expiresAt, request.principal!.sub).catch(err => {
      // the user, role or tenant was deleted since it was read
      if (isForeignKeyViolation(err)) throw new NotFound('the user, role or tenant no longer exists')
      throw err
    })
    await app.changes.publish(changed.user(user.id))
    const view = assignmentView({ ...after, role: role.name })
    app.audit.record(request, {
      action: 'role.assign',
      outcome: 'success',
      targetType: 'user',
      targetId: user.id,
      tenantId,
      before: before === null ? null : assignmentView({ ...before, role: role.name }),
      after: view
    })
    return reply.code(after.inserted ? 201 : 200).send(view)
  })

  app.delete('/:id/roles/:role', {
    config: { permissions: ['roles:assign'] },
    schema: {
      tags: TAGS,
      operationId: 'unassignRole',
      summary: 'Remove a role assignment',
      description: '`tenant` (id or slug) names the assignment\'s tenant; without it, the global assignment, or the caller\'s tenant\'s when they are tenant-scoped. ' +
        'Needs every permission the role grants, like assigning it. 404 if the user does not hold the role there.',
      params: UserRoleParamsSchema,
      querystring: TenantQuerySchema,
      response: { 204: Type.Null(), ...withNotFound }
    }
  }, async (request, reply) => {
    const scope = await adminScope(app, request, 'roles:assign')
    const user = await visibleUser(app.db, scope, request.params.id)
    const tenant = await assignmentTenant(app.db, scope, request.query.tenant)
    const tenantId = tenant?.id ?? null
    const role = await findRole(request.params.role)
    const assignment = { userId: user.id, roleId: role.id, tenantId }
    const existing = await app.usersRepository.findAssignment(assignment)
    if (existing === null) throw new NotFound(`the user does not hold role ${role.name} there`)
    // taking a role away is managing it: an administrator cannot strip rights they do not hold themselves
    assertMayGrant(app, request, await heldIn(app, request, tenantId), await roleGrants(app, role.name), {
      action: 'role.unassign', targetType: 'user', targetId: user.id, tenantId
    })
    if (!await app.usersRepository.unassign(assignment)) throw new NotFound(`the user does not hold role ${role.name} there`)
    await app.changes.publish(changed.user(user.id))
    app.audit.record(request, {
      action: 'role.unassign',
      outcome: 'success',
      targetType: 'user',
      targetId: user.id,
      tenantId,
      before: assignmentView({ ...existing, role: role.name })
    })
    return reply.code(204).send(null)
  })

  app.get('/:id/permissions', {
    config: { permissions: ['users:read'] },
    schema: {
      tags: TAGS,
      operationId: 'getUserPermissions',
      summary: 'A user\'s effective permissions, each with the role paths that grant it',
      description: 'For `tenant` (id or slug; default: the caller\'s tenant): the roles assigned globally or in that tenant, unexpired. ' +
        '`path` runs from the assigned role to the role that holds the grant.',
      params: IdParamsSchema,
      querystring: TenantQuerySchema,
      response: { 200: ref(EffectivePermissionsSchema), ...withNotFound }
    }
  }, async request => {
    const scope = await adminScope(app, request, 'users:read')
    const user = await visibleUser(app.db, scope, request.params.id)
    const tenantId = request.query.tenant !== undefined
      ? (await visibleTenant(app.db, scope, request.query.tenant)).id
      : scope.tenantId ?? request.principal!.tid
    const state = await app.access.subject(user.id)
    if (state === null) throw new NotFound('user not found')
    return effectivePermissionsView(tenantId, await app.access.effectiveFor(state, tenantId))
  })
}

export default assignmentRoutes

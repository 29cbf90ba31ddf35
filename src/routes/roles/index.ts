import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { Type } from '@sinclair/typebox'
import { isValidPermissionName } from '../../authz/index.js'
import { BadRequest, Conflict, NotFound } from '../../errors.js'
import { isForeignKeyViolation, isUniqueViolation } from '../../lib/db-errors.js'
import type { LockedGraph } from '../../repositories/roles.js'
import {
  CreateRoleBodySchema, GrantBodySchema, GrantBodyValidatedSchema, RoleGrantParamsSchema, RoleParamsSchema, RoleSchema, UpdateRoleBodySchema, RolePageSchema
} from '../../schemas/admin.js'
import { DEFAULT_PAGE_LIMIT, errorResponses, PageQuerySchema, protectedErrors, withConflict, withNotFound } from '../../schemas/common.js'
import { addedGrants, assertMayGrant, grantsOfRole, type GrantRequirement } from '../../services/admin/escalation.js'
import { parseCondition } from '../../services/admin/conditions.js'
import { emptyBodyAsObject } from '../../services/admin/optional-body.js'
import {
  assertParents, changeRole, compileDefinitions, refuseUnknownPermissions, roleView, type RoleDefinition
} from '../../services/admin/roles.js'
import { heldIn, type Held } from '../../services/admin/scope.js'
import { ref } from '../../schemas/registry.js'
import { changed, type Change } from '../../access/changes.js'

const TAGS = ['roles']

type Grant = RoleDefinition['grants'][number]

/** A permission deleted between the existence check and the insert: role_permissions refuses it. */
function rethrowWrite (err: unknown): never {
  if (isForeignKeyViolation(err)) throw new Conflict('a permission or role changed at the same time; try again')
  throw err
}

/**
 * Roles are global objects: every change is checked against the caller's global rights. No
 * escalation: a change must not give any role a grant the caller does not hold, and a role the
 * caller does not fully hold cannot be changed or deleted by them at all (otherwise `roles:write`
 * could strip the administrators' role). Writes to the graph are serialized by an advisory lock,
 * so concurrent edits cannot close a cycle together.
 */
const rolesRoutes: FastifyPluginAsyncTypebox = async app => {
  async function assertPermissionsExist (graph: LockedGraph, names: readonly string[]) {
    refuseUnknownPermissions(await graph.unknownPermissions(names))
  }

  /**
   * The change from `current` (null: a new role) to `next` is allowed only if the caller holds
   * every grant the role has now and every grant it would gain. Roles inheriting from it gain
   * exactly what it gains, so checking the role itself covers them.
   */
  function assertMayChange (request: FastifyRequest, held: Held, defs: ReadonlyMap<string, RoleDefinition>, current: RoleDefinition | null, next: Pick<RoleDefinition, 'name' | 'grants' | 'parents'> | null, action: string) {
    const name = (current ?? next)!.name
    const before = current === null ? [] : grantsOfRole(compileDefinitions(defs), name)
    const after = next === null ? [] : grantsOfRole(compileDefinitions(defs, next), name)
    const required: GrantRequirement[] = [...before, ...addedGrants(after, before)]
    assertMayGrant(app, request, held, required, { action, targetType: 'role', targetId: name })
  }

  async function viewOf (name: string) {
    const def = await app.rolesRepository.find(name)
    if (def === null) throw new NotFound(`role ${name} not found`)
    return roleView(def)
  }

  /** Users holding the role: their cached assignments name it, so a rename or delete must drop them. */
  async function holdersOf (graph: LockedGraph, role: RoleDefinition): Promise<Change[]> {
    return (await graph.holders(role)).map(changed.user)
  }

  app.get('/', {
    config: { permissions: ['roles:read'] },
    schema: {
      tags: TAGS,
      operationId: 'listRoles',
      summary: 'List roles',
      description: 'Oldest first, with each role\'s own grants and direct parents.',
      querystring: PageQuerySchema,
      response: { 200: ref(RolePageSchema), ...protectedErrors }
    }
  }, async request => {
    const { limit = DEFAULT_PAGE_LIMIT, cursor } = request.query
    const result = await app.rolesRepository.list({ limit, cursor })
    return { items: result.items.map(roleView), nextCursor: result.nextCursor }
  })

  app.post('/', {
    config: { permissions: ['roles:write'], global: true },
    schema: {
      tags: TAGS,
      operationId: 'createRole',
      summary: 'Create a role',
      description: '400 for an unknown permission or parent; 409 for a taken name or an inheritance cycle; 403 unless the caller holds (globally) every permission the role would grant, inherited ones included.',
      body: ref(CreateRoleBodySchema),
      response: { 201: ref(RoleSchema), ...protectedErrors, 409: errorResponses[409] }
    }
  }, async (request, reply) => {
    const { name, description = '', permissions: names = [], inherits = [] } = request.body
    const held = await heldIn(app, request, null)
    const next = { name, grants: names.map(permission => ({ permission, condition: null })), parents: inherits }
    await app.rolesRepository.withLockedGraph(async graph => {
      const { defs } = graph
      if (defs.has(name)) throw new Conflict(`role ${name} already exists`)
      assertParents(defs, name, inherits)
      await assertPermissionsExist(graph, names)
      assertMayChange(request, held, defs, null, next, 'role.create')
      await graph.create({ name, description, permissions: names, parents: inherits })
    }).catch(err => {
      if (isUniqueViolation(err)) throw new Conflict(`role ${name} already exists`)
      rethrowWrite(err)
    })
    await app.changes.publish(changed.graph)
    const view = await viewOf(name)
    app.audit.record(request, { action: 'role.create', outcome: 'success', targetType: 'role', targetId: name, after: view })
    return reply.code(201).send(view)
  })

  app.get('/:name', {
    config: { permissions: ['roles:read'] },
    schema: {
      tags: TAGS,
      operationId: 'getRole',
      summary: 'Get a role',
      description: 'The role\'s unconditional grants (`permissions`), conditional grants (`grants`) and direct parents (`inherits`).',
      params: RoleParamsSchema,
      response: { 200: ref(RoleSchema), ...withNotFound }
    }
  }, async request => viewOf(request.params.name))

  app.patch('/:name', {
    config: { permissions: ['roles:write'], global: true },
    schema: {
      tags: TAGS,
      operationId: 'updateRole',
      summary: 'Change a role',
      description: '`permissions` replaces the role\'s unconditional grants, `inherits` its parents. 403 unless the caller holds every permission the role grants now and would grant after the change.',
      params: RoleParamsSchema,
      body: ref(UpdateRoleBodySchema),
      response: { 200: ref(RoleSchema), ...withConflict }
    }
  }, async request => {
    const { name: newName, description, permissions: names, inherits } = request.body
    const held = await heldIn(app, request, null)
    const { before, finalName, holders } = await changeRole(app, request.params.name, async (current, graph) => {
      const { defs } = graph
      const finalName = newName ?? current.name
      if (finalName !== current.name && defs.has(finalName)) throw new Conflict(`role ${finalName} already exists`)
      const parents = inherits ?? current.parents
      if (inherits !== undefined) assertParents(defs, current.name, inherits)
      let grants: Grant[] = current.grants
      if (names !== undefined) {
        await assertPermissionsExist(graph, names)
        grants = [
          ...names.map(permission => ({ permission, condition: null })),
          ...current.grants.filter(g => g.condition !== null && !names.includes(g.permission))
        ]
      }
      assertMayChange(request, held, defs, current, { name: current.name, grants, parents }, 'role.update')

      await graph.update(current, { name: finalName, description, permissions: names, parents: inherits })
      const holders = finalName === current.name ? [] : await holdersOf(graph, current)
      return { before: roleView(current), finalName, holders }
    }).catch(err => {
      if (isUniqueViolation(err)) throw new Conflict(`role ${newName ?? ''} already exists`)
      rethrowWrite(err)
    })
    await app.changes.publish(changed.graph, ...holders)
    const view = await viewOf(finalName)
    app.audit.record(request, { action: 'role.update', outcome: 'success', targetType: 'role', targetId: finalName, before, after: view })
    return view
  })

  app.delete('/:name', {
    config: { permissions: ['roles:write'], global: true },
    schema: {
      tags: TAGS,
      operationId: 'deleteRole',
      summary: 'Delete a role',
      description: 'Its assignments go with it. 409 while other roles inherit from it; 403 unless the caller holds every permission it grants.',
      params: RoleParamsSchema,
      response: { 204: Type.Null(), ...withConflict }
    }
  }, async (request, reply) => {
    const held = await heldIn(app, request, null)
    const { before, holders } = await changeRole(app, request.params.name, async (current, graph) => {
      const { defs } = graph
      const children = [...defs.values()].filter(d => d.parents.includes(current.name)).map(d => d.name)
      if (children.length > 0) throw new Conflict(`role ${current.name} is inherited by ${children.join(', ')}`)
      assertMayChange(request, held, defs, current, null, 'role.delete')
      const holders = await holdersOf(graph, current)
      await graph.remove(current)
      return { before: roleView(current), holders }
    })
    await app.changes.publish(changed.graph, ...holders)
    app.audit.record(request, { action: 'role.delete', outcome: 'success', targetType: 'role', targetId: before.name, before })
    return reply.code(204).send(null)
  })

  app.put('/:name/permissions/:permission', {
    config: { permissions: ['roles:write'], global: true },
    preValidation: emptyBodyAsObject,
    schema: {
      tags: TAGS,
      operationId: 'grantPermission',
      summary: 'Grant a permission to a role',
      description: 'Adds the grant (201) or replaces its condition (200). `condition` (docs/conditions.md) is validated: 400 INVALID_CONDITION. 400 for an unknown permission; 403 unless the caller holds it (and every permission the role already grants).',
      params: RoleGrantParamsSchema,
      body: GrantBodyValidatedSchema,
      'x-documented-body': ref(GrantBodySchema),
      response: { 200: ref(RoleSchema), 201: ref(RoleSchema), ...withNotFound }
    }
  }, async (request, reply) => {
    const { name, permission } = request.params
    if (!isValidPermissionName(permission)) throw new BadRequest(`invalid permission name ${permission}`)
    const condition = parseCondition(request.body.condition)
    const held = await heldIn(app, request, null)
    const { before, created } = await changeRole(app, name, async (current, graph) => {
      await assertPermissionsExist(graph, [permission])
      const created = !current.grants.some(g => g.permission === permission)
      const grants = [...current.grants.filter(g => g.permission !== permission), { permission, condition }]
      assertMayChange(request, held, graph.defs, current, { name, grants, parents: current.parents }, 'role.grant')
      await graph.grant(current, permission, condition)
      return { before: roleView(current), created }
    }).catch(rethrowWrite)
    await app.changes.publish(changed.graph)
    const view = await viewOf(name)
    app.audit.record(request, { action: 'role.grant', outcome: 'success', targetType: 'role', targetId: name, before, after: view, detail: permission })
    return reply.code(created ? 201 : 200).send(view)
  })

  app.delete('/:name/permissions/:permission', {
    config: { permissions: ['roles:write'], global: true },
    schema: {
      tags: TAGS,
      operationId: 'revokePermission',
      summary: 'Remove a permission grant from a role',
      description: '404 if the role does not grant it itself (inherited grants are removed from the parent). 403 unless the caller holds every permission the role grants.',
      params: RoleGrantParamsSchema,
      response: { 204: Type.Null(), ...withNotFound }
    }
  }, async (request, reply) => {
    const { name, permission } = request.params
    const held = await heldIn(app, request, null)
    const before = await changeRole(app, name, async (current, graph) => {
      if (!current.grants.some(g => g.permission === permission)) throw new NotFound(`role ${name} does not grant ${permission}`)
      const grants = current.grants.filter(g => g.permission !== permission)
      assertMayChange(request, held, graph.defs, current, { name, grants, parents: current.parents }, 'role.revoke')
      await graph.revoke(current, permission)
      return roleView(current)
    })
    await app.changes.publish(changed.graph)
    app.audit.record(request, { action: 'role.revoke', outcome: 'success', targetType: 'role', targetId: name, before, detail: permission })
    return reply.code(204).send(null)
  })
}

export default rolesRoutes

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import {
  applyRoleChange, compileRoleGraph, concreteExpander, diffSubject, EffectTally, Holdings, isValidPermissionName, rolesReaching,
  type Assignment, type Effect, type RoleChange, type RoleInput
} from '../../authz/index.js'
import { BadRequest, Conflict, NotFound, ValidationFailed } from '../../errors.js'
import { errorResponses, withNotFound } from '../../schemas/common.js'
import { ref } from '../../schemas/registry.js'
import {
  DEFAULT_WHAT_IF_LIMIT, WhatIfRequestSchema, WhatIfRequestValidatedSchema, WhatIfResultSchema,
  type WhatIfEffect, type WhatIfRequest, type WhatIfResult
} from '../../schemas/authz.js'
import { parseCondition } from '../../services/admin/conditions.js'
import { assertParents, refuseUnknownPermissions, type RoleDefinition } from '../../services/admin/roles.js'
import { adminScope, assignmentTenant, visibleTenant, visibleUser } from '../../services/admin/scope.js'

type Change = WhatIfRequest['change']
type Kind = Change['kind']
type Field = Exclude<keyof Change, 'kind' | 'role'>

/** The fields each kind takes, as the route that makes the change takes them. */
const FIELDS: Record<Kind, { required: readonly Field[], optional: readonly Field[] }> = {
  grant: { required: ['permission'], optional: ['condition', 'tenant'] },
  revoke: { required: ['permission'], optional: ['tenant'] },
  inherit: { required: ['parent'], optional: ['tenant'] },
  uninherit: { required: ['parent'], optional: ['tenant'] },
  'delete-role': { required: [], optional: ['tenant'] },
  assign: { required: ['user'], optional: ['tenant', 'expiresAt'] },
  unassign: { required: ['user'], optional: ['tenant'] }
}
const ALL_FIELDS: readonly Field[] = ['permission', 'condition', 'parent', 'user', 'tenant', 'expiresAt']

/** Users read per page: what one page holds in memory, whatever the number of holders. */
const PAGE = 1000

/** 400 listing each field the kind needs but lacks, and each it does not take. */
function assertFields (change: Change): void {
  const { required, optional } = FIELDS[change.kind]
  const errors: Array<{ path: string, message: string }> = []
  for (const field of ALL_FIELDS) {
    const given = change[field] !== undefined
    if (!given && required.includes(field)) errors.push({ path: `body/change/${field}`, message: `is required for kind ${change.kind}` })
    if (given && !required.includes(field) && !optional.includes(field)) errors.push({ path: `body/change/${field}`, message: `does not apply to kind ${change.kind}` })
  }
  if (errors.length > 0) {
    throw Object.assign(new ValidationFailed(`change of kind ${change.kind}: ${errors.map(e => `${e.path.slice('body/change/'.length)} ${e.message}`).join('; ')}`), { errors })
  }
}

const sameAssignment = (a: Assignment, role: string, tenantId: string | null) => a.role === role && a.tenantId === tenantId

/**
 * POST /v1/authz/what-if: who would gain and who would lose which permission if one change were
 * made. The change is checked as the route that makes it checks it (same 400/404/409 answers),
 * applied to the role graph read now, and compiled by the engine; nothing is written. The
 * subjects are the holders of the roles whose closure changes, read in pages of PAGE users.
 */
const whatIfRoutes: FastifyPluginAsyncTypebox = async app => {
  function findRole (defs: ReadonlyMap<string, RoleDefinition>, name: string): RoleDefinition {
    const role = defs.get(name)
    if (role === undefined) throw new NotFound(`role ${name} not found`)
    return role
  }

  /** The role change, refused as its route refuses it. */
  function roleChange (change: Change, defs: ReadonlyMap<string, RoleDefinition>, catalog: ReadonlySet<string>): RoleChange {
    const name = change.role
    switch (change.kind) {
      case 'grant': {
        const permission = change.permission!
        if (!isValidPermissionName(permission)) throw new BadRequest(`invalid permission name ${permission}`)
        const condition = parseCondition(change.condition, 'body/change/condition')
        findRole(defs, name)
        refuseUnknownPermissions(catalog.has(permission) ? [] : [permission])
        return { kind: 'grant', role: name, permission, condition }
      }
      case 'revoke': {
        const permission = change.permission!
        if (!findRole(defs, name).grants.some(g => g.permission === permission)) throw new NotFound(`role ${name} does not grant ${permission}`)
        return { kind: 'revoke', role: name, permission }
      }
      case 'inherit': {
        const role = findRole(defs, name)
        assertParents(defs, name, [...new Set([...role.parents, change.parent!])])
        return { kind: 'inherit', role: name, parent: change.parent! }
      }
      case 'uninherit': {
        findRole(defs, name)
        if (!defs.has(change.parent!)) throw new BadRequest(`unknown role: ${change.parent!}`)
        return { kind: 'uninherit', role: name, parent: change.parent! }
      }
      default: {
        findRole(defs, name)
        const children = [...defs.values()].filter(d => d.parents.includes(name)).map(d => d.name)
        if (children.length > 0) throw new Conflict(`role ${name} is inherited by ${children.join(', ')}`)
        return { kind: 'delete-role', role: name }
      }
    }
  }

  app.post('/what-if', {
    config: { permissions: ['roles:read', 'users:read'] },
    schema: {
      tags: ['authz'],
      operationId: 'whatIf',
      summary: 'The effect of a change before it is made',
      description: 'Who would gain and who would lose which permission (concrete catalog names, wildcards expanded) if the change were made, ' +
        'computed as GET /v1/users/{id}/permissions would answer before and after: conditional grants count, expired assignments do not. ' +
        'A permission gained or lost globally is reported once with `tenant: null`, a tenant\'s only when it is not held globally. ' +
        'The change is refused as the route that makes it refuses it (400, 404, 409). Nothing is written. ' +
        'A tenant-scoped caller (or `tenant` on a role change) sees that tenant\'s members and that tenant only.',
      body: WhatIfRequestValidatedSchema,
      'x-documented-body': ref(WhatIfRequestSchema),
      response: { 200: ref(WhatIfResultSchema), ...withNotFound, 409: errorResponses[409] }
    }
  }, async request => {
    const { change, limit = DEFAULT_WHAT_IF_LIMIT } = request.body
    assertFields(change)
    const scope = await adminScope(app, request, 'users:read')
    const now = Date.now()
    const at = new Date(now)

    // one user's assignments change, or the role graph does
    let user: { id: string, before: Assignment[], after: Assignment[] } | null = null
    let view: string | null = scope.tenantId
    let graphChange: RoleChange | null = null
    const isAssignment = change.kind === 'assign' || change.kind === 'unassign'
    if (isAssignment) {
      const target = await visibleUser(app.db, scope, change.user!)
      const tenantId = (await assignmentTenant(app.db, scope, change.tenant))?.id ?? null
      const expiresAt = change.expiresAt == null ? null : new Date(change.expiresAt).getTime()
      if (expiresAt !== null && expiresAt <= now) throw new BadRequest('expiresAt must be in the future')
      const role = await app.rolesRepository.findRef(change.role)
      if (role === null) throw new NotFound(`role ${change.role} not found`)
      if (change.kind === 'unassign' && await app.usersRepository.findAssignment({ userId: target.id, roleId: role.id, tenantId }) === null) {
        throw new NotFound(`the user does not hold role ${role.name} there`)
      }
      const before = (await app.usersRepository.currentAssignments([target.id], at)).get(target.id) ?? []
      const kept = before.filter(a => !sameAssignment(a, role.name, tenantId))
      user = { id: target.id, before, after: change.kind === 'assign' ? [...kept, { role: role.name, tenantId, expiresAt }] : kept }
    } else if (change.tenant !== undefined) {
      view = (await visibleTenant(app.db, scope, change.tenant)).id
    }

    const names = await app.permissionsRepository.names()
    const expand = concreteExpander(names)
    let defs: Awaited<ReturnType<typeof app.rolesRepository.definitions>> = new Map()
    let inputs: RoleInput[] = []
    let was: Holdings
    let is: Holdings
    if (isAssignment) {
      // the role graph stays as it is: the engine's own compiled graph serves (every role change
      // invalidates it), instead of reading and compiling every role again
      was = is = new Holdings(await app.access.getGraph(), expand)
    } else {
      defs = await app.rolesRepository.definitions()
      graphChange = roleChange(change, defs, new Set(names))
      inputs = [...defs.values()].map(d => ({ name: d.name, parents: d.parents, grants: d.grants }))
      const compile = (roles: readonly RoleInput[]) => compileRoleGraph(roles, { permissions: names, unknownParents: 'ignore' })
      was = new Holdings(compile(inputs), expand)
      is = new Holdings(compile(applyRoleChange(inputs, graphChange)), expand)
    }

    const gained = new EffectTally(limit)
    const lost = new EffectTally(limit)
    const tally = (subject: { id: string, before: readonly Assignment[], after: readonly Assignment[] }) => {
      const effects = diffSubject(subject, was, is, view, now)
      gained.add(effects.gained)
      lost.add(effects.lost)
    }

    if (user !== null) {
      tally(user)
    } else {
      const roleIds = [...rolesReaching(inputs, change.role)].map(name => defs.get(name)!.id)
      let after: string | null = null
      let page: Map<string, Assignment[]>
      do {
        page = await app.usersRepository.holdersPage({ roleIds, tenantId: view, after, limit: PAGE, now: at })
        for (const [id, held] of page) {
          tally({ id, before: held, after: held })
          after = id
        }
      } while (page.size === PAGE)
    }

    const usernames = await app.usersRepository.usernames([...new Set([...gained.items, ...lost.items].map(e => e.subjectId))])
    const item = (e: Effect): WhatIfEffect => ({ subject: { id: e.subjectId, username: usernames.get(e.subjectId) ?? '' }, tenant: e.tenantId, permission: e.permission })
    const result: WhatIfResult = {
      gained: { count: gained.count, subjects: gained.subjects, items: gained.items.map(item) },
      lost: { count: lost.count, subjects: lost.subjects, items: lost.items.map(item) }
    }
    return result
  })
}

export default whatIfRoutes

import type { FastifyInstance } from 'fastify'
import { compileRoleGraph, wouldCreateCycle, type Condition, type RoleGraph } from '../../authz/index.js'
import { BadRequest, Conflict, NotFound } from '../../errors.js'
import type { LockedGraph, RoleDefinition } from '../../repositories/roles.js'
import type { Role } from '../../schemas/admin.js'
import { grantsOfRole, type GrantRequirement } from './escalation.js'

export type { RoleDefinition } from '../../repositories/roles.js'

/** Compiles definitions, one of them possibly replaced by (or added as) `changed`. */
export function compileDefinitions (defs: ReadonlyMap<string, Pick<RoleDefinition, 'name' | 'grants' | 'parents'>>, changed?: Pick<RoleDefinition, 'name' | 'grants' | 'parents'>): RoleGraph {
  const all = new Map(defs)
  if (changed !== undefined) all.set(changed.name, changed)
  return compileRoleGraph([...all.values()].map(d => ({ name: d.name, grants: d.grants, parents: d.parents })))
}

/** The role's full grant set, read from the database so that a stale cached graph cannot hide a grant. */
export async function roleGrants (app: FastifyInstance, name: string): Promise<GrantRequirement[]> {
  return grantsOfRole(compileDefinitions(await app.rolesRepository.definitions()), name)
}

/** Runs `fn` on the named role with the role graph locked (repositories/roles.ts); 404 when there is no such role. */
export function changeRole<T> (app: FastifyInstance, name: string, fn: (role: RoleDefinition, graph: LockedGraph) => Promise<T>): Promise<T> {
  return app.rolesRepository.withLockedGraph(async graph => {
    const role = graph.defs.get(name)
    if (role === undefined) throw new NotFound(`role ${name} not found`)
    return fn(role, graph)
  })
}

/** 400 naming the permissions the catalog does not have. */
export function refuseUnknownPermissions (unknown: readonly string[]): void {
  if (unknown.length > 0) throw new BadRequest(`unknown permission: ${unknown.join(', ')}`)
}

/** 409 if giving role `name` these parents would close an inheritance cycle, 400 for a parent that is not a role. */
export function assertParents (defs: ReadonlyMap<string, Pick<RoleDefinition, 'name' | 'parents'>>, name: string, parents: readonly string[]): void {
  const cycle = wouldCreateCycle([...defs.values()], name, parents)
  if (cycle !== null) throw new Conflict(`role inheritance cycle: ${cycle.join(' -> ')}`)
  const unknown = parents.filter(p => !defs.has(p))
  if (unknown.length > 0) throw new BadRequest(`unknown role: ${unknown.join(', ')}`)
}

/** The API shape: unconditional grants in `permissions`, conditional ones in `grants`. */
export function roleView (def: RoleDefinition): Role {
  return {
    name: def.name,
    description: def.description,
    permissions: def.grants.filter(g => g.condition === null).map(g => g.permission).sort(),
    grants: def.grants.filter(g => g.condition !== null).map(g => ({ permission: g.permission, condition: g.condition as Condition }))
      .sort((a, b) => (a.permission < b.permission ? -1 : a.permission > b.permission ? 1 : 0)),
    inherits: [...def.parents].sort(),
    createdAt: def.createdAt.toISOString(),
    updatedAt: def.updatedAt.toISOString()
  }
}

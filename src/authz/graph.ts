/**
 * The role graph: roles, their grants and their parents, compiled once into each role's
 * transitive grant set. A graph is immutable; recompile it when roles change.
 */
import { type Condition, compileCondition } from './conditions.js'
import { type AppliedRole, type Assignment, EffectiveSet } from './effective.js'
import { DuplicateRoleError, InvalidPermissionError, RoleCycleError, UnknownRoleError } from './errors.js'
import { isValidPermissionName } from './permissions.js'
import { buildRole, type CompiledGrant, type CompiledRole, type GrantPath, type RolePath } from './role.js'

export interface GrantInput {
  permission: string
  condition?: Condition | null
}

export interface RoleInput {
  name: string
  /** the roles this one inherits from */
  parents?: readonly string[]
  grants?: readonly GrantInput[]
}

export interface CompileOptions {
  /**
   * The catalog of permission names. When given, decide() answers `unknown_permission` for a
   * concrete name outside it (a holder of `*` included).
   */
  permissions?: Iterable<string>
  /** what to do with a parent that is not among the roles: throw UnknownRoleError (default) or skip it */
  unknownParents?: 'throw' | 'ignore'
}

/**
 * How many paths to one grant a role keeps for explanations. Inheritance diamonds multiply paths;
 * the cap keeps a deep lattice of roles from growing the compiled graph exponentially.
 */
export const MAX_PATHS_PER_GRANT = 8

export interface RoleGraph {
  /** the effective set of these assignments in `tenantId`, skipping expired ones and unknown roles */
  effective (assignments: Iterable<Assignment>, tenantId: string | null, now?: number): EffectiveSet
  hasRole (name: string): boolean
  roleNames (): string[]
  /** the names a role grants, its inherited ones included (wildcards as granted), sorted; null for an unknown role */
  permissionsOf (role: string): string[] | null
}

type ParentMap = ReadonlyMap<string, readonly string[]>

/** Depth-first search for a cycle; returns it (first role repeated at the end) or null. */
function findCycle (parents: ParentMap, starts: Iterable<string>): string[] | null {
  const state = new Map<string, 'visiting' | 'done'>()
  const stack: string[] = []
  const visit = (name: string): string[] | null => {
    const seen = state.get(name)
    if (seen === 'done') return null
    if (seen === 'visiting') return [...stack.slice(stack.indexOf(name)), name]
    state.set(name, 'visiting')
    stack.push(name)
    for (const parent of parents.get(name) ?? []) {
      const cycle = visit(parent)
      if (cycle !== null) return cycle
    }
    stack.pop()
    state.set(name, 'done')
    return null
  }
  for (const name of starts) {
    const cycle = visit(name)
    if (cycle !== null) return cycle
  }
  return null
}

/**
 * Whether giving `roleName` these parents (instead of its current ones) would close an
 * inheritance cycle; returns the cycle, e.g. ['a', 'b', 'a'], or null. `roleName` may be a new
 * role. Parents that are not among `roles` are ignored here.
 */
export function wouldCreateCycle (
  roles: ReadonlyArray<Pick<RoleInput, 'name' | 'parents'>>,
  roleName: string,
  newParents: readonly string[]
): string[] | null {
  const parents = new Map<string, readonly string[]>()
  for (const role of roles) parents.set(role.name, role.parents ?? [])
  parents.set(roleName, newParents)
  // breadth-first from the new parents back to roleName, so the reported cycle is a shortest one
  const previous = new Map<string, string>()
  const queue: string[] = []
  for (const p of newParents) {
    if (p === roleName) return [roleName, roleName]
    if (parents.has(p) && !previous.has(p)) {
      previous.set(p, roleName)
      queue.push(p)
    }
  }
  for (let i = 0; i < queue.length; i++) {
    const current = queue[i]
    for (const p of parents.get(current) ?? []) {
      if (p === roleName) {
        const path = [current]
        for (let r = previous.get(current); r !== undefined && r !== roleName; r = previous.get(r)) path.push(r)
        return [roleName, ...path.reverse(), roleName]
      }
      if (parents.has(p) && !previous.has(p)) {
        previous.set(p, current)
        queue.push(p)
      }
    }
  }
  return null
}

/**
 * Compiles roles into a RoleGraph. Throws DuplicateRoleError, UnknownRoleError (unless
 * `unknownParents: 'ignore'`), RoleCycleError, InvalidPermissionError or InvalidConditionError.
 */
export function compileRoleGraph (roles: readonly RoleInput[], options: CompileOptions = {}): RoleGraph {
  const inputs = new Map<string, RoleInput>()
  for (const role of roles) {
    if (inputs.has(role.name)) throw new DuplicateRoleError(role.name)
    inputs.set(role.name, role)
  }

  const parents = new Map<string, readonly string[]>()
  for (const role of roles) {
    const list: string[] = []
    for (const parent of role.parents ?? []) {
      if (!inputs.has(parent)) {
        if (options.unknownParents === 'ignore') continue
        throw new UnknownRoleError(parent, role.name)
      }
      if (!list.includes(parent)) list.push(parent)
    }
    parents.set(role.name, list)
  }
  const cycle = findCycle(parents, inputs.keys())
  if (cycle !== null) throw new RoleCycleError(cycle)

  const ownGrants = new Map<string, CompiledGrant[]>()
  for (const role of roles) {
    ownGrants.set(role.name, (role.grants ?? []).map((g) => {
      const where = `role ${role.name}`
      if (!isValidPermissionName(g.permission)) throw new InvalidPermissionError(String(g.permission), where)
      const condition = g.condition ?? null
      const test = condition === null ? null : compileCondition(condition, `${where}, grant ${g.permission}`)
      return Object.freeze({ role: role.name, permission: g.permission, condition, test })
    }))
  }

  const closures = new Map<string, GrantPath[]>()
  const closure = (name: string): GrantPath[] => {
    const done = closures.get(name)
    if (done !== undefined) return done
    const own: RolePath = { role: name, next: null, length: 1 }
    const paths: GrantPath[] = []
    const count = new Map<CompiledGrant, number>()
    for (const grant of ownGrants.get(name) ?? []) {
      paths.push({ grant, path: own })
      count.set(grant, 1)
    }
    for (const parent of parents.get(name) ?? []) {
      for (const inherited of closure(parent)) {
        const n = count.get(inherited.grant) ?? 0
        if (n >= MAX_PATHS_PER_GRANT) continue
        count.set(inherited.grant, n + 1)
        paths.push({ grant: inherited.grant, path: { role: name, next: inherited.path, length: inherited.path.length + 1 } })
      }
    }
    closures.set(name, paths)
    return paths
  }

  const compiled = new Map<string, CompiledRole>()
  for (const name of inputs.keys()) compiled.set(name, buildRole(name, closure(name)))
  const known = options.permissions === undefined ? null : new Set(options.permissions)

  return Object.freeze({
    effective (assignments: Iterable<Assignment>, tenantId: string | null, now = Date.now()): EffectiveSet {
      const applied: AppliedRole[] = []
      for (const a of assignments) {
        if (a.tenantId !== null && a.tenantId !== tenantId) continue
        if (a.expiresAt !== null && a.expiresAt <= now) continue
        const role = compiled.get(a.role)
        if (role !== undefined) applied.push({ role, tenantId: a.tenantId, expiresAt: a.expiresAt })
      }
      return new EffectiveSet(applied, known)
    },
    hasRole: (name: string) => compiled.has(name),
    roleNames: () => [...compiled.keys()].sort(),
    permissionsOf (role: string): string[] | null {
      const c = compiled.get(role)
      return c === undefined ? null : [...new Set([...c.unconditional.keys(), ...c.conditional.keys()])].sort()
    }
  })
}

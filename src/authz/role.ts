/** A role's compiled, transitive grants, in the shapes the lookups need. */
import type { Condition, ConditionTest } from './conditions.js'
import { type Decision, granted } from './decision.js'
import { isWildcard } from './permissions.js'

export interface CompiledGrant {
  /** the role that holds the grant */
  readonly role: string
  readonly permission: string
  readonly condition: Condition | null
  readonly test: ConditionTest | null
}

/** A role path as a list whose tails are shared between the roles that inherit them. */
export interface RolePath {
  readonly role: string
  readonly next: RolePath | null
  readonly length: number
}

export interface GrantPath {
  readonly grant: CompiledGrant
  /** from the role this GrantPath belongs to down to grant.role */
  readonly path: RolePath
}

export interface ConditionalGrant {
  readonly grant: CompiledGrant
  readonly path: RolePath
  /** the answer to return when the condition holds */
  readonly decision: Decision
}

export interface CompiledRole {
  readonly name: string
  /** every grant with every path to it (capped per grant), for explanations */
  readonly paths: readonly GrantPath[]
  /** granted name -> the answer for it, for unconditional grants (shortest path) */
  readonly unconditional: ReadonlyMap<string, Decision>
  /** granted name -> its distinct conditional grants */
  readonly conditional: ReadonlyMap<string, readonly ConditionalGrant[]>
}

export function pathToArray (path: RolePath): string[] {
  const roles: string[] = []
  for (let p: RolePath | null = path; p !== null; p = p.next) roles.push(p.role)
  return roles
}

function reason (prefix: string, grant: CompiledGrant, path: RolePath): string {
  const [first, ...rest] = pathToArray(path)
  let text = prefix + first
  if (rest.length > 0) text += ` via ${rest.join(' > ')}`
  const notes: string[] = []
  if (isWildcard(grant.permission)) notes.push(grant.permission)
  if (grant.test !== null) notes.push('condition met')
  if (notes.length > 0) text += ` (${notes.join(', ')})`
  return text
}

/**
 * Builds the lookup maps of one role from its grant paths. `prefix` starts every reason, e.g.
 * `granted by role ` -> `granted by role editor via author`.
 */
export function buildRole (name: string, paths: readonly GrantPath[], prefix = 'granted by role '): CompiledRole {
  const shortest = new Map<string, GrantPath>()
  const conditional = new Map<string, Map<CompiledGrant, GrantPath>>()
  for (const gp of paths) {
    const { grant } = gp
    if (grant.test === null) {
      const seen = shortest.get(grant.permission)
      if (seen === undefined || gp.path.length < seen.path.length) shortest.set(grant.permission, gp)
      continue
    }
    let byGrant = conditional.get(grant.permission)
    if (byGrant === undefined) conditional.set(grant.permission, byGrant = new Map())
    const seen = byGrant.get(grant)
    if (seen === undefined || gp.path.length < seen.path.length) byGrant.set(grant, gp)
  }
  const unconditional = new Map<string, Decision>()
  for (const [permission, gp] of shortest) unconditional.set(permission, granted(reason(prefix, gp.grant, gp.path)))
  const conditionalGrants = new Map<string, readonly ConditionalGrant[]>()
  for (const [permission, byGrant] of conditional) {
    conditionalGrants.set(permission, Object.freeze([...byGrant.values()].map((gp) => Object.freeze({
      grant: gp.grant,
      path: gp.path,
      decision: granted(reason(prefix, gp.grant, gp.path))
    }))))
  }
  return Object.freeze({ name, paths: Object.freeze([...paths]), unconditional, conditional: conditionalGrants })
}

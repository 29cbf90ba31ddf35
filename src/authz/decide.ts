/**
 * Decisions: a route's requirement (resolved once, at registration) or one permission, against
 * an effective set, the token's scopes and, for conditional grants, the request context.
 */
import type { ConditionContext } from './conditions.js'
import { ALLOWED, type Decision, deny } from './decision.js'
import type { EffectiveSet } from './effective.js'
import { InvalidPermissionError } from './errors.js'
import { permissionRef, type PermissionRef } from './permissions.js'
import type { ScopeSet } from './scopes.js'

export type DecisionContext = ConditionContext

/** A route's access declaration: all of these permissions, or `{ anyOf }` any one of them. */
export type RequirementDeclaration = readonly string[] | { readonly anyOf: readonly string[] }

export interface Requirement {
  readonly anyOf: boolean
  /** the distinct names, in declaration order */
  readonly permissions: readonly string[]
  readonly refs: readonly PermissionRef[]
  /** one-permission requirements: the denials, built once, so a refusal allocates nothing */
  readonly denials: Readonly<Record<Failure, Decision>> | null
}

/** Validates a declaration and resolves its names; throws InvalidPermissionError or TypeError. */
export function compileRequirement (declaration: RequirementDeclaration): Requirement {
  const anyOf = !Array.isArray(declaration)
  const names: unknown = anyOf ? (declaration as { anyOf?: unknown } | null)?.anyOf : declaration
  if (!Array.isArray(names) || names.length === 0) {
    throw new TypeError('a permission requirement is a non-empty array of names, or { anyOf: [...] }')
  }
  const permissions = [...new Set<unknown>(names)].map((name) => {
    const ref = typeof name === 'string' ? permissionRef(name) : undefined
    if (ref === undefined || !ref.valid) throw new InvalidPermissionError(String(name), 'permission requirement')
    return ref
  })
  const only = permissions.length === 1 ? [permissions[0].name] : null
  const denials = only === null
    ? null
    : Object.freeze({
      missing_permission: deny('missing_permission', describe('missing_permission', only, anyOf), only),
      condition_not_met: deny('condition_not_met', describe('condition_not_met', only, anyOf), only),
      missing_scope: deny('missing_scope', describe('missing_scope', only, anyOf), only)
    })
  return Object.freeze({
    anyOf,
    permissions: Object.freeze(permissions.map((ref) => ref.name)),
    refs: Object.freeze(permissions),
    denials
  })
}

type Failure = 'missing_permission' | 'condition_not_met' | 'missing_scope'

function evaluate (
  effective: EffectiveSet,
  scopes: ScopeSet | null,
  ref: PermissionRef,
  ctx: ConditionContext | undefined
): Decision | Failure {
  let decision = effective.grantOf(ref)
  if (decision === undefined) {
    const conditional = effective.conditionalDecision(ref, ctx)
    if (conditional === undefined) return 'missing_permission'
    if (conditional === null) return 'condition_not_met'
    decision = conditional
  }
  return scopes === null || scopes.coversRef(ref) ? decision : 'missing_scope'
}

// for allOf the gravest failure is reported, for anyOf the nearest miss
const GRAVITY: Record<Failure, number> = { missing_scope: 0, condition_not_met: 1, missing_permission: 2 }

function describe (code: Failure, names: readonly string[], anyOf: boolean): string {
  const list = names.join(', ')
  const anyOfMany = anyOf && names.length > 1
  switch (code) {
    case 'missing_permission':
      if (anyOfMany) return `missing any of permissions ${list}`
      return `missing permission${names.length > 1 ? 's' : ''} ${list}`
    case 'condition_not_met':
      return `condition not met for ${anyOfMany ? 'any of ' : ''}${list}`
    case 'missing_scope':
      return `token scope does not cover ${anyOfMany ? 'any of ' : ''}${list}`
  }
}

function decideSlowly (
  effective: EffectiveSet,
  scopes: ScopeSet | null,
  requirement: Requirement,
  ctx: ConditionContext | undefined
): Decision {
  if (requirement.denials !== null) {
    const result = evaluate(effective, scopes, requirement.refs[0], ctx)
    return typeof result === 'string' ? requirement.denials[result] : result
  }
  const failures: Array<{ name: string, failure: Failure }> = []
  let last: Decision = ALLOWED
  for (const ref of requirement.refs) {
    const result = evaluate(effective, scopes, ref, ctx)
    if (typeof result !== 'string') {
      if (requirement.anyOf) return result
      last = result
    } else {
      failures.push({ name: ref.name, failure: result })
    }
  }
  if (failures.length === 0) return requirement.refs.length === 1 ? last : ALLOWED
  let code: Failure = failures[0].failure
  for (const { failure } of failures) {
    if (requirement.anyOf ? GRAVITY[failure] < GRAVITY[code] : GRAVITY[failure] > GRAVITY[code]) code = failure
  }
  const missing = requirement.anyOf
    ? requirement.permissions
    : failures.filter((f) => f.failure === code).map((f) => f.name)
  return deny(code, describe(code, missing, requirement.anyOf), missing)
}

/**
 * A route's decision. `scopes` null means the caller is not limited by token scopes. Conditional
 * grants are evaluated with `ctx` (without one: no subject, no resource, the current time), so an
 * owner or attribute condition cannot pass here; such routes check the resource with decide().
 * Allocation-free when allowed by unconditional grants.
 */
export function checkRequirement (
  effective: EffectiveSet,
  scopes: ScopeSet | null,
  requirement: Requirement,
  ctx?: ConditionContext
): Decision {
  // one permission (most routes): one grant lookup, and a prebuilt answer for every refusal
  const denials = requirement.denials
  if (denials !== null) {
    const ref = requirement.refs[0]
    const granted = effective.grantOf(ref)
    if (granted !== undefined) return scopes === null || scopes.coversRef(ref) ? granted : denials.missing_scope
    const conditional = effective.conditionalDecision(ref, ctx)
    if (conditional === undefined) return denials.missing_permission
    if (conditional === null) return denials.condition_not_met
    return scopes === null || scopes.coversRef(ref) ? conditional : denials.missing_scope
  }
  const refs = requirement.refs
  if (requirement.anyOf) {
    for (let i = 0; i < refs.length; i++) {
      const decision = effective.grantOf(refs[i])
      if (decision !== undefined && (scopes === null || scopes.coversRef(refs[i]))) return decision
    }
    return decideSlowly(effective, scopes, requirement, ctx)
  }
  let decision: Decision | undefined
  for (let i = 0; i < refs.length; i++) {
    decision = effective.grantOf(refs[i])
    if (decision === undefined || (scopes !== null && !scopes.coversRef(refs[i]))) {
      return decideSlowly(effective, scopes, requirement, ctx)
    }
  }
  return refs.length === 1 && decision !== undefined ? decision : ALLOWED
}

/**
 * True if unconditional grants alone allow the requirement under these scopes (what
 * checkRequirement's fast path allows). Such an answer depends on nothing in the request, so it
 * holds as long as the effective set and the scopes do: a caller may remember it with them.
 */
export function allowsUnconditionally (effective: EffectiveSet, scopes: ScopeSet | null, requirement: Requirement): boolean {
  const covered = (ref: PermissionRef) => effective.grantOf(ref) !== undefined && (scopes === null || scopes.coversRef(ref))
  return requirement.anyOf ? requirement.refs.some(covered) : requirement.refs.every(covered)
}

function quote (value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value.length > 100 ? `${value.slice(0, 100)}...` : value) : typeof value
}

/**
 * One permission, with the resource and request when known (ABAC conditions). Never throws: an
 * invalid or (given a catalog) unknown name is a denial with a reason.
 */
export function decide (
  effective: EffectiveSet,
  permission: string,
  ctx?: DecisionContext,
  scopes: ScopeSet | null = null
): Decision {
  const ref = typeof permission === 'string' ? permissionRef(permission) : undefined
  if (ref === undefined || !ref.valid) {
    return deny('invalid_permission', `invalid permission name ${quote(permission)}`)
  }
  if (!ref.wildcard && !effective.isKnown(permission)) {
    return deny('unknown_permission', `unknown permission ${permission}`, [permission])
  }
  const result = evaluate(effective, scopes, ref, ctx)
  if (typeof result !== 'string') return result
  const missing = [permission]
  return deny(result, describe(result, missing, false), missing)
}

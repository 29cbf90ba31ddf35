/**
 * A subject's effective permissions in one tenant: the union of the compiled roles it is assigned,
 * merged once so that a check is a few Map lookups.
 */
import type { Condition, ConditionContext } from './conditions.js'
import type { Decision } from './decision.js'
import { permissionCovers, permissionRef, type PermissionRef } from './permissions.js'
import { buildRole, type CompiledGrant, type CompiledRole, type ConditionalGrant, pathToArray } from './role.js'

export interface Assignment {
  role: string
  /** null = global: applies in every tenant */
  tenantId: string | null
  /** epoch ms; the assignment stops applying at this instant */
  expiresAt: number | null
}

export interface GrantExplanation {
  /** from the assigned role down to the role that holds the grant */
  path: string[]
  tenantId: string | null
  expiresAt: number | null
  condition: Condition | null
  /** the granted name, maybe a wildcard */
  permission: string
}

export interface PermissionExplanation {
  name: string
  via: Omit<GrantExplanation, 'permission'>[]
}

/** A compiled role as used by one assignment. */
export interface AppliedRole {
  readonly role: CompiledRole
  readonly tenantId: string | null
  readonly expiresAt: number | null
}

const NO_CONTEXT: ConditionContext = Object.freeze({})
const EMPTY: readonly ConditionalGrant[] = Object.freeze([])

function mergeUnconditional (applied: readonly AppliedRole[]): ReadonlyMap<string, Decision> {
  if (applied.length === 1) return applied[0].role.unconditional
  const merged = new Map<string, Decision>()
  for (const { role } of applied) {
    for (const [name, decision] of role.unconditional) if (!merged.has(name)) merged.set(name, decision)
  }
  return merged
}

function mergeConditional (applied: readonly AppliedRole[]): ReadonlyMap<string, readonly ConditionalGrant[]> {
  if (applied.length === 1) return applied[0].role.conditional
  const merged = new Map<string, ConditionalGrant[]>()
  for (const { role } of applied) {
    for (const [name, grants] of role.conditional) {
      const list = merged.get(name)
      if (list === undefined) {
        merged.set(name, [...grants])
        continue
      }
      for (const g of grants) if (!list.some((x) => x.grant === g.grant)) list.push(g)
    }
  }
  return merged
}

function firstHolding (grants: readonly ConditionalGrant[] | undefined, ctx: ConditionContext): Decision | undefined {
  if (grants === undefined) return undefined
  for (const g of grants) if (g.grant.test !== null && g.grant.test(ctx)) return g.decision
  return undefined
}

export class EffectiveSet {
  /** earliest expiresAt among the assignments used; the set is stale from that instant */
  readonly nextExpiry: number | null
  readonly #applied: readonly AppliedRole[]
  readonly #unconditional: ReadonlyMap<string, Decision>
  readonly #conditional: ReadonlyMap<string, readonly ConditionalGrant[]>
  readonly #star: Decision | undefined
  readonly #known: ReadonlySet<string> | null
  #names: readonly string[] | undefined

  /** Use RoleGraph.effective() or EffectiveSet.fromPermissions(). */
  constructor (applied: readonly AppliedRole[], known: ReadonlySet<string> | null = null) {
    this.#applied = Object.freeze([...applied])
    this.#unconditional = mergeUnconditional(applied)
    this.#conditional = mergeConditional(applied)
    this.#star = this.#unconditional.get('*')
    this.#known = known
    let next: number | null = null
    for (const a of applied) if (a.expiresAt !== null && (next === null || a.expiresAt < next)) next = a.expiresAt
    this.nextExpiry = next
    Object.freeze(this)
  }

  /**
   * A set holding exactly these permissions, unconditionally: for a client (service account)
   * token, whose granted scopes are its permissions. Reasons read `granted by <label>`.
   */
  static fromPermissions (names: Iterable<string>, label = 'client scope'): EffectiveSet {
    const paths = []
    for (const permission of new Set(names)) {
      if (!permissionRef(permission).valid) continue
      const grant: CompiledGrant = Object.freeze({ role: label, permission, condition: null, test: null })
      paths.push({ grant, path: { role: label, next: null, length: 1 } })
    }
    return new EffectiveSet([{ role: buildRole(label, paths, 'granted by '), tenantId: null, expiresAt: null }])
  }

  static readonly EMPTY = new EffectiveSet([])

  /** True if an unconditional grant covers the permission (exact, `resource:*` or `*`). */
  has (permission: string): boolean {
    if (this.#unconditional.has(permission)) return true
    return this.grantOf(permissionRef(permission)) !== undefined
  }

  /**
   * The answer for the unconditional grant that covers `ref` (the most specific one), or
   * undefined. Allocation-free; the answer is shared and frozen.
   */
  grantOf (ref: PermissionRef): Decision | undefined {
    if (!ref.valid) return undefined
    return this.#unconditional.get(ref.name) ??
      (ref.resourceWildcard === null ? undefined : this.#unconditional.get(ref.resourceWildcard)) ??
      this.#star
  }

  /** True if any grant covers the permission, conditional or not (used for token scopes). */
  holds (permission: string): boolean {
    const ref = permissionRef(permission)
    return this.grantOf(ref) !== undefined || this.#conditionalLists(ref).some((list) => list.length > 0)
  }

  /** The conditions of the conditional grants that cover the permission. */
  conditionsFor (permission: string): Condition[] {
    const conditions: Condition[] = []
    for (const list of this.#conditionalLists(permissionRef(permission))) {
      for (const { grant } of list) if (grant.condition !== null) conditions.push(grant.condition)
    }
    return conditions
  }

  /**
   * Evaluates the conditional grants covering `ref`: the answer of the first whose condition
   * holds, null if some cover it but none holds, undefined if none covers it.
   */
  conditionalDecision (ref: PermissionRef, ctx: ConditionContext = NO_CONTEXT): Decision | null | undefined {
    if (!ref.valid || this.#conditional.size === 0) return undefined
    const exact = this.#conditional.get(ref.name)
    const resource = ref.resourceWildcard === null ? undefined : this.#conditional.get(ref.resourceWildcard)
    const star = ref.name === '*' ? undefined : this.#conditional.get('*')
    if (exact === undefined && resource === undefined && star === undefined) return undefined
    return firstHolding(exact, ctx) ?? firstHolding(resource, ctx) ?? firstHolding(star, ctx) ?? null
  }

  /** False when a catalog of permission names was given to the graph and the name is not in it. */
  isKnown (permission: string): boolean {
    return this.#known === null || this.#known.has(permission)
  }

  /** The effective permission names as granted (wildcards kept, conditional ones too), sorted. */
  permissions (): string[] {
    if (this.#names === undefined) {
      const names = new Set([...this.#unconditional.keys(), ...this.#conditional.keys()])
      this.#names = Object.freeze([...names].sort())
    }
    return [...this.#names]
  }

  /** Every grant that covers the permission, with the role path and assignment behind it. */
  explain (permission: string): GrantExplanation[] {
    const out: GrantExplanation[] = []
    if (!permissionRef(permission).valid) return out
    for (const { role, tenantId, expiresAt } of this.#applied) {
      for (const { grant, path } of role.paths) {
        if (!permissionCovers(grant.permission, permission)) continue
        out.push({ path: pathToArray(path), tenantId, expiresAt, condition: grant.condition, permission: grant.permission })
      }
    }
    return out
  }

  /** Every effective permission name (as granted) with every way it is granted, sorted by name. */
  explainAll (): PermissionExplanation[] {
    const byName = new Map<string, PermissionExplanation['via']>()
    for (const { role, tenantId, expiresAt } of this.#applied) {
      for (const { grant, path } of role.paths) {
        let via = byName.get(grant.permission)
        if (via === undefined) byName.set(grant.permission, via = [])
        via.push({ path: pathToArray(path), tenantId, expiresAt, condition: grant.condition })
      }
    }
    return [...byName.keys()].sort().map((name) => ({ name, via: byName.get(name) ?? [] }))
  }

  #conditionalLists (ref: PermissionRef): readonly (readonly ConditionalGrant[])[] {
    if (!ref.valid || this.#conditional.size === 0) return [EMPTY]
    return [
      this.#conditional.get(ref.name) ?? EMPTY,
      ref.resourceWildcard === null ? EMPTY : this.#conditional.get(ref.resourceWildcard) ?? EMPTY,
      ref.name === '*' ? EMPTY : this.#conditional.get('*') ?? EMPTY
    ]
  }
}

/**
 * What-if: the effect of one proposed change on who holds which permission, on plain data.
 * The change is applied to the role inputs and both graphs are compiled by the engine
 * (graph.ts); each affected subject's concrete permissions are then compared per scope.
 * No I/O: the caller streams the subjects in and keeps the tally.
 */
import type { Condition } from './conditions.js'
import type { Assignment } from './effective.js'
import type { RoleGraph, RoleInput } from './graph.js'
import { isWildcard } from './permissions.js'

/** A change to the role graph (assignments change the subjects' inputs instead). */
export type RoleChange =
  | { kind: 'grant', role: string, permission: string, condition: Condition | null }
  | { kind: 'revoke', role: string, permission: string }
  | { kind: 'inherit', role: string, parent: string }
  | { kind: 'uninherit', role: string, parent: string }
  | { kind: 'delete-role', role: string }

/** The role inputs with the change applied; the inputs themselves are left as they are. */
export function applyRoleChange (roles: readonly RoleInput[], change: RoleChange): RoleInput[] {
  if (change.kind === 'delete-role') return roles.filter(r => r.name !== change.role)
  return roles.map(role => {
    if (role.name !== change.role) return role
    const grants = role.grants ?? []
    const parents = role.parents ?? []
    switch (change.kind) {
      case 'grant':
        return { ...role, grants: [...grants.filter(g => g.permission !== change.permission), { permission: change.permission, condition: change.condition }] }
      case 'revoke':
        return { ...role, grants: grants.filter(g => g.permission !== change.permission) }
      case 'inherit':
        return parents.includes(change.parent) ? role : { ...role, parents: [...parents, change.parent] }
      case 'uninherit':
        return { ...role, parents: parents.filter(p => p !== change.parent) }
    }
    return role
  })
}

/**
 * The role and every role that inherits from it, directly or not: the roles whose closure a
 * change to it can change, so the only ones whose holders need looking at.
 */
export function rolesReaching (roles: readonly RoleInput[], role: string): Set<string> {
  const children = new Map<string, string[]>()
  for (const r of roles) {
    for (const p of r.parents ?? []) {
      let list = children.get(p)
      if (list === undefined) children.set(p, list = [])
      list.push(r.name)
    }
  }
  const reached = new Set([role])
  const queue = [role]
  for (let i = 0; i < queue.length; i++) {
    for (const child of children.get(queue[i]) ?? []) {
      if (reached.has(child)) continue
      reached.add(child)
      queue.push(child)
    }
  }
  return reached
}

/**
 * Expands granted names (wildcards kept) into the concrete names of the catalog they cover
 * (`*` all of them, `posts:*` the `posts:` ones); wildcard names of the catalog are not concrete
 * permissions and never appear.
 */
export function concreteExpander (catalog: Iterable<string>): (granted: Iterable<string>) => Set<string> {
  const concrete = [...new Set(catalog)].filter(name => !isWildcard(name)).sort()
  const known = new Set(concrete)
  const byResource = new Map<string, string[]>()
  for (const name of concrete) {
    const wildcard = name.slice(0, name.indexOf(':')) + ':*'
    let list = byResource.get(wildcard)
    if (list === undefined) byResource.set(wildcard, list = [])
    list.push(name)
  }
  return granted => {
    const out = new Set<string>()
    for (const name of granted) {
      if (name === '*') return new Set(concrete)
      if (known.has(name)) out.add(name)
      else for (const covered of byResource.get(name) ?? []) out.add(covered)
    }
    return out
  }
}

const MAX_MEMO = 10_000

/**
 * The concrete permissions held through one graph, as GET /v1/users/{id}/permissions would list
 * them (conditional grants count, expired assignments do not). Subjects with the same roles in a
 * scope share one computation: the answer depends on the set of roles only.
 */
export class Holdings {
  readonly #graph: RoleGraph
  readonly #expand: (granted: Iterable<string>) => Set<string>
  readonly #memo = new Map<string, ReadonlySet<string>>()

  constructor (graph: RoleGraph, expand: (granted: Iterable<string>) => Set<string>) {
    this.#graph = graph
    this.#expand = expand
  }

  /** What the assignments hold in `tenantId` (null: global assignments only) at `now`. */
  of (assignments: readonly Assignment[], tenantId: string | null, now: number): ReadonlySet<string> {
    const names = new Set<string>()
    for (const a of assignments) {
      if (a.tenantId !== null && a.tenantId !== tenantId) continue
      if (a.expiresAt !== null && a.expiresAt <= now) continue
      names.add(a.role)
    }
    const roles = [...names].sort()
    const key = roles.join('\n')
    let held = this.#memo.get(key)
    if (held === undefined) {
      const effective = this.#graph.effective(roles.map(role => ({ role, tenantId: null, expiresAt: null })), null, now)
      held = this.#expand(effective.permissions())
      if (this.#memo.size >= MAX_MEMO) this.#memo.clear()
      this.#memo.set(key, held)
    }
    return held
  }
}

/** One gained or lost triple: the subject holds (or held) the permission in the tenant, null = globally. */
export interface Effect {
  subjectId: string
  tenantId: string | null
  permission: string
}

export interface SubjectInputs {
  id: string
  /** the subject's assignments now */
  before: readonly Assignment[]
  /** the same after the change (equal to `before` for a change to roles) */
  after: readonly Assignment[]
}

export interface SubjectEffects {
  gained: Effect[]
  lost: Effect[]
}

const minus = (a: ReadonlySet<string>, b: ReadonlySet<string>) => [...a].filter(p => !b.has(p)).sort()

/**
 * What one subject gains and loses. `view` null: every scope, reported at its broadest (the
 * global scope, then each tenant the subject is assigned in, where a gain counts only if it is not
 * held globally after the change and a loss only if it was not held globally before); a tenant id:
 * that tenant's scope only (global and that tenant's assignments).
 */
export function diffSubject (subject: SubjectInputs, before: Holdings, after: Holdings, view: string | null, now: number): SubjectEffects {
  const gained: Effect[] = []
  const lost: Effect[] = []
  const effect = (tenantId: string | null) => (permission: string): Effect => ({ subjectId: subject.id, tenantId, permission })
  if (view !== null) {
    const was = before.of(subject.before, view, now)
    const is = after.of(subject.after, view, now)
    return { gained: minus(is, was).map(effect(view)), lost: minus(was, is).map(effect(view)) }
  }
  const wasGlobal = before.of(subject.before, null, now)
  const isGlobal = after.of(subject.after, null, now)
  gained.push(...minus(isGlobal, wasGlobal).map(effect(null)))
  lost.push(...minus(wasGlobal, isGlobal).map(effect(null)))
  const tenants = new Set<string>()
  for (const a of [...subject.before, ...subject.after]) if (a.tenantId !== null) tenants.add(a.tenantId)
  for (const tenantId of [...tenants].sort()) {
    const was = before.of(subject.before, tenantId, now)
    const is = after.of(subject.after, tenantId, now)
    gained.push(...minus(is, was).filter(p => !isGlobal.has(p)).map(effect(tenantId)))
    lost.push(...minus(was, is).filter(p => !wasGlobal.has(p)).map(effect(tenantId)))
  }
  return { gained, lost }
}

/** An exact count of effects, and of the subjects they are of, with the first `limit` of them kept. */
export class EffectTally {
  count = 0
  /** subjects with at least one effect (add() is called once per subject) */
  subjects = 0
  readonly items: Effect[] = []

  constructor (readonly limit: number) {}

  add (effects: readonly Effect[]): void {
    this.count += effects.length
    if (effects.length > 0) this.subjects++
    for (const e of effects) {
      if (this.items.length >= this.limit) break
      this.items.push(e)
    }
  }
}

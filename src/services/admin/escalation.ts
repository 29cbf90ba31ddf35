import type { FastifyInstance, FastifyRequest } from 'fastify'
import { permissionCovers, type Condition, type RoleGraph } from '../../authz/index.js'
import { Forbidden } from '../../errors.js'
import { canonicalCondition } from './conditions.js'
import type { Held } from './scope.js'

/**
 * No escalation (API.md "Assignments"): assigning a role, granting a permission to a role or
 * changing a role's grants or parents is refused unless the caller holds, in that scope, every
 * grant the change would confer. Without this, `roles:assign` or `roles:write` alone would be
 * as good as `*`.
 */
export interface GrantRequirement {
  permission: string
  /** null: unconditional */
  condition: Condition | null
}

/**
 * Every grant a role confers, inherited ones included: a permission granted unconditionally
 * somewhere on the way appears once without a condition, otherwise once per distinct condition.
 */
export function grantsOfRole (graph: RoleGraph, role: string): GrantRequirement[] {
  if (!graph.hasRole(role)) return []
  const out: GrantRequirement[] = []
  for (const { name, via } of graph.effective([{ role, tenantId: null, expiresAt: null }], null).explainAll()) {
    if (via.some(v => v.condition === null)) {
      out.push({ permission: name, condition: null })
      continue
    }
    const seen = new Set<string>()
    for (const { condition } of via) {
      const key = canonicalCondition(condition)
      if (seen.has(key)) continue
      seen.add(key)
      out.push({ permission: name, condition })
    }
  }
  return out
}

function confers (existing: GrantRequirement, wanted: GrantRequirement): boolean {
  if (!permissionCovers(existing.permission, wanted.permission)) return false
  if (existing.condition === null) return true
  return existing.permission === wanted.permission && wanted.condition !== null &&
    canonicalCondition(existing.condition) === canonicalCondition(wanted.condition)
}

/** The grants in `next` that `previous` did not already confer: what a change adds. */
export function addedGrants (next: readonly GrantRequirement[], previous: readonly GrantRequirement[]): GrantRequirement[] {
  return next.filter(g => !previous.some(p => confers(p, g)))
}

export function missingGrants (held: Held, required: readonly GrantRequirement[]): GrantRequirement[] {
  return required.filter(g => !held.coversGrant(g.permission, g.condition))
}

export function describeGrants (grants: readonly GrantRequirement[]): string {
  return grants.map(g => g.condition === null ? g.permission : `${g.permission} (if ${canonicalCondition(g.condition)})`).join(', ')
}

export interface GrantAttempt {
  action: string
  targetType: string
  targetId: string
  tenantId?: string | null
}

/** Throws 403 (and audits the denial) unless `held` covers every required grant. */
export function assertMayGrant (
  app: FastifyInstance,
  request: FastifyRequest,
  held: Held,
  required: readonly GrantRequirement[],
  attempt: GrantAttempt
): void {
  const missing = missingGrants(held, required)
  if (missing.length === 0) return
  const what = describeGrants(missing)
  app.audit.record(request, {
    action: attempt.action,
    outcome: 'denied',
    targetType: attempt.targetType,
    targetId: attempt.targetId,
    tenantId: attempt.tenantId ?? null,
    detail: `escalation refused: the change would grant ${what}, which the caller does not hold`
  })
  throw new Forbidden(`you cannot grant what you do not hold: ${what}`)
}

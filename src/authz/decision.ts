/** The answer of every check: whether it is allowed and, in words, why. */

export type DecisionCode =
  | 'granted'
  | 'missing_permission'
  | 'missing_scope'
  | 'condition_not_met'
  | 'invalid_permission'
  | 'unknown_permission'

export interface Decision {
  readonly allowed: boolean
  readonly code: DecisionCode
  readonly reason: string
  /** the permissions (or, for missing_scope, the scopes) that were lacking */
  readonly missing?: readonly string[]
}

/** Shared answer when several permissions were required and all are held. */
export const ALLOWED: Decision = Object.freeze({ allowed: true, code: 'granted', reason: 'granted' })

export function deny (code: DecisionCode, reason: string, missing?: readonly string[]): Decision {
  return missing === undefined
    ? Object.freeze({ allowed: false, code, reason })
    : Object.freeze({ allowed: false, code, reason, missing: Object.freeze([...missing]) })
}

export function granted (reason: string): Decision {
  return Object.freeze({ allowed: true, code: 'granted', reason })
}

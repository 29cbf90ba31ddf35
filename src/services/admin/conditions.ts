import { validateCondition, type Condition } from '../../authz/index.js'
import { InvalidCondition } from '../../errors.js'

/** JSON with object keys sorted, so that two equal conditions compare equal as strings. */
export function canonicalCondition (condition: Condition | null): string {
  return JSON.stringify(condition, (_key, value: unknown) => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return value
    return Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
  })
}

/**
 * A grant's condition from a request body (absent or null: unconditional), checked by the
 * engine's validator: 400 INVALID_CONDITION with one error per problem, each at `at` + its path.
 */
export function parseCondition (json: unknown, at = 'body/condition'): Condition | null {
  if (json === undefined || json === null) return null
  const result = validateCondition(json)
  if (!result.ok) {
    throw Object.assign(new InvalidCondition('invalid condition: ' + result.errors.map(e => `${e.path || '(root)'} ${e.message}`).join('; ')), {
      errors: result.errors.map(e => ({ path: `${at}${e.path}`, message: e.message }))
    })
  }
  return result.condition
}

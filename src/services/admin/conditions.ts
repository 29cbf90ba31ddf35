import type { Condition } from '../../authz/index.js'

/** JSON with object keys sorted, so that two equal conditions compare equal as strings. */
export function canonicalCondition (condition: Condition | null): string {
  return JSON.stringify(condition, (_key, value: unknown) => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return value
    return Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
  })
}

/**
 * Permission names: `resource:action`, `resource:*` or `*`.
 *
 * Matching goes through a PermissionRef, which carries the `resource:*` name that would cover a
 * concrete permission, so the hot path does Map/Set lookups only and never splits strings.
 */

const CONCRETE = /^[a-z0-9_-]+:[a-z0-9_-]+$/
const RESOURCE_WILDCARD = /^[a-z0-9_-]+:\*$/
const MAX_NAME_LENGTH = 128

export interface PermissionRef {
  readonly name: string
  readonly valid: boolean
  /** `*`, `resource:*`, or false for a concrete `resource:action` */
  readonly wildcard: boolean
  /** for a concrete name, the `resource:*` that covers it; null otherwise */
  readonly resourceWildcard: string | null
}

export function isValidPermissionName (name: unknown): name is string {
  return typeof name === 'string' && name.length <= MAX_NAME_LENGTH &&
    (name === '*' || CONCRETE.test(name) || RESOURCE_WILDCARD.test(name))
}

export function isWildcard (name: string): boolean {
  return name === '*' || name.endsWith(':*')
}

function makeRef (name: string): PermissionRef {
  if (!isValidPermissionName(name)) {
    return Object.freeze({ name, valid: false, wildcard: false, resourceWildcard: null })
  }
  const wildcard = isWildcard(name)
  const resourceWildcard = wildcard ? null : name.slice(0, name.indexOf(':')) + ':*'
  return Object.freeze({ name, valid: true, wildcard, resourceWildcard })
}

// Bounded so that a stream of made-up names (the check API takes any string) cannot grow it
// without limit; clearing it only costs re-resolving the names that are still in use.
const MAX_CACHED_REFS = 10_000
const refs = new Map<string, PermissionRef>()

/** The cached ref of a name; invalid names get a ref with `valid: false` (never cached). */
export function permissionRef (name: string): PermissionRef {
  let ref = refs.get(name)
  if (ref !== undefined) return ref
  ref = makeRef(name)
  if (ref.valid) {
    if (refs.size >= MAX_CACHED_REFS) refs.clear()
    refs.set(name, ref)
  }
  return ref
}

/**
 * Whether holding `held` grants `required`: a held `*` grants everything, a held `posts:*`
 * grants `posts:*` and every `posts:<action>`, anything else only itself.
 */
export function permissionCovers (held: string, required: string): boolean {
  const ref = permissionRef(required)
  if (!ref.valid) return false
  return held === '*' || held === required || held === ref.resourceWildcard
}

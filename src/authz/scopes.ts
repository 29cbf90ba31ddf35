/** Token scopes: which of the user's permissions a token may exercise. */
import type { EffectiveSet } from './effective.js'
import { permissionRef, type PermissionRef } from './permissions.js'

const MAX_CACHED_SCOPE_SETS = 1_000
const parsed = new Map<string, ScopeSet>()

export class ScopeSet {
  readonly #names: ReadonlySet<string>
  readonly #all: boolean

  constructor (names: Iterable<string>) {
    this.#names = new Set(names)
    this.#all = this.#names.has('*')
    Object.freeze(this)
  }

  /**
   * The ScopeSet of a token's space-separated `scope` claim. Cached by string (tokens of the
   * same user and client share it), so calling this per request is a Map lookup.
   */
  static parse (scope: string): ScopeSet {
    let set = parsed.get(scope)
    if (set !== undefined) return set
    set = new ScopeSet(scope.split(' ').filter((s) => s !== ''))
    if (parsed.size >= MAX_CACHED_SCOPE_SETS) parsed.clear()
    parsed.set(scope, set)
    return set
  }

  /** Whether a scope covers the permission: `*` covers all, `posts:*` covers `posts:*` and `posts:<action>`. */
  covers (permission: string): boolean {
    return this.coversRef(permissionRef(permission))
  }

  coversRef (ref: PermissionRef): boolean {
    if (!ref.valid) return false
    return this.#all || this.#names.has(ref.name) ||
      (ref.resourceWildcard !== null && this.#names.has(ref.resourceWildcard))
  }

  /** The scopes as given (any non-permission scopes included), sorted. */
  names (): string[] {
    return [...this.#names].sort()
  }

  toString (): string {
    return this.names().join(' ')
  }
}

/**
 * The scopes a token may carry. Without requested scopes: every effective permission name as
 * granted (wildcards kept). With them: those requested that the user holds, in request order,
 * without duplicates; a requested wildcard is held only through the same wildcard or `*`.
 * Invalid names (and non-permission scopes) are dropped: the caller answers `invalid_scope` if
 * the result is empty. Conditional grants count as held; conditions are checked per request.
 */
export function intersectScopes (effective: EffectiveSet, requested: readonly string[] | null): string[] {
  if (requested === null) return effective.permissions()
  const out: string[] = []
  for (const name of new Set(requested)) if (effective.holds(name)) out.push(name)
  return out
}

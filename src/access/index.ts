import { EffectiveSet, ScopeSet, type Condition } from '../authz/index.js'
import type { Db } from '../db/client.js'
import { InvalidToken } from '../errors.js'
import { canonicalCondition } from '../services/admin/conditions.js'
import type { Principal } from './declaration.js'
import { clientTokenLive, createAccessState, type ClientState, type PrincipalView, type SessionState, type SubjectState } from './state.js'

export type { PrincipalView, SubjectState, ClientState, SessionState }
export { clientTokenLive }

/**
 * The one place that answers "is this caller still live, and what may it do": authn (every
 * request), authz (route and resource checks), introspection, the token endpoint, the admin
 * scope of the management API and the check API all ask it. It reads the in-process state of
 * ./state.ts (kept fresh by the change bus), so once warm it does no SQL; answers are plain
 * values when cached and promises only when something had to be loaded.
 */

/** Why a verified token no longer stands (authn answers 401 INVALID_TOKEN with the reason). */
export class Refused {
  constructor (readonly reason: string) {}
}

const REVOKED = new Refused('token has been revoked')
const CLIENT_GONE = new Refused('client no longer exists or its secret was rotated')
const SESSION_ENDED = new Refused('session has ended')
const USER_DISABLED = new Refused('user is disabled')

/** What the caller may pass on in one tenant: their effective set there, limited by the token's scopes. */
export interface Held {
  /** true if the caller holds the permission unconditionally (wildcards count) */
  covers: (permission: string) => boolean
  /** true if the caller holds the permission unconditionally, or under exactly this condition */
  coversGrant: (permission: string, condition: Condition | null) => boolean
}

type Maybe<T> = T | Promise<T>

const then = <T, U>(value: Maybe<T>, fn: (v: T) => Maybe<U>): Maybe<U> =>
  value instanceof Promise ? value.then(fn) : fn(value)

export function createAccess (db: Db, opts: { maxSubjects?: number } = {}) {
  const state = createAccessState(db, opts)

  // kept with the principal (which the verified-token cache shares between requests), so that a
  // request does not parse its scope string: with many users' tokens in rotation that compared a
  // cold kilobyte-long string per request
  const scopeSets = new WeakMap<Principal, ScopeSet>()
  function scopesOf (principal: Principal): ScopeSet {
    let set = scopeSets.get(principal)
    if (set === undefined) {
      set = ScopeSet.parse(principal.scope)
      scopeSets.set(principal, set)
    }
    return set
  }

  function holderOf (principal: Principal, since: number): Maybe<PrincipalView | Refused> {
    if (principal.kind === 'client') {
      return then(state.client(principal.sub), c =>
        clientTokenLive(c, principal) ? state.makeView(principal, since, Infinity) : CLIENT_GONE)
    }
    const session = state.session(principal.sid!)
    const user = state.subject(principal.sub)
    const judge = (s: SessionState | null, u: SubjectState | null): PrincipalView | Refused => {
      if (s === null || s.revoked || s.userId !== principal.sub || s.expiresAt <= Date.now()) return SESSION_ENDED
      if (u === null || !u.active) return USER_DISABLED
      return state.makeView(principal, since, s.expiresAt)
    }
    if (session instanceof Promise || user instanceof Promise) {
      return Promise.all([session, user]).then(([s, u]) => judge(s, u))
    }
    return judge(session, user)
  }

  /**
   * Whether the token's holder is still live (the token not revoked, its session open and its
   * user active, or its client there with the same secret): the principal's view, or why not.
   * A view made earlier that still stands costs one WeakMap lookup.
   */
  function live (principal: Principal, now = Date.now()): Maybe<PrincipalView | Refused> {
    const remembered = state.view(principal, now)
    if (remembered !== undefined) return remembered
    const since = state.epoch()
    return then(state.tokenRevoked(principal.jti), revoked => revoked ? REVOKED : holderOf(principal, since))
  }

  /** `live` as a promise of a yes or no (introspection). */
  async function isLive (principal: Principal): Promise<boolean> {
    return !(await live(principal) instanceof Refused)
  }

  /** A user's effective permissions in a tenant (null: global assignments only) and whether they are active; null if gone. */
  function userEffective (userId: string, tenantId: string | null, now = Date.now()): Maybe<{ active: boolean, effective: EffectiveSet } | null> {
    return then(state.subject(userId), s => s === null
      ? null
      : then(state.effectiveFor(s, tenantId, now), effective => ({ active: s.active, effective })))
  }

  /**
   * The caller's effective permissions in the token's tenant: the view's own while it stands,
   * otherwise computed (and kept with the view when nothing changed meanwhile).
   */
  function effectiveOf (view: PrincipalView, now = Date.now()): Maybe<EffectiveSet> {
    if (view.effective !== null && state.current(view, now)) return view.effective
    const principal = view.principal
    const since = state.epoch()
    const keep = (set: EffectiveSet) => {
      state.keepEffective(view, since, set)
      return set
    }
    if (principal.kind === 'client') {
      return then(state.client(principal.sub), c => {
        if (c === null) throw new InvalidToken('client no longer exists')
        return keep(c.effective)
      })
    }
    return then(state.subject(principal.sub), s => {
      if (s === null) throw new InvalidToken('user no longer exists')
      return then(state.effectiveFor(s, principal.tid, now), keep)
    })
  }

  /** The principal's rights from global assignments only; none for a client (it belongs to one tenant). */
  function globalEffectiveOf (principal: Principal): Maybe<EffectiveSet> {
    if (principal.kind === 'client') return EffectiveSet.EMPTY
    return then(state.subject(principal.sub), s => {
      if (s === null) throw new InvalidToken('user no longer exists')
      return state.effectiveFor(s, null)
    })
  }

  /** Whether a global (tenant-less) assignment grants the user `permission`; never for a client. */
  async function holdsGlobally (principal: Principal, permission: string): Promise<boolean> {
    if (principal.kind !== 'user') return false
    const held = await userEffective(principal.sub, null)
    return held !== null && held.effective.has(permission)
  }

  /**
   * The caller's grantable rights in `tenantId` (null: from global assignments only), limited
   * by the token's scopes. A client holds its scopes in its own tenant and nothing elsewhere.
   */
  async function heldIn (view: PrincipalView, tenantId: string | null): Promise<Held> {
    const principal = view.principal
    const scopes = scopesOf(principal)
    let effective: EffectiveSet
    if (principal.kind === 'client') {
      effective = tenantId === principal.tid ? await effectiveOf(view) : EffectiveSet.EMPTY
    } else {
      const held = await userEffective(principal.sub, tenantId)
      if (held === null) throw new InvalidToken('user no longer exists')
      effective = held.effective
    }
    const covers = (permission: string) => scopes.covers(permission) && effective.has(permission)
    return {
      covers,
      coversGrant (permission, condition) {
        if (covers(permission)) return true
        if (condition === null || !scopes.covers(permission)) return false
        const wanted = canonicalCondition(condition)
        return effective.conditionsFor(permission).some(c => canonicalCondition(c) === wanted)
      }
    }
  }

  /** Roles the user holds in the tenant or globally, by assignments not expired; null if the user is gone. */
  function heldRoles (userId: string, tenantId: string, now = Date.now()): Maybe<string[] | null> {
    return then(state.subject(userId), s => s === null
      ? null
      : [...new Set(s.assignments
          .filter(a => (a.tenantId === null || a.tenantId === tenantId) && (a.expiresAt === null || a.expiresAt > now))
          .map(a => a.role))])
  }

  return {
    live,
    isLive,
    current: state.current,
    effectiveOf,
    globalEffectiveOf,
    userEffective,
    holdsGlobally,
    heldIn,
    scopesOf,
    /** the role graph, compiled (loaded on first use) */
    getGraph: state.getGraph,
    /** the role graph when loaded, without waiting (null while it loads) */
    graphNow: state.graphNow,
    /** a subject's cached state (the check API asks for arbitrary subjects) */
    subject: state.subject,
    /** the user's own fields (GET /v1/auth/me), cached until the user changes */
    profile: state.profile,
    /** a tenant's id, slug and name, cached until the tenant changes */
    tenant: state.tenant,
    heldRoles,
    effectiveFor: state.effectiveFor,
    invalidate: state.invalidate,
    ensureRevoked: state.ensureRevoked,
    trusted: state.trusted,
    epoch: state.epoch,
    stats: state.stats
  }
}

export type Access = ReturnType<typeof createAccess>

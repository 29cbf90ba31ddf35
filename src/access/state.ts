import { and, eq, gt } from 'drizzle-orm'
import { LRUCache } from 'lru-cache'
import type { Db } from '../db/client.js'
import { clients, revokedTokens, roleAssignments, roles, sessions, tenants, users, userViewColumns } from '../db/schema/index.js'
import { compileRoleGraph, EffectiveSet, type RoleGraph, type RoleInput } from '../authz/index.js'
import type { Principal } from './declaration.js'
import { loadRoleDefinitions } from '../repositories/roles.js'
import { permissionNames } from '../repositories/permissions.js'
import type { Change } from './changes.js'

export interface SubjectState {
  active: boolean
  assignments: Array<{ role: string, tenantId: string | null, expiresAt: number | null }>
  /** per-tenant effective sets, filled lazily; key '' is "no tenant" */
  effective: Map<string, EffectiveSet>
}

export interface SessionState { userId: string, revoked: boolean, expiresAt: number }

/** A user's own fields, as GET /v1/auth/me answers them (never the password hash). */
export interface ProfileState {
  id: string
  email: string
  username: string
  fullName: string | null
  isActive: boolean
  createdAt: Date
  updatedAt: Date
}

export interface TenantBrief { id: string, slug: string, name: string }

/**
 * What the hot path resolved for one principal (a verified token): its session and user are
 * live and, once authz has asked, its effective set in the token's tenant. Current while the
 * epoch has not moved (no change anywhere since) and until `until` (session end, assignment
 * expiry). A request looks it up once (authn) and carries it (`request.accessView`).
 */
export interface PrincipalView {
  readonly principal: Principal
  /** the epoch it was made at; -1 for a view made from state that was already stale (never current) */
  readonly epoch: number
  until: number
  effective: EffectiveSet | null
  /** routes (their compiled requirements) that `effective` and the token's scopes allow unconditionally */
  readonly allowedRoutes: object[]
}
export interface ClientState {
  tenantId: string
  scopes: string[]
  effective: EffectiveSet
  /** the secret generation; tokens carry the one they were issued under (`cver`) */
  tokenVersion: number
}

/** Whether a client token is still good: the client exists and its secret was not rotated since the token was issued. */
export function clientTokenLive (state: ClientState | null, principal: { clientVersion: number | null }): boolean {
  // a token without `cver` counts as generation 0: valid until the first rotation
  return state !== null && (principal.clientVersion ?? 0) === state.tokenVersion
}

/**
 * In-process view of everything the hot path needs: the compiled role graph, each subject's
 * active flag and assignments, session and client state, and the revoked access tokens. Loaded
 * on first use (one query), kept until a NOTIFY on warden_authz says it changed. A load that
 * races with an invalidation is not cached (the epoch check), so a stale read never outlives the
 * change that made it stale. While the listening connection is down (between 'listener:down' and 'listener:up'),
 * nothing is cached and nothing cached is used: every read goes to the database.
 */
export function createAccessState (db: Db, opts: { maxSubjects?: number } = {}) {
  let graph: RoleGraph | null = null
  let graphLoad: Promise<RoleGraph> | null = null
  let epoch = 0
  const subjects = new LRUCache<string, SubjectState>({ max: opts.maxSubjects ?? 200_000 })
  const sessionCache = new LRUCache<string, SessionState>({ max: opts.maxSubjects ?? 200_000 })
  const clientCache = new LRUCache<string, ClientState>({ max: 10_000 })
  // read by GET /v1/auth/me only, so kept apart from the subjects the hot path reads
  const profileCache = new LRUCache<string, ProfileState>({ max: 50_000 })
  const tenantCache = new LRUCache<string, TenantBrief>({ max: 10_000 })
  const inflight = new Map<string, Promise<unknown>>()
  // keyed by the principal object, which the verified-token cache shares between requests: a
  // request then touches one small record instead of the session, subject and effective caches
  const views = new WeakMap<Principal, PrincipalView>()
  // false between 'down' and 'reset': changes may be missed, so caches are neither read nor filled
  let trusted = true
  // revoked access tokens still within their lifetime: jti -> expiry (ms); null until loaded,
  // and again after a reset until reloaded (then each check reads the database)
  let revoked: Map<string, number> | null = null
  let revokedLoad: Promise<void> | null = null
  // bumped by what can make a load of the set stale (a revocation, a reset), and nothing else
  let revokedEpoch = 0

  async function loadGraphInputs (): Promise<{ roles: RoleInput[], permissions: string[] }> {
    const [defs, names] = await Promise.all([loadRoleDefinitions(db), permissionNames(db)])
    return { roles: [...defs.values()].map(d => ({ name: d.name, parents: d.parents, grants: d.grants })), permissions: names }
  }

  async function getGraph (): Promise<RoleGraph> {
    if (graph) return graph
    if (!graphLoad) {
      const started = epoch
      graphLoad = loadGraphInputs().then(inputs => {
        const compiled = compileRoleGraph(inputs.roles, { permissions: inputs.permissions, unknownParents: 'ignore' })
        if (started === epoch && trusted) graph = compiled
        graphLoad = null
        return compiled
      }, err => { graphLoad = null; throw err })
    }
    return graphLoad
  }

  function once<T> (key: string, load: () => Promise<T>): Promise<T> {
    const pending = inflight.get(key) as Promise<T> | undefined
    if (pending) return pending
    const p = load().finally(() => inflight.delete(key))
    inflight.set(key, p)
    return p
  }

  /**
   * A cached read: the cache's entry, or one load from the database shared by concurrent callers,
   * kept only if nothing changed meanwhile (the epoch) and the bus is trusted, so a stale read
   * never outlives the change that made it stale. `read` answers null for a row that is not there.
   */
  function readThrough<V extends object> (cache: LRUCache<string, V>, prefix: string, read: (key: string) => Promise<V | null>) {
    return (key: string): V | null | Promise<V | null> => cache.get(key) ?? once(prefix + key, async () => {
      const started = epoch
      const value = await read(key)
      if (value !== null && started === epoch && trusted) cache.set(key, value)
      return value
    })
  }

  /** The subject's state, or null if the user no longer exists. */
  const subject = readThrough(subjects, 'u:', async (userId): Promise<SubjectState | null> => {
    const rows = await db.select({
      active: users.isActive,
      role: roles.name,
      tenantId: roleAssignments.tenantId,
      expiresAt: roleAssignments.expiresAt
    }).from(users)
      .leftJoin(roleAssignments, eq(roleAssignments.userId, users.id))
      .leftJoin(roles, eq(roles.id, roleAssignments.roleId))
      .where(eq(users.id, userId))
    if (rows.length === 0) return null
    return {
      active: rows[0].active,
      assignments: rows.filter(r => r.role !== null).map(r => ({
        role: r.role!, tenantId: r.tenantId, expiresAt: r.expiresAt ? r.expiresAt.getTime() : null
      })),
      effective: new Map()
    }
  })

  /** The user's own fields, or null if the user no longer exists; cached until a change to the user. */
  const profile = readThrough(profileCache, 'p:', async (userId): Promise<ProfileState | null> => {
    const [row] = await db.select(userViewColumns).from(users).where(eq(users.id, userId))
    return row ?? null
  })

  /** A tenant's id, slug and name, or null if it does not exist; cached until a change to the tenant. */
  const tenant = readThrough(tenantCache, 't:', async (id): Promise<TenantBrief | null> => {
    const [row] = await db.select({ id: tenants.id, slug: tenants.slug, name: tenants.name }).from(tenants).where(eq(tenants.id, id))
    return row ?? null
  })

  /** A session's holder and state, or null if it does not exist. */
  const session = readThrough(sessionCache, 's:', async (sid): Promise<SessionState | null> => {
    const [row] = await db.select({ userId: sessions.userId, revokedAt: sessions.revokedAt, expiresAt: sessions.expiresAt })
      .from(sessions).where(eq(sessions.id, sid))
    return row ? { userId: row.userId, revoked: row.revokedAt !== null, expiresAt: row.expiresAt.getTime() } : null
  })

  /** A client's tenant, scopes and secret generation, or null if it does not exist. */
  const client = readThrough(clientCache, 'c:', async (id): Promise<ClientState | null> => {
    const [row] = await db.select({ tenantId: clients.tenantId, scopes: clients.scopes, tokenVersion: clients.tokenVersion })
      .from(clients).where(eq(clients.id, id))
    return row ? { tenantId: row.tenantId, scopes: row.scopes, effective: EffectiveSet.fromPermissions(row.scopes), tokenVersion: row.tokenVersion } : null
  })

  /** Effective permissions of a loaded subject in a tenant; memoized until the subject or graph changes. */
  function effectiveFor (state: SubjectState, tenantId: string | null, now = Date.now()): EffectiveSet | Promise<EffectiveSet> {
    const key = tenantId ?? ''
    const memo = state.effective.get(key)
    if (memo !== undefined && (memo.nextExpiry === null || memo.nextExpiry > now)) return memo
    const compute = (g: RoleGraph) => {
      const set = g.effective(state.assignments, tenantId, now)
      if (g === graph) state.effective.set(key, set)
      return set
    }
    return graph !== null ? compute(graph) : getGraph().then(compute)
  }

  /** Whether a view still stands: nothing changed anywhere since it was made, nothing in it expired. */
  function current (v: PrincipalView, now: number): boolean {
    return v.epoch === epoch && v.until > now && trusted
  }

  /** The principal's remembered view if it still stands. */
  function view (principal: Principal, now: number): PrincipalView | undefined {
    const v = views.get(principal)
    return v !== undefined && current(v, now) ? v : undefined
  }

  /**
   * A view of a principal found live from state read at epoch `since`, valid until `until`;
   * remembered for the next request unless anything changed since (then it serves this one only).
   */
  function makeView (principal: Principal, since: number, until: number): PrincipalView {
    const fresh = since === epoch && trusted
    const v: PrincipalView = { principal, epoch: fresh ? since : -1, until, effective: null, allowedRoutes: [] }
    if (fresh) views.set(principal, v)
    return v
  }

  /** Adds the effective set computed from state read at epoch `since` to the view, if both still stand. */
  function keepEffective (v: PrincipalView, since: number, effective: EffectiveSet): void {
    if (v.epoch !== since || since !== epoch) return
    v.effective = effective
    v.allowedRoutes.length = 0
    if (effective.nextExpiry !== null && effective.nextExpiry < v.until) v.until = effective.nextExpiry
  }

  async function loadRevoked (): Promise<void> {
    const started = revokedEpoch
    const rows = await db.select({ jti: revokedTokens.jti, expiresAt: revokedTokens.expiresAt })
      .from(revokedTokens).where(gt(revokedTokens.expiresAt, new Date()))
    if (started !== revokedEpoch || !trusted) return
    const next = new Map<string, number>()
    for (const row of rows) next.set(row.jti, row.expiresAt.getTime())
    revoked = next
  }

  /** Loads the revoked-token set if it is not loaded; concurrent callers share one load. */
  function ensureRevoked (): Promise<void> {
    if (revoked !== null) return Promise.resolve()
    revokedLoad ??= loadRevoked().finally(() => { revokedLoad = null })
    return revokedLoad
  }

  async function revokedInDb (jti: string): Promise<boolean> {
    const [row] = await db.select({ jti: revokedTokens.jti }).from(revokedTokens)
      .where(and(eq(revokedTokens.jti, jti), gt(revokedTokens.expiresAt, new Date())))
    return row !== undefined
  }

  /** Whether an access token was revoked: a Map lookup, or a query while the set cannot be trusted. */
  function tokenRevoked (jti: string): boolean | Promise<boolean> {
    if (revoked !== null && trusted) {
      const until = revoked.get(jti)
      if (until === undefined) return false
      if (until > Date.now()) return true
      revoked.delete(jti)
      return false
    }
    if (trusted) ensureRevoked().catch(() => {})
    return revokedInDb(jti)
  }

  function clearAll () {
    revokedEpoch++
    graph = null
    subjects.clear()
    sessionCache.clear()
    clientCache.clear()
    profileCache.clear()
    tenantCache.clear()
    revoked = null
  }

  /** Applies one change heard on the bus (or made here): drops what it makes stale. */
  function invalidate (change: Change) {
    epoch++
    switch (change.kind) {
      case 'graph':
        graph = null
        for (const state of subjects.values()) state.effective.clear()
        for (const key of [...clientCache.keys()]) clientCache.delete(key)
        break
      case 'user':
        subjects.delete(change.id)
        profileCache.delete(change.id)
        break
      case 'tenant':
        tenantCache.delete(change.id)
        break
      case 'session':
        sessionCache.delete(change.id)
        break
      case 'client':
        clientCache.delete(change.id)
        break
      case 'token':
        revokedEpoch++
        if (revoked !== null) revoked.set(change.jti, change.exp * 1000)
        break
      case 'keys':
        break
      case 'reset':
        clearAll()
        if (trusted) ensureRevoked().catch(() => {})
        break
      case 'listener':
        clearAll()
        trusted = change.up
        if (trusted) ensureRevoked().catch(() => {})
        break
    }
  }

  return {
    getGraph,
    /** the compiled role graph when it is loaded and current; null while it loads */
    graphNow: (): RoleGraph | null => graph,
    subject,
    profile,
    tenant,
    effectiveFor,
    session,
    client,
    invalidate,
    tokenRevoked,
    /** loads the revoked-token set (at start; later loads happen on their own) */
    ensureRevoked,
    /** false while the invalidation listener is down */
    trusted: () => trusted,
    /** bumped by every invalidation: state read at an older epoch may be stale */
    epoch: () => epoch,
    current,
    view,
    makeView,
    keepEffective,
    stats: () => ({ subjects: subjects.size, sessions: sessionCache.size, clients: clientCache.size, revokedTokens: revoked?.size ?? 0 })
  }
}

export type AccessState = ReturnType<typeof createAccessState>

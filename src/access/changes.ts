import { sql } from 'drizzle-orm'
import type { DbOrTx } from '../db/client.js'

/**
 * What can make an instance's caches stale, as one typed union. Every committed change that
 * a cache depends on is announced on one PostgreSQL channel (NOTIFY), heard by every instance
 * (LISTEN, see plugins/changes.ts) and applied by each cache (access state, signing keys).
 * The wire form is a short string (`user:<id>`), made and read only here.
 */
export type Change =
  /** roles, grants, inheritance or the permission catalogue: every effective set */
  | { kind: 'graph' }
  /** a user's active flag or assignments */
  | { kind: 'user', id: string }
  /** a session ended */
  | { kind: 'session', id: string }
  /** a tenant's slug or name, or the tenant deleted */
  | { kind: 'tenant', id: string }
  /** a client's scopes or secret */
  | { kind: 'client', id: string }
  /** an access token revoked before its expiry (seconds since the epoch) */
  | { kind: 'token', jti: string, exp: number }
  /** the signing keys */
  | { kind: 'keys' }
  /** anything may have changed (too many targets to name) */
  | { kind: 'reset' }
  /** this instance's own listener: lost (`up: false`, trust no cache) or back (drop every cache) */
  | { kind: 'listener', up: boolean }

/** The channel every instance listens on. */
export const CHANNEL = 'warden_authz'

/** Constructors, so call sites read `changed.user(id)`. */
export const changed = {
  graph: Object.freeze({ kind: 'graph' }) as Change,
  keys: Object.freeze({ kind: 'keys' }) as Change,
  reset: Object.freeze({ kind: 'reset' }) as Change,
  user: (id: string): Change => ({ kind: 'user', id }),
  session: (id: string): Change => ({ kind: 'session', id }),
  client: (id: string): Change => ({ kind: 'client', id }),
  tenant: (id: string): Change => ({ kind: 'tenant', id }),
  token: (jti: string, exp: number): Change => ({ kind: 'token', jti, exp }),
  listener: (up: boolean): Change => ({ kind: 'listener', up })
}

export function encodeChange (change: Change): string {
  switch (change.kind) {
    case 'graph': case 'keys': case 'reset': return change.kind
    case 'user': case 'session': case 'client': case 'tenant': return `${change.kind}:${change.id}`
    case 'token': return `token:${change.jti}:${change.exp}`
    case 'listener': return change.up ? 'listener:up' : 'listener:down'
  }
}

/** The change a payload announces; null for one this version does not know (a newer instance's). */
export function decodeChange (payload: string): Change | null {
  const colon = payload.indexOf(':')
  const kind = colon === -1 ? payload : payload.slice(0, colon)
  const rest = colon === -1 ? '' : payload.slice(colon + 1)
  switch (kind) {
    case 'graph': case 'keys': case 'reset':
      return colon === -1 ? { kind } : null
    case 'user': case 'session': case 'client': case 'tenant':
      return rest === '' ? null : { kind, id: rest }
    case 'token': {
      const sep = rest.lastIndexOf(':')
      const exp = Number(rest.slice(sep + 1))
      return sep > 0 && Number.isFinite(exp) ? { kind, jti: rest.slice(0, sep), exp } : null
    }
    case 'listener':
      return rest === 'up' || rest === 'down' ? { kind, up: rest === 'up' } : null
    default:
      return null
  }
}

/**
 * Announces changes to every instance, from inside the caller's transaction when `db` is one
 * (PostgreSQL delivers a NOTIFY on commit, and not at all on rollback).
 */
export async function announce (db: DbOrTx, ...changes: Change[]): Promise<void> {
  for (const change of changes) await db.execute(sql`select pg_notify(${CHANNEL}, ${encodeChange(change)})`)
}

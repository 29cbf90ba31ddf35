import { fileURLToPath } from 'node:url'

import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core'
import { PGlite } from '@electric-sql/pglite'
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite'
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator'
import postgres from 'postgres'
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js'
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator'
import * as schema from './schema/index.js'
import { DatabaseTimeout } from '../lib/db-errors.js'
import { lockDataDir } from './data-dir-lock.js'

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>
/** A transaction handle: same query API as Db. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0]
export type DbOrTx = Db | Tx

export interface ListenEvents {
  /** the listening connection was lost: notifications may be missed from now on */
  onDown?: () => void
  /** listening again after a loss: notifications sent meanwhile were missed */
  onUp?: () => void
}

export interface DatabaseHandle {
  db: Db
  kind: 'pglite' | 'postgres'
  /**
   * Subscribes to a NOTIFY channel. On PostgreSQL the listening connection is watched (a
   * heartbeat) and re-established on a short fixed interval after a loss; `onDown` and `onUp`
   * tell the subscriber, which must not trust state kept from notifications in between.
   */
  listen: (channel: string, onMessage: (payload: string) => void, events?: ListenEvents) => Promise<() => Promise<void>>
  /** whether notifications are being received (always true on PGlite, which runs in process) */
  listening: () => boolean
  ping: () => Promise<void>
  close: () => Promise<void>
}

export const migrationsFolder = fileURLToPath(new URL('../../drizzle', import.meta.url))
const MIGRATION_LOCK = 4_242_001
/** seconds postgres.js waits before reconnecting a pool connection while queries wait (its default backoff grows to 20 s) */
const RECONNECT_BACKOFF_SECONDS = 0.1
/** how often a lost listening connection is retried */
export const LISTENER_RETRY_MS = 250
/** how often the listening connection is checked */
export const LISTENER_HEARTBEAT_MS = 1000

export interface OpenOptions {
  databaseUrl: string | null
  dataDir: string
  /** postgres.js pool size */
  poolSize?: number
  /** PostgreSQL: longest wait for a connection, a statement or a transaction (DB_TIMEOUT_MS) */
  timeoutMs?: number
}

/** Opens PostgreSQL (postgres.js) when a URL is given, else embedded PGlite in dataDir. */
export async function openDatabase (opts: OpenOptions): Promise<DatabaseHandle> {
  return opts.databaseUrl
    ? openPostgres(opts.databaseUrl, opts.poolSize ?? 10, opts.timeoutMs ?? 2000)
    : openPglite(opts.dataDir)
}

async function openPglite (dataDir: string): Promise<DatabaseHandle> {
  const lock = dataDir.includes('://') ? null : await lockDataDir(dataDir)
  let client: PGlite
  try {
    client = await PGlite.create(dataDir)
  } catch (err) {
    await lock?.release()
    throw err
  }
  const db = drizzlePglite(client, { schema, casing: 'snake_case' }) as unknown as Db
  return {
    db,
    kind: 'pglite',
    async listen (channel, onMessage) {
      const unlisten = await client.listen(channel, onMessage)
      return async () => { await unlisten() }
    },
    listening: () => !client.closed,
    async ping () { await client.query('select 1') },
    async close () {
      if (!client.closed) await client.close()
      await lock?.release()
    }
  }
}

async function openPostgres (url: string, poolSize: number, timeoutMs: number): Promise<DatabaseHandle> {
  const client = postgres(url, {
    max: poolSize,
    onnotice: () => {},
    connect_timeout: timeoutMs / 1000,
    backoff: () => RECONNECT_BACKOFF_SECONDS,
    connection: { application_name: 'warden' }
  })
  const db = drizzlePostgres(withDeadline(client, timeoutMs), { schema, casing: 'snake_case' }) as unknown as Db
  const listener = createListener(url, timeoutMs)
  return {
    db,
    kind: 'postgres',
    listen: listener.listen,
    listening: listener.up,
    async ping () { await deadline(client`select 1`, timeoutMs) },
    async close () {
      await listener.close()
      await client.end({ timeout: 5 })
    }
  }
}

/** Settles like `work`, or rejects with DatabaseTimeout after `ms` (then `onTimeout` runs). */
export function deadline<T> (work: PromiseLike<T>, ms: number, onTimeout?: () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      onTimeout?.()
      reject(new DatabaseTimeout(ms))
    }, ms)
    work.then(value => { clearTimeout(timer); resolve(value) }, err => { clearTimeout(timer); reject(err) })
  })
}

type Sql = postgres.Sql | postgres.TransactionSql

/**
 * The postgres.js client as drizzle sees it, with a deadline on every wait: a statement
 * (`unsafe`, which drizzle uses for everything) and a transaction (`begin`, `savepoint`: the wait
 * for a connection and for COMMIT or ROLLBACK; the statements inside have their own). A statement
 * past its deadline is cancelled; a transaction past it rolls back at its next statement. So no
 * request waits on the database for much longer than `ms`, whatever the network does.
 */
function withDeadline<S extends Sql> (sql: S, ms: number): S {
  return new Proxy(sql, {
    get (target, prop, receiver) {
      if (prop === 'unsafe') {
        return (...args: Parameters<S['unsafe']>) => {
          const query = (target.unsafe as (...a: unknown[]) => postgres.PendingQuery<postgres.Row[]>)(...args)
          const pending = {
            values () { query.values(); return pending },
            then<A, B> (onValue?: (v: unknown) => A | PromiseLike<A>, onError?: (e: unknown) => B | PromiseLike<B>) {
              return deadline(query, ms, () => { query.cancel() }).then(onValue, onError)
            }
          }
          return pending
        }
      }
      if (prop === 'begin' || prop === 'savepoint') {
        return (...args: unknown[]) => {
          const fn = args.pop() as (tx: postgres.TransactionSql) => Promise<unknown>
          const begin = (target as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[prop].bind(target)
          return inTransaction(ms, wrapped => begin(...args, wrapped), fn)
        }
      }
      return Reflect.get(target, prop, receiver)
    }
  })
}

function inTransaction (
  ms: number,
  start: (body: (tx: postgres.TransactionSql) => Promise<unknown>) => Promise<unknown>,
  fn: (tx: postgres.TransactionSql) => Promise<unknown>
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let abandoned = false
    let timer: NodeJS.Timeout | undefined
    const arm = () => {
      timer = setTimeout(() => {
        abandoned = true
        reject(new DatabaseTimeout(ms))
      }, ms)
    }
    arm() // waiting for a connection and BEGIN
    start(async tx => {
      clearTimeout(timer)
      if (abandoned) throw new DatabaseTimeout(ms)
      try {
        const result = await fn(withDeadline(tx, ms))
        if (abandoned) throw new DatabaseTimeout(ms)
        return result
      } finally {
        arm() // waiting for COMMIT or ROLLBACK
      }
    }).then(value => {
      clearTimeout(timer)
      if (!abandoned) resolve(value)
    }, err => {
      clearTimeout(timer)
      if (!abandoned) reject(err)
    })
  })
}

/**
 * LISTEN on a connection of its own, watched by a heartbeat. A lost connection (closed, or
 * silent past the deadline) is reported at once and retried every LISTENER_RETRY_MS, with no
 * growing backoff, so an instance hears changes again within a fraction of a second of the
 * database coming back.
 */
function createListener (url: string, timeoutMs: number) {
  const subscribers = new Map<string, Set<{ onMessage: (payload: string) => void, events: ListenEvents }>>()
  let sql: postgres.Sql | null = null
  let up = false
  let closed = false
  let retry: NodeJS.Timeout | null = null

  const open = () => {
    // onnotify is postgres.js's own per-connection notification hook (its listen() uses it), not in its types
    const options = {
      max: 1,
      // 0 disables both timers: the listening connection stays open
      idle_timeout: 0,
      max_lifetime: 0,
      fetch_types: false,
      connect_timeout: timeoutMs / 1000,
      backoff: () => RECONNECT_BACKOFF_SECONDS,
      onnotice: () => {},
      onnotify: (channel: string, payload: string) => {
        for (const s of subscribers.get(channel) ?? []) s.onMessage(payload)
      },
      onclose: () => { if (sql === instance) lost() },
      connection: { application_name: 'warden-listener' }
    }
    const instance: postgres.Sql = postgres(url, options as postgres.Options<Record<string, never>>)
    return instance
  }

  const each = (fn: (events: ListenEvents) => void) => {
    for (const set of subscribers.values()) for (const s of set) fn(s.events)
  }

  async function connect (): Promise<void> {
    const instance = open()
    sql = instance
    try {
      for (const channel of subscribers.keys()) await deadline(instance`listen ${instance(channel)}`, timeoutMs)
    } catch (err) {
      if (sql === instance) sql = null
      instance.end({ timeout: 0 }).catch(() => {})
      throw err
    }
  }

  function lost () {
    const instance = sql
    sql = null
    instance?.end({ timeout: 0 }).catch(() => {})
    if (up) {
      up = false
      each(e => e.onDown?.())
    }
    schedule()
  }

  function schedule () {
    if (closed || retry !== null) return
    retry = setTimeout(() => {
      retry = null
      if (closed || sql !== null) return
      connect().then(() => {
        if (closed) return
        up = true
        each(e => e.onUp?.())
      }, () => schedule())
    }, LISTENER_RETRY_MS)
    retry.unref()
  }

  // A closed connection is noticed at once (onclose); a silent one by the heartbeat. Two missed
  // beats in a row, not one: a database that is merely slow under load must not send every
  // instance into reading through its caches, which would only add to the load.
  let missed = 0
  const heartbeat = setInterval(() => {
    const instance = sql
    if (!up || instance === null) return
    deadline(instance`select 1`, timeoutMs).then(() => { missed = 0 }, () => {
      if (sql === instance && ++missed >= 2) {
        missed = 0
        lost()
      }
    })
  }, LISTENER_HEARTBEAT_MS)
  heartbeat.unref()

  return {
    up: () => up,
    async listen (channel: string, onMessage: (payload: string) => void, events: ListenEvents = {}) {
      const entry = { onMessage, events }
      const fresh = !subscribers.has(channel)
      if (fresh) subscribers.set(channel, new Set())
      subscribers.get(channel)!.add(entry)
      if (sql === null && !up) {
        await connect()
        up = true
      } else if (fresh && sql !== null) {
        await deadline(sql`listen ${sql(channel)}`, timeoutMs)
      }
      return async () => {
        const set = subscribers.get(channel)
        set?.delete(entry)
        if (set?.size === 0) {
          subscribers.delete(channel)
          if (sql !== null) await deadline(sql`unlisten ${sql(channel)}`, timeoutMs).catch(() => {})
        }
      }
    },
    async close () {
      closed = true
      clearInterval(heartbeat)
      if (retry !== null) clearTimeout(retry)
      const instance = sql
      sql = null
      up = false
      await instance?.end({ timeout: 1 }).catch(() => {})
    }
  }
}

/**
 * Applies drizzle/ migrations. On PostgreSQL it uses its own single connection and holds an
 * advisory lock, so several instances starting together migrate once.
 */
export async function runMigrations (handle: DatabaseHandle, databaseUrl: string | null): Promise<void> {
  if (handle.kind === 'pglite' || !databaseUrl) {
    await migratePglite(handle.db as never, { migrationsFolder })
    return
  }
  const single = postgres(databaseUrl, { max: 1, onnotice: () => {} })
  try {
    await single`select pg_advisory_lock(${MIGRATION_LOCK})`
    await migratePostgres(drizzlePostgres(single, { casing: 'snake_case' }), { migrationsFolder })
    await single`select pg_advisory_unlock(${MIGRATION_LOCK})`
  } finally {
    await single.end({ timeout: 5 })
  }
}

import { mkdir } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { sql } from 'drizzle-orm'
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core'
import { PGlite } from '@electric-sql/pglite'
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite'
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator'
import postgres from 'postgres'
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js'
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator'
import * as schema from './schema/index.js'

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>
/** A transaction handle: same query API as Db. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0]
export type DbOrTx = Db | Tx

export interface DatabaseHandle {
  db: Db
  kind: 'pglite' | 'postgres'
  /**
   * Subscribes to a NOTIFY channel. onReconnect runs every time the listening connection is
   * (re-)established after the first time, so callers can drop state they may have missed.
   */
  listen: (channel: string, onMessage: (payload: string) => void, onReconnect?: () => void) => Promise<() => Promise<void>>
  ping: () => Promise<void>
  close: () => Promise<void>
}

export const migrationsFolder = fileURLToPath(new URL('../../drizzle', import.meta.url))
const MIGRATION_LOCK = 4_242_001

export interface OpenOptions {
  databaseUrl: string | null
  dataDir: string
  /** postgres.js pool size */
  poolSize?: number
  /**
   * Called once per statement sent (postgres.js) or per PGlite round trip (a transaction counts
   * once): lets the benchmark prove the hot path runs no SQL.
   */
  onQuery?: () => void
}

/** Opens PostgreSQL (postgres.js) when a URL is given, else embedded PGlite in dataDir. */
export async function openDatabase (opts: OpenOptions): Promise<DatabaseHandle> {
  return opts.databaseUrl ? openPostgres(opts.databaseUrl, opts.poolSize ?? 10, opts.onQuery) : openPglite(opts.dataDir, opts.onQuery)
}

async function openPglite (dataDir: string, onQuery?: () => void): Promise<DatabaseHandle> {
  if (!dataDir.includes('://')) await mkdir(dataDir, { recursive: true })
  const client = await PGlite.create(dataDir)
  if (onQuery) {
    // drizzle's PGlite session goes through query(), exec() and transaction()
    for (const method of ['query', 'exec', 'transaction'] as const) {
      const original = (client[method] as (...args: unknown[]) => Promise<unknown>).bind(client)
      Object.defineProperty(client, method, { value: (...args: unknown[]) => { onQuery(); return original(...args) } })
    }
  }
  const db = drizzlePglite(client, { schema, casing: 'snake_case' }) as unknown as Db
  return {
    db,
    kind: 'pglite',
    async listen (channel, onMessage) {
      const unlisten = await client.listen(channel, onMessage)
      return async () => { await unlisten() }
    },
    async ping () { await client.query('select 1') },
    async close () { if (!client.closed) await client.close() }
  }
}

async function openPostgres (url: string, poolSize: number, onQuery?: () => void): Promise<DatabaseHandle> {
  const client = postgres(url, {
    max: poolSize,
    onnotice: () => {},
    ...(onQuery ? { debug: () => onQuery() } : {}),
    connection: { application_name: 'warden' }
  })
  const db = drizzlePostgres(client, { schema, casing: 'snake_case' }) as unknown as Db
  return {
    db,
    kind: 'postgres',
    async listen (channel, onMessage, onReconnect) {
      let connected = false
      const { unlisten } = await client.listen(channel, onMessage, () => {
        if (connected) onReconnect?.()
        connected = true
      })
      return unlisten
    },
    async ping () { await client`select 1` },
    async close () { await client.end({ timeout: 5 }) }
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

/** Sends a NOTIFY; inside a transaction it is delivered on commit. */
export async function notify (db: DbOrTx, channel: string, payload: string): Promise<void> {
  await db.execute(sql`select pg_notify(${channel}, ${payload})`)
}

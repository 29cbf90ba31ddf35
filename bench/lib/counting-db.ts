import { mkdir } from 'node:fs/promises'
import { PGlite } from '@electric-sql/pglite'
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite'
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js'
import postgres from 'postgres'
import type { DatabaseHandle, Db } from '../../src/db/client.js'
import * as schema from '../../src/db/schema/index.js'

/**
 * The same database handles as src/db/client.ts, with a query counter: postgres.js reports every
 * query to its `debug` hook; for PGlite the client's query entry points are wrapped. The bench
 * reads the counter before and after a measured window to show that the hot path runs no SQL.
 */
export interface CountingHandle extends DatabaseHandle { queries: () => number }

export async function openCountingDatabase (opts: { databaseUrl: string | null, dataDir: string, poolSize?: number }): Promise<CountingHandle> {
  return opts.databaseUrl ? openPostgres(opts.databaseUrl, opts.poolSize ?? 10) : openPglite(opts.dataDir)
}

async function openPostgres (url: string, poolSize: number): Promise<CountingHandle> {
  let count = 0
  const client = postgres(url, {
    max: poolSize,
    onnotice: () => {},
    connection: { application_name: 'warden-bench' },
    debug: () => { count++ }
  })
  const db = drizzlePostgres(client, { schema, casing: 'snake_case' }) as unknown as Db
  return {
    db,
    kind: 'postgres',
    queries: () => count,
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

async function openPglite (dataDir: string): Promise<CountingHandle> {
  if (!dataDir.includes('://')) await mkdir(dataDir, { recursive: true })
  const client = await PGlite.create(dataDir)
  let count = 0
  // drizzle's PGlite session goes through query(), exec() and transaction(); a transaction's
  // statements run on its own handle, so each transaction counts as one round trip here
  for (const method of ['query', 'exec', 'transaction'] as const) {
    const original = (client[method] as (...args: unknown[]) => Promise<unknown>).bind(client)
    Object.defineProperty(client, method, { value: (...args: unknown[]) => { count++; return original(...args) } })
  }
  const db = drizzlePglite(client, { schema, casing: 'snake_case' }) as unknown as Db
  return {
    db,
    kind: 'pglite',
    queries: () => count,
    async listen (channel, onMessage) {
      const unlisten = await client.listen(channel, onMessage)
      return async () => { await unlisten() }
    },
    async ping () { await client.query('select 1') },
    async close () { if (!client.closed) await client.close() }
  }
}

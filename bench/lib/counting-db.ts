import type { PGlite } from '@electric-sql/pglite'
import type postgres from 'postgres'
import { openDatabase, type DatabaseHandle, type OpenOptions } from '../../src/db/client.js'

/**
 * The database handle of src/db/client.ts with a query counter: every postgres.js statement,
 * every PGlite round trip (a transaction counts once). The bench reads the counter before and
 * after a measured window to show that the hot path runs no SQL. The counting is the bench's own:
 * it instruments the driver client that drizzle holds (`db.$client`) before the app runs a query.
 */
export interface CountingHandle extends DatabaseHandle { queries: () => number }

export async function openCountingDatabase (opts: OpenOptions): Promise<CountingHandle> {
  let count = 0
  const handle = countQueries(await openDatabase(opts), () => { count++ })
  return Object.assign(handle, { queries: () => count })
}

/** Calls `onQuery` for every statement the handle sends from now on (also used by test/helper.ts). */
export function countQueries<H extends DatabaseHandle> (handle: H, onQuery: () => void): H {
  const client = (handle.db as unknown as { $client: unknown }).$client
  if (handle.kind === 'pglite') {
    // drizzle's PGlite session goes through query(), exec() and transaction()
    const pglite = client as PGlite
    for (const method of ['query', 'exec', 'transaction'] as const) {
      const original = (pglite[method] as (...args: unknown[]) => Promise<unknown>).bind(pglite)
      Object.defineProperty(pglite, method, { value: (...args: unknown[]) => { onQuery(); return original(...args) } })
    }
  } else {
    // postgres.js calls options.debug for every statement it sends, reading it at that moment
    (client as postgres.Sql).options.debug = onQuery
  }
  return handle
}

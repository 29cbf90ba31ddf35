import { openDatabase, type DatabaseHandle, type OpenOptions } from '../../src/db/client.js'

/**
 * The database handle of src/db/client.ts with a query counter (its `onQuery` hook: every
 * postgres.js statement, every PGlite round trip). The bench reads the counter before and after
 * a measured window to show that the hot path runs no SQL.
 */
export interface CountingHandle extends DatabaseHandle { queries: () => number }

export async function openCountingDatabase (opts: Omit<OpenOptions, 'onQuery'>): Promise<CountingHandle> {
  let count = 0
  const handle = await openDatabase({ ...opts, onQuery: () => { count++ } })
  return Object.assign(handle, { queries: () => count })
}

import { asc, desc, sql, type SQL } from 'drizzle-orm'
import type { AnyPgColumn } from 'drizzle-orm/pg-core'
import { decodeCursor, page } from '../lib/cursor.js'

/**
 * Keyset pagination over (createdAt, id), oldest first (or newest first). Timestamps are stored
 * with millisecond precision (the schema's `precision: 3`), exactly what a cursor's JavaScript
 * Date carries, so the row comparison is exact and served by the (created_at, id) indexes.
 */

export interface Keyset {
  where: SQL | undefined
  orderBy: SQL[]
}

export interface PageRequest {
  limit: number
  cursor: string | undefined
}

export interface Page<T> {
  items: T[]
  nextCursor: string | null
}

export function keyset (
  createdAt: AnyPgColumn,
  id: AnyPgColumn,
  cursor: string | undefined,
  idKind: 'uuid' | 'text' = 'uuid',
  order: 'asc' | 'desc' = 'asc'
): Keyset {
  const orderBy = order === 'asc' ? [asc(createdAt), asc(id)] : [desc(createdAt), desc(id)]
  if (cursor === undefined) return { where: undefined, orderBy }
  const after = decodeCursor(cursor, idKind)
  const at = after.at.toISOString()
  const afterId = idKind === 'uuid' ? sql`${after.id}::uuid` : sql`${after.id}::text`
  const where = order === 'asc'
    ? sql`(${createdAt}, ${id}) > (${at}::timestamptz, ${afterId})`
    : sql`(${createdAt}, ${id}) < (${at}::timestamptz, ${afterId})`
  return { where, orderBy }
}

/** The page of rows read with `limit + 1`, keyed by (createdAt, id) like `keyset`. */
export function pageByCreation<T extends { createdAt: Date, id: string }> (rows: T[], limit: number): Page<T> {
  return page(rows, limit, row => ({ at: row.createdAt, id: row.id }))
}

import { asc, sql, type SQL } from 'drizzle-orm'
import type { AnyPgColumn } from 'drizzle-orm/pg-core'
import { decodeCursor } from '../../lib/cursor.js'

/**
 * Keyset pagination over (createdAt, id), oldest first. Timestamps are stored with millisecond
 * precision (the schema's `precision: 3`), exactly what a cursor's JavaScript Date carries, so
 * the row comparison is exact and served by the (created_at, id) indexes.
 */

export interface Keyset {
  where: SQL | undefined
  orderBy: SQL[]
}

export function keyset (createdAt: AnyPgColumn, id: AnyPgColumn, cursor: string | undefined, idKind: 'uuid' | 'text' = 'uuid'): Keyset {
  const orderBy = [asc(createdAt), asc(id)]
  if (cursor === undefined) return { where: undefined, orderBy }
  const after = decodeCursor(cursor, idKind)
  const at = after.at.toISOString()
  const afterId = idKind === 'uuid' ? sql`${after.id}::uuid` : sql`${after.id}::text`
  return { where: sql`(${createdAt}, ${id}) > (${at}::timestamptz, ${afterId})`, orderBy }
}

import { asc, sql, type SQL } from 'drizzle-orm'
import type { AnyPgColumn } from 'drizzle-orm/pg-core'
import { decodeCursor } from '../../lib/cursor.js'

/**
 * Keyset pagination over (createdAt, id), oldest first. PostgreSQL keeps microseconds but a
 * cursor carries a JavaScript Date (milliseconds), so both the order and the comparison use the
 * time truncated to milliseconds; otherwise rows created within the same millisecond as the
 * cursor could be skipped or repeated.
 */
const millis = (column: AnyPgColumn) => sql`date_trunc('milliseconds', ${column})`

export interface Keyset {
  where: SQL | undefined
  orderBy: SQL[]
}

export function keyset (createdAt: AnyPgColumn, id: AnyPgColumn, cursor: string | undefined, idKind: 'uuid' | 'text' = 'uuid'): Keyset {
  const orderBy = [asc(millis(createdAt)), asc(id)]
  if (cursor === undefined) return { where: undefined, orderBy }
  const after = decodeCursor(cursor, idKind)
  const at = after.at.toISOString()
  const afterId = idKind === 'uuid' ? sql`${after.id}::uuid` : sql`${after.id}::text`
  return { where: sql`(${millis(createdAt)}, ${id}) > (${at}::timestamptz, ${afterId})`, orderBy }
}

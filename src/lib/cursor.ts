import { InvalidCursor } from '../errors.js'

/**
 * Opaque keyset cursors: base64url JSON of the last row's sort key. Decoding checks the shape,
 * so a garbage cursor is a 400, never a query error.
 */
export interface Cursor { t: string, id: string }

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export function encodeCursor (at: Date | string | number, id: string | number): string {
  const t = at instanceof Date ? at.toISOString() : String(at)
  return Buffer.from(JSON.stringify({ t, id: String(id) })).toString('base64url')
}

/** Decodes a cursor whose id is a UUID (idKind 'uuid'), an integer ('int') or any short string ('text'). */
export function decodeCursor (cursor: string, idKind: 'uuid' | 'int' | 'text' = 'uuid'): { at: Date, id: string } {
  let parsed: unknown
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    throw new InvalidCursor('invalid cursor')
  }
  if (typeof parsed !== 'object' || parsed === null) throw new InvalidCursor('invalid cursor')
  const { t, id } = parsed as Record<string, unknown>
  if (typeof t !== 'string' || typeof id !== 'string' || id.length > 200) throw new InvalidCursor('invalid cursor')
  const at = new Date(t)
  if (Number.isNaN(at.getTime())) throw new InvalidCursor('invalid cursor')
  if (idKind === 'uuid' && !UUID.test(id)) throw new InvalidCursor('invalid cursor')
  if (idKind === 'int' && !/^\d{1,18}$/.test(id)) throw new InvalidCursor('invalid cursor')
  return { at, id }
}

/** Splits a limit+1 query result into the page and the cursor of its last item. */
export function page<T> (rows: T[], limit: number, key: (row: T) => { at: Date | string, id: string | number }) {
  const items = rows.slice(0, limit)
  const last = items[items.length - 1]
  const nextCursor = rows.length > limit && last !== undefined ? encodeCursor(key(last).at, key(last).id) : null
  return { items, nextCursor }
}

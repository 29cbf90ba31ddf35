/**
 * Recognizing constraint violations from PostgreSQL (postgres.js) and PGlite alike. Drizzle may
 * wrap the driver's error in its own, with the original as `cause`.
 */
interface PgErrorFields {
  code?: unknown
  /** postgres.js */
  constraint_name?: unknown
  /** PGlite */
  constraint?: unknown
  cause?: unknown
}

function pgError (err: unknown): PgErrorFields | null {
  for (let e: unknown = err, depth = 0; typeof e === 'object' && e !== null && depth < 4; depth++) {
    const fields = e as PgErrorFields
    if (typeof fields.code === 'string' && /^[0-9A-Z]{5}$/.test(fields.code)) return fields
    e = fields.cause
  }
  return null
}

function violates (err: unknown, sqlState: string, constraint?: string): boolean {
  const e = pgError(err)
  if (e === null || e.code !== sqlState) return false
  return constraint === undefined || constraintOf(err) === constraint
}

/** The name of the violated constraint (or unique index), when the driver reports it. */
export function constraintOf (err: unknown): string | null {
  const e = pgError(err)
  const name = e?.constraint_name ?? e?.constraint
  return typeof name === 'string' ? name : null
}

/** unique_violation (23505), optionally of one named constraint or unique index */
export const isUniqueViolation = (err: unknown, constraint?: string) => violates(err, '23505', constraint)

/** foreign_key_violation (23503): a referenced row is missing, or a restricted one still referenced */
export const isForeignKeyViolation = (err: unknown, constraint?: string) => violates(err, '23503', constraint)

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

/** Thrown when the database did not answer within DB_TIMEOUT_MS (see db/client.ts). */
export class DatabaseTimeout extends Error {
  readonly code = 'DB_TIMEOUT'
  constructor (ms: number) {
    super(`the database did not answer within ${ms} ms`)
    this.name = 'DatabaseTimeout'
  }
}

/** Socket- and driver-level codes that mean "the database cannot be reached", not "the query is wrong". */
const CONNECTION_CODES = new Set([
  'DB_TIMEOUT', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT',
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN'
])
/**
 * SQLSTATEs of the same kind: class 08 (connection exception), the server shutting down or
 * starting (57P01-57P03), too many connections (53300), and a statement cancelled at our
 * deadline (57014).
 */
const UNAVAILABLE_STATES = /^(08...|57P0[1-3]|53300|57014)$/

function causes (err: unknown): unknown[] {
  const chain: unknown[] = []
  for (let e: unknown = err; typeof e === 'object' && e !== null && chain.length < 5; e = (e as { cause?: unknown }).cause) chain.push(e)
  return chain
}

/** Whether the error means the database is unreachable (answered as 503), whichever layer raised it. */
export function isDatabaseUnavailable (err: unknown): boolean {
  return causes(err).some(e => {
    const code = (e as { code?: unknown }).code
    return typeof code === 'string' && (CONNECTION_CODES.has(code) || UNAVAILABLE_STATES.test(code))
  })
}

/**
 * What may be logged of a failed query: the SQLSTATE and the names of the objects involved.
 * Never the query's parameters, nor the server's message or detail, which quote the values
 * ("Key (email)=(...) already exists", "invalid input syntax for type uuid: ...").
 */
export function describeDatabaseError (err: unknown): Record<string, unknown> | null {
  const chain = causes(err)
  const fromDb = chain.some(e => typeof e === 'object' && e !== null && ('query' in e || 'params' in e || 'parameters' in e)) || pgError(err) !== null
  if (!fromDb) return null
  const fields = pgError(err) as Record<string, unknown> | null
  const out: Record<string, unknown> = { type: 'DatabaseError' }
  const code = fields?.code ?? chain.map(e => (e as { code?: unknown }).code).find(c => typeof c === 'string')
  if (typeof code === 'string') out.code = code
  for (const name of ['severity', 'routine', 'table_name', 'table', 'column_name', 'column', 'constraint_name', 'constraint'] as const) {
    const value = fields?.[name]
    if (typeof value === 'string') out[name] = value
  }
  if (isDatabaseUnavailable(err)) out.unavailable = true
  return out
}

/**
 * Conditions on grants: a small declarative JSON language (see docs/conditions.md), validated
 * strictly on write and compiled once into closures. No eval, no user code. The language's
 * shape is the JSON Schema in condition-schema.ts; the validator below checks that shape in one
 * walk, with error paths per node, plus the rules a schema cannot state.
 */
import { type ConditionError, InvalidConditionError } from './errors.js'
import { compileNetworks, type ParsedBlock, parseCidr } from './network.js'
import { CONDITION_LIMITS, type Condition, ISO_INSTANT_PATTERN, type Scalar, type TimeCondition } from './condition-schema.js'

export { CONDITION_LIMITS, type Condition, type Scalar, type TimeCondition }

export interface ResourceContext {
  type?: string
  id?: string
  ownerId?: string | null
  attributes?: Record<string, unknown>
}

export interface RequestContext {
  ip?: string
  /** how the caller authenticated (the token's `amr`): `otp` satisfies `{ "mfa": true }` */
  amr?: readonly string[]
  /** epoch ms; Date.now() when absent */
  now?: number
}

export interface ConditionContext {
  subjectId?: string
  resource?: ResourceContext
  request?: RequestContext
}

export type ConditionTest = (ctx: ConditionContext) => boolean

export type ConditionValidation =
  | { ok: true, condition: Condition }
  | { ok: false, errors: ConditionError[] }

const KINDS = ['owner', 'mfa', 'attribute', 'time', 'network', 'all', 'any', 'not'] as const
type Kind = typeof KINDS[number]
const KIND_SET: ReadonlySet<string> = new Set(KINDS)
const TIME_KEYS: ReadonlySet<string> = new Set(['after', 'before', 'from', 'to', 'days'])

const ISO_INSTANT = new RegExp(ISO_INSTANT_PATTERN)
const CLOCK = /^(\d{2}):(\d{2})$/
const DAY_MS = 86_400_000
const MINUTE_MS = 60_000

function isPlainObject (value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

function pointer (path: string, key: string | number): string {
  return `${path}/${String(key).replaceAll('~', '~0').replaceAll('/', '~1')}`
}

function daysInMonth (year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate()
}

/** Epoch ms of a strict ISO-8601 date or date-time with offset; null when invalid. */
export function parseInstant (text: string): number | null {
  const m = ISO_INSTANT.exec(text)
  if (m === null) return null
  const [, y, mo, d, h, mi, s, zone, zh, zm] = m
  const month = Number(mo)
  if (month < 1 || month > 12 || Number(d) < 1 || Number(d) > daysInMonth(Number(y), month)) return null
  if (h !== undefined && (Number(h) > 23 || Number(mi) > 59 || (s !== undefined && Number(s) > 59))) return null
  if (zone !== undefined && zone !== 'Z' && (Number(zh) > 23 || Number(zm) > 59)) return null
  const ms = Date.parse(text)
  return Number.isNaN(ms) ? null : ms
}

/** Minutes since midnight of `HH:MM`; `24:00` only when `allowEnd`. */
function parseClock (text: string, allowEnd: boolean): number | null {
  const m = CLOCK.exec(text)
  if (m === null) return null
  const minutes = Number(m[1]) * 60 + Number(m[2])
  if (Number(m[2]) > 59) return null
  if (minutes < 1440 || (allowEnd && minutes === 1440)) return minutes
  return null
}

function isScalar (value: unknown): value is Scalar {
  return (typeof value === 'string' && value.length <= CONDITION_LIMITS.string) ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value))
}

class Validator {
  readonly errors: ConditionError[] = []
  private nodes = 0
  private tooMany = false

  error (path: string, message: string): void {
    if (this.errors.length < CONDITION_LIMITS.errors) this.errors.push({ path, message })
  }

  node (value: unknown, path: string, depth: number): Condition | undefined {
    if (this.tooMany) return undefined
    if (++this.nodes > CONDITION_LIMITS.nodes) {
      this.tooMany = true
      this.error(path, `a condition may have at most ${CONDITION_LIMITS.nodes} nodes`)
      return undefined
    }
    if (depth > CONDITION_LIMITS.depth) {
      this.error(path, `conditions may be nested at most ${CONDITION_LIMITS.depth} levels deep`)
      return undefined
    }
    if (!isPlainObject(value)) {
      this.error(path, 'must be an object')
      return undefined
    }
    const keys = Object.keys(value)
    const kinds = keys.filter((k): k is Kind => KIND_SET.has(k))
    if (kinds.length === 0) {
      this.error(path, `must have one of ${KINDS.join(', ')}`)
      return undefined
    }
    if (kinds.length > 1) {
      this.error(path, `has more than one kind (${kinds.join(', ')}); combine them with "all"`)
      return undefined
    }
    const kind = kinds[0]
    const allowed = kind === 'attribute' ? ['attribute', 'equals', 'in'] : [kind]
    for (const key of keys) {
      if (!allowed.includes(key)) this.error(pointer(path, key), 'unknown property')
    }
    switch (kind) {
      case 'owner':
        if (value.owner !== true) {
          this.error(pointer(path, 'owner'), 'must be true (use "not" to negate)')
          return undefined
        }
        return { owner: true }
      case 'mfa':
        if (value.mfa !== true) {
          this.error(pointer(path, 'mfa'), 'must be true (use "not" to negate)')
          return undefined
        }
        return { mfa: true }
      case 'attribute':
        return this.attribute(value, path)
      case 'time':
        return this.time(value.time, pointer(path, 'time'))
      case 'network':
        return this.network(value.network, pointer(path, 'network'))
      case 'not': {
        const inner = this.node(value.not, pointer(path, 'not'), depth + 1)
        return inner === undefined ? undefined : { not: inner }
      }
      case 'all':
      case 'any':
        return this.list(kind, value[kind], pointer(path, kind), depth)
    }
  }

  list (kind: 'all' | 'any', value: unknown, path: string, depth: number): Condition | undefined {
    if (!Array.isArray(value) || value.length === 0) {
      this.error(path, 'must be a non-empty array of conditions')
      return undefined
    }
    const items: Condition[] = []
    for (let i = 0; i < value.length && !this.tooMany; i++) {
      const item = this.node(value[i], pointer(path, i), depth + 1)
      if (item !== undefined) items.push(item)
    }
    if (items.length !== value.length) return undefined
    return kind === 'all' ? { all: items } : { any: items }
  }

  attribute (value: Record<string, unknown>, path: string): Condition | undefined {
    const name = value.attribute
    let ok = true
    if (typeof name !== 'string' || name.length === 0 || name.length > CONDITION_LIMITS.attributeName) {
      this.error(pointer(path, 'attribute'), `must be a non-empty string of at most ${CONDITION_LIMITS.attributeName} characters`)
      ok = false
    }
    const hasEquals = Object.hasOwn(value, 'equals')
    const hasIn = Object.hasOwn(value, 'in')
    if (hasEquals === hasIn) {
      this.error(path, 'an attribute condition needs exactly one of "equals" or "in"')
      return undefined
    }
    if (hasEquals) {
      if (!isScalar(value.equals)) {
        this.error(pointer(path, 'equals'), 'must be a string, a finite number or a boolean')
        return undefined
      }
      return ok ? { attribute: name as string, equals: value.equals } : undefined
    }
    const values = value.in
    if (!Array.isArray(values) || values.length === 0 || values.length > CONDITION_LIMITS.inValues) {
      this.error(pointer(path, 'in'), `must be an array of 1 to ${CONDITION_LIMITS.inValues} values`)
      return undefined
    }
    for (let i = 0; i < values.length; i++) {
      if (!isScalar(values[i])) {
        this.error(pointer(pointer(path, 'in'), i), 'must be a string, a finite number or a boolean')
        ok = false
      }
    }
    return ok ? { attribute: name as string, in: [...values as Scalar[]] } : undefined
  }

  time (value: unknown, path: string): Condition | undefined {
    if (!isPlainObject(value)) {
      this.error(path, 'must be an object with after, before, from, to or days')
      return undefined
    }
    const keys = Object.keys(value)
    const errorsBefore = this.errors.length
    for (const key of keys) {
      if (!TIME_KEYS.has(key)) this.error(pointer(path, key), 'unknown property')
    }
    if (keys.length === 0) this.error(path, 'must have at least one of after, before, from, to, days')
    const out: TimeCondition = {}
    const instants: { after?: number, before?: number } = {}
    for (const key of ['after', 'before'] as const) {
      if (!Object.hasOwn(value, key)) continue
      const text = value[key]
      const ms = typeof text === 'string' && text.length <= 64 ? parseInstant(text) : null
      if (ms === null) {
        this.error(pointer(path, key), 'must be an ISO-8601 date (YYYY-MM-DD) or date-time with Z or an offset')
      } else {
        out[key] = text as string
        instants[key] = ms
      }
    }
    if (instants.after !== undefined && instants.before !== undefined && instants.after >= instants.before) {
      this.error(path, '"after" must be earlier than "before"')
    }
    const hasFrom = Object.hasOwn(value, 'from')
    const hasTo = Object.hasOwn(value, 'to')
    if (hasFrom !== hasTo) {
      this.error(path, '"from" and "to" go together')
    } else if (hasFrom) {
      const from = typeof value.from === 'string' ? parseClock(value.from, false) : null
      const to = typeof value.to === 'string' ? parseClock(value.to, true) : null
      if (from === null) this.error(pointer(path, 'from'), 'must be a time of day HH:MM (00:00 to 23:59)')
      if (to === null) this.error(pointer(path, 'to'), 'must be a time of day HH:MM (00:00 to 24:00)')
      if (from !== null && to !== null) {
        if (from === to % 1440) this.error(path, '"from" and "to" must differ')
        out.from = value.from as string
        out.to = value.to as string
      }
    }
    if (Object.hasOwn(value, 'days')) {
      const days = value.days
      if (!Array.isArray(days) || days.length === 0 ||
        !days.every((d) => Number.isInteger(d) && d >= 1 && d <= 7) ||
        new Set(days).size !== days.length) {
        this.error(pointer(path, 'days'), 'must be a non-empty array of distinct ISO weekdays 1 (Monday) to 7 (Sunday)')
      } else {
        out.days = [...days as number[]].sort((a, b) => a - b)
      }
    }
    return this.errors.length === errorsBefore ? { time: out } : undefined
  }

  network (value: unknown, path: string): Condition | undefined {
    if (!Array.isArray(value) || value.length === 0 || value.length > CONDITION_LIMITS.networks) {
      this.error(path, `must be an array of 1 to ${CONDITION_LIMITS.networks} addresses or CIDR blocks`)
      return undefined
    }
    let ok = true
    for (let i = 0; i < value.length; i++) {
      const entry = value[i]
      const parsed = typeof entry === 'string' && entry.length <= 64 ? parseCidr(entry) : 'must be an address or CIDR string'
      if (typeof parsed === 'string') {
        this.error(pointer(path, i), parsed)
        ok = false
      }
    }
    return ok ? { network: [...value as string[]] } : undefined
  }
}

/**
 * Validates untrusted JSON as a condition. On success `condition` is a normalized copy holding
 * only the known properties; store that one.
 */
export function validateCondition (json: unknown): ConditionValidation {
  const validator = new Validator()
  const condition = validator.node(json, '', 1)
  if (condition === undefined || validator.errors.length > 0) {
    if (validator.errors.length === 0) validator.error('', 'invalid condition')
    return { ok: false, errors: validator.errors }
  }
  return { ok: true, condition }
}

function compileTime (time: TimeCondition): ConditionTest {
  const after = time.after === undefined ? -Infinity : parseInstant(time.after) as number
  const before = time.before === undefined ? Infinity : parseInstant(time.before) as number
  const from = time.from === undefined ? null : parseClock(time.from, false) as number
  const to = time.to === undefined ? null : parseClock(time.to, true) as number
  let dayMask = 0
  for (const d of time.days ?? [1, 2, 3, 4, 5, 6, 7]) dayMask |= 1 << d
  return (ctx) => {
    const now = ctx.request?.now ?? Date.now()
    if (now < after || now >= before) return false
    const days = Math.floor(now / DAY_MS)
    // 1970-01-01 was a Thursday (ISO weekday 4)
    const weekday = (((days + 3) % 7) + 7) % 7 + 1
    if ((dayMask & (1 << weekday)) === 0) return false
    if (from === null || to === null) return true
    const minute = Math.floor((now - days * DAY_MS) / MINUTE_MS)
    return from < to ? minute >= from && minute < to : minute >= from || minute < to
  }
}

function compileNode (c: Condition): ConditionTest {
  if ('owner' in c) {
    return (ctx) => {
      const owner = ctx.resource?.ownerId
      return typeof owner === 'string' && owner !== '' && owner === ctx.subjectId
    }
  }
  if ('mfa' in c) return (ctx) => ctx.request?.amr?.includes('otp') === true
  if ('attribute' in c) {
    const name = c.attribute
    const read = (ctx: ConditionContext): unknown => {
      const attributes = ctx.resource?.attributes
      return attributes != null && Object.hasOwn(attributes, name) ? attributes[name] : undefined
    }
    if ('equals' in c) {
      const expected = c.equals
      return (ctx) => read(ctx) === expected
    }
    const values = new Set<unknown>(c.in)
    return (ctx) => {
      const actual = read(ctx)
      return actual !== undefined && values.has(actual)
    }
  }
  if ('time' in c) return compileTime(c.time)
  if ('network' in c) {
    const inNetwork = compileNetworks(c.network.map((entry) => parseCidr(entry) as ParsedBlock))
    return (ctx) => {
      const ip = ctx.request?.ip
      return typeof ip === 'string' && inNetwork(ip)
    }
  }
  if ('not' in c) {
    const inner = compileNode(c.not)
    return (ctx) => !inner(ctx)
  }
  if ('all' in c) {
    const tests = c.all.map(compileNode)
    return (ctx) => {
      for (const test of tests) if (!test(ctx)) return false
      return true
    }
  }
  const tests = c.any.map(compileNode)
  return (ctx) => {
    for (const test of tests) if (test(ctx)) return true
    return false
  }
}

/**
 * Compiles a condition into a predicate. Validates it first (data read back from storage is
 * still untrusted) and throws InvalidConditionError when it is not valid.
 */
export function compileCondition (condition: Condition, where?: string): ConditionTest {
  const result = validateCondition(condition)
  if (!result.ok) throw new InvalidConditionError(result.errors, where)
  return compileNode(result.condition)
}

/**
 * The condition language as a JSON Schema (TypeBox): the `Condition` type the engine works with,
 * and `components.schemas.Condition` of the OpenAPI document, so generated clients get a typed
 * union instead of `unknown`. What a schema can say is said here; `validateCondition`
 * (conditions.ts) enforces this schema plus the rules JSON Schema cannot state (nesting depth,
 * the 64-node budget over the whole tree, real calendar dates, `after` before `before`, `from`
 * different from `to`, CIDR host bits). test/authz/condition-schema.test.ts checks with Ajv that
 * the two never disagree on what the schema covers.
 */
import { Type, type Static, type TString } from '@sinclair/typebox'

export const CONDITION_LIMITS = Object.freeze({
  depth: 8,
  nodes: 64,
  inValues: 100,
  networks: 64,
  attributeName: 64,
  string: 256,
  errors: 20
})

/** strict ISO-8601: a date (UTC midnight) or a date-time with `Z` or an offset */
export const ISO_INSTANT_PATTERN = '^(\\d{4})-(\\d{2})-(\\d{2})(?:T(\\d{2}):(\\d{2})(?::(\\d{2})(?:\\.\\d{1,3})?)?(Z|[+-](\\d{2}):(\\d{2})))?$'
export const CLOCK_PATTERN = '^([01]\\d|2[0-3]):[0-5]\\d$'
export const CLOCK_END_PATTERN = '^(([01]\\d|2[0-3]):[0-5]\\d|24:00)$'

const closed = { additionalProperties: false } as const

const ScalarSchema = Type.Union([
  Type.String({ maxLength: CONDITION_LIMITS.string }),
  Type.Number(),
  Type.Boolean()
], { description: 'a string (at most 256 characters), a finite number or a boolean; compared strictly' })

const AttributeName = Type.String({
  minLength: 1,
  maxLength: CONDITION_LIMITS.attributeName,
  description: 'the name of a resource attribute'
})

const Instant = (description: string): TString => Type.String({ maxLength: 64, pattern: ISO_INSTANT_PATTERN, description })

export const TimeConditionSchema = Type.Object({
  after: Type.Optional(Instant('ISO-8601 date or date-time; the condition holds from this instant on')),
  before: Type.Optional(Instant('ISO-8601 date or date-time; the condition holds until just before it (later than `after`)')),
  from: Type.Optional(Type.String({ pattern: CLOCK_PATTERN, description: 'daily window start, `HH:MM` UTC, inclusive; with `to`' })),
  to: Type.Optional(Type.String({ pattern: CLOCK_END_PATTERN, description: 'daily window end, `HH:MM` UTC (`24:00` = end of day), exclusive; earlier than `from` = the window wraps midnight' })),
  days: Type.Optional(Type.Array(Type.Integer({ minimum: 1, maximum: 7 }), {
    minItems: 1,
    maxItems: 7,
    uniqueItems: true,
    description: 'ISO weekdays in UTC, 1 = Monday ... 7 = Sunday'
  }))
}, { ...closed, minProperties: 1, dependentRequired: { from: ['to'], to: ['from'] } })
export type TimeCondition = Static<typeof TimeConditionSchema>

/**
 * One condition: an object with exactly one kind. Nested at most 8 levels, at most 64 nodes in
 * all (docs/conditions.md).
 */
export const ConditionSchema = Type.Recursive(Self => Type.Union([
  Type.Object({ owner: Type.Literal(true, { description: 'the resource\'s `ownerId` is the subject' }) }, closed),
  Type.Object({ mfa: Type.Literal(true, { description: 'the token comes from a sign-in with a second factor (`amr` has `otp`): step-up for dangerous permissions' }) }, closed),
  Type.Object({ attribute: AttributeName, equals: ScalarSchema }, closed),
  Type.Object({
    attribute: AttributeName,
    in: Type.Array(ScalarSchema, { minItems: 1, maxItems: CONDITION_LIMITS.inValues })
  }, closed),
  Type.Object({ time: TimeConditionSchema }, closed),
  Type.Object({
    network: Type.Array(Type.String({ maxLength: 64 }), {
      minItems: 1,
      maxItems: CONDITION_LIMITS.networks,
      description: 'IPv4 or IPv6 addresses or CIDR blocks (no host bits set); holds when the client address is in one'
    })
  }, closed),
  Type.Object({ all: Type.Array(Self, { minItems: 1, maxItems: CONDITION_LIMITS.nodes, description: 'holds when every condition holds' }) }, closed),
  Type.Object({ any: Type.Array(Self, { minItems: 1, maxItems: CONDITION_LIMITS.nodes, description: 'holds when one condition holds' }) }, closed),
  Type.Object({ not: Self }, closed)
]), {
  $id: 'Condition',
  description: 'A condition on a grant (docs/conditions.md): exactly one of `owner`, `mfa`, `attribute` (with `equals` or `in`), `time`, `network`, `all`, `any`, `not`'
})

export type Condition = Static<typeof ConditionSchema>
export type Scalar = Static<typeof ScalarSchema>

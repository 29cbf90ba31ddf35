/**
 * The OpenAPI document's `Condition` schema and the engine's validator say the same thing. Ajv
 * (draft 2020-12, the dialect of OpenAPI 3.1) checks the schema; for every generated document:
 * what the engine accepts, the schema accepts (a generated client never rejects a condition the
 * API takes), and what the schema accepts but the engine refuses is refused only for a rule JSON
 * Schema cannot state.
 */
import t from 'tap'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { CONDITION_LIMITS, ConditionSchema, validateCondition } from '../../src/authz/index.js'

const ajv = new Ajv2020({ allErrors: false, strict: true })
const matchesSchema = ajv.compile(ConditionSchema)

// the rules beyond the schema, by the engine's message
const BEYOND_SCHEMA = [
  /at most 64 nodes/,
  /nested at most 8 levels/,
  /"after" must be earlier than "before"/,
  /"from" and "to" must differ/,
  /must be an ISO-8601 date/, // a calendar date that does not exist: 2023-02-29
  /is not an IPv4 or IPv6 address|prefix length must be|beyond the prefix length|IPv4-mapped network|zone ids/
]

// a small seeded generator (mulberry32): the same documents on every run
function random (seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let r = Math.imul(a ^ (a >>> 15), 1 | a)
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296
  }
}
const rand = random(20261202)
const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]
const chance = (p: number): boolean => rand() < p

const JUNK: readonly unknown[] = [null, 0, -1, 1.5, 8, 'x', '', true, false, [], {}, [1], { a: 1 }, 'x'.repeat(257), 'ä']
const SCALARS: readonly unknown[] = ['eu', 'published', '', 3, 0, -2.5, true, false, 'x'.repeat(256)]
const INSTANTS = ['2025-01-01', '2025-07-01T00:00:00Z', '2024-02-29', '2023-02-29', '2025-13-01', '2025-01-01T24:00:00Z',
  '2025-01-01T10:00:00.123+02:00', '2025-01-01T10:00Z', '2025-1-1', 'tomorrow', '2025-06-31']
const CLOCKS = ['00:00', '09:00', '17:30', '23:59', '24:00', '24:01', '9:00', '12:60', '']
const NETWORKS = ['10.0.0.0/8', '10.0.0.1', '192.168.1.0/24', '192.168.1.1/24', '::1', '2001:db8::/32', '::ffff:10.0.0.0/104',
  '::ffff:10.0.0.0/8', '10.0.0.0/33', '300.1.1.1', 'fe80::1%eth0', 'not an ip', '']

function sometimesBroken (value: unknown): unknown {
  return chance(0.06) ? pick(JUNK) : value
}

function time (): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  if (chance(0.5)) out.after = pick(INSTANTS)
  if (chance(0.4)) out.before = pick(INSTANTS)
  if (chance(0.5)) {
    out.from = pick(CLOCKS)
    if (chance(0.95)) out.to = pick(CLOCKS)
  }
  if (chance(0.4)) out.days = Array.from({ length: 1 + Math.floor(rand() * 4) }, () => chance(0.95) ? 1 + Math.floor(rand() * 7) : pick([0, 8, 2.5, '1']))
  if (chance(0.05)) out.zone = 'UTC'
  return out
}

function list (depth: number, max: number): unknown[] {
  return Array.from({ length: chance(0.05) ? 0 : 1 + Math.floor(rand() * max) }, () => condition(depth + 1))
}

function condition (depth: number): unknown {
  if (chance(0.02)) return pick(JUNK)
  const leaf = depth >= 10 || chance(depth < 3 ? 0.4 : 0.7)
  const kind = leaf ? pick(['owner', 'mfa', 'equals', 'in', 'time', 'network']) : pick(['all', 'any', 'not'])
  let node: Record<string, unknown>
  switch (kind) {
    case 'owner': node = { owner: sometimesBroken(true) }; break
    case 'mfa': node = { mfa: sometimesBroken(true) }; break
    case 'equals': node = { attribute: sometimesBroken(pick(['status', 'region', 'a'.repeat(64), 'a'.repeat(65), ''])), equals: sometimesBroken(pick(SCALARS)) }; break
    case 'in': node = { attribute: sometimesBroken('region'), in: sometimesBroken(Array.from({ length: chance(0.05) ? 101 : 1 + Math.floor(rand() * 4) }, () => sometimesBroken(pick(SCALARS)))) }; break
    case 'time': node = { time: sometimesBroken(time()) }; break
    case 'network': node = { network: sometimesBroken(Array.from({ length: 1 + Math.floor(rand() * 3) }, () => sometimesBroken(pick(NETWORKS)))) }; break
    case 'not': node = { not: condition(depth + 1) }; break
    default: node = { [kind]: sometimesBroken(list(depth, chance(0.1) ? 20 : 3)) }
  }
  if (chance(0.03)) node.extra = 1
  if (chance(0.02)) node[pick(['owner', 'time', 'all', 'not'])] = { owner: true } // two kinds
  if (kind === 'equals' && chance(0.03)) node.in = ['x'] // equals and in
  return node
}

t.test('the schema accepts every condition the engine accepts, and refuses more only where a schema cannot say', async t => {
  const counts = { bothValid: 0, bothInvalid: 0, beyondSchema: 0 }
  const disagreements: string[] = []
  for (let i = 0; i < 20_000; i++) {
    const doc = condition(1)
    const engine = validateCondition(doc)
    const schema = matchesSchema(doc)
    if (engine.ok) {
      if (!schema) disagreements.push(`engine accepts, schema refuses: ${JSON.stringify(doc)} ${ajv.errorsText(matchesSchema.errors)}`)
      else if (!matchesSchema(engine.condition)) disagreements.push(`normalized copy refused by the schema: ${JSON.stringify(engine.condition)}`)
      else counts.bothValid++
    } else if (!schema) {
      counts.bothInvalid++
    } else if (engine.errors.every(e => BEYOND_SCHEMA.some(rule => rule.test(e.message)))) {
      counts.beyondSchema++
    } else {
      disagreements.push(`schema accepts, engine refuses for a rule the schema states: ${JSON.stringify(doc)} ${JSON.stringify(engine.errors)}`)
    }
  }
  t.same(disagreements.slice(0, 5), [], 'no disagreement')
  t.ok(counts.bothValid > 2000, `valid documents generated: ${counts.bothValid}`)
  t.ok(counts.bothInvalid > 2000, `invalid documents generated: ${counts.bothInvalid}`)
  t.ok(counts.beyondSchema > 200, `documents refused only for rules beyond the schema: ${counts.beyondSchema}`)
})

t.test('the documented examples are valid for both', async t => {
  const examples = [
    { owner: true },
    { attribute: 'status', equals: 'published' },
    { attribute: 'region', in: ['eu', 'us'] },
    { time: { after: '2025-01-01', before: '2025-07-01T00:00:00Z' } },
    { time: { from: '09:00', to: '17:00', days: [1, 2, 3, 4, 5] } },
    { network: ['10.0.0.0/8', '2001:db8::/32'] },
    { all: [{ owner: true }, { not: { attribute: 'locked', equals: true } }] },
    { any: [{ owner: true }, { network: ['192.168.0.0/16'] }] }
  ]
  for (const e of examples) {
    t.ok(matchesSchema(e), `schema: ${JSON.stringify(e)}`)
    t.ok(validateCondition(e).ok, `engine: ${JSON.stringify(e)}`)
  }
  // the limits the schema states are the engine's
  const tooManyValues = { attribute: 'a', in: Array.from({ length: CONDITION_LIMITS.inValues + 1 }, (_, i) => i) }
  t.notOk(matchesSchema(tooManyValues))
  t.notOk(validateCondition(tooManyValues).ok)
  t.notOk(matchesSchema({ time: { from: '09:00' } }), 'from without to')
  t.notOk(matchesSchema({ time: {} }), 'an empty time')
  t.notOk(matchesSchema({ owner: true, time: { from: '09:00', to: '10:00' } }), 'two kinds')
})

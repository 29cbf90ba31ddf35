import t, { type Test } from 'tap'
import {
  type Condition,
  type ConditionContext,
  compileCondition,
  InvalidConditionError,
  validateCondition
} from '../../src/authz/index.js'

// 2024-01-01 is a Monday
const at = (iso: string): number => Date.parse(iso)
const MONDAY_NOON = at('2024-01-01T12:00:00Z')

function check (t: Test, condition: Condition, cases: Array<[string, ConditionContext, boolean]>): void {
  const test = compileCondition(condition)
  for (const [label, ctx, expected] of cases) t.equal(test(ctx), expected, `${JSON.stringify(condition)}: ${label}`)
}

const resource = (r: ConditionContext['resource']): ConditionContext => ({ subjectId: 'u1', resource: r })
const attrs = (attributes: Record<string, unknown>): ConditionContext => resource({ attributes })
const ip = (address: string | undefined): ConditionContext => ({ subjectId: 'u1', request: { ip: address } })
const now = (iso: string): ConditionContext => ({ subjectId: 'u1', request: { now: at(iso) } })

t.test('owner', async (t) => {
  check(t, { owner: true }, [
    ['owner', resource({ ownerId: 'u1' }), true],
    ['someone else', resource({ ownerId: 'u2' }), false],
    ['no ownerId', resource({ id: 'p1' }), false],
    ['null ownerId', resource({ ownerId: null }), false],
    ['no resource', { subjectId: 'u1' }, false],
    ['empty ids', { subjectId: '', resource: { ownerId: '' } }, false],
    ['no subject', { resource: { ownerId: 'u1' } }, false]
  ])
})

t.test('attribute equals / in', async (t) => {
  check(t, { attribute: 'status', equals: 'published' }, [
    ['equal', attrs({ status: 'published' }), true],
    ['different', attrs({ status: 'draft' }), false],
    ['missing', attrs({}), false],
    ['no attributes', resource({ ownerId: 'u1' }), false]
  ])
  check(t, { attribute: 'level', equals: 3 }, [
    ['number', attrs({ level: 3 }), true],
    ['string is not a number', attrs({ level: '3' }), false]
  ])
  check(t, { attribute: 'isPublished', equals: true }, [
    ['true', attrs({ isPublished: true }), true],
    ['truthy is not true', attrs({ isPublished: 1 }), false],
    ['false', attrs({ isPublished: false }), false]
  ])
  check(t, { attribute: 'toString', equals: 'x' }, [
    ['inherited properties are not attributes', attrs({}), false]
  ])
  check(t, { attribute: 'region', in: ['eu', 'us', 7] }, [
    ['eu', attrs({ region: 'eu' }), true],
    ['us', attrs({ region: 'us' }), true],
    ['7', attrs({ region: 7 }), true],
    ['"7" is not 7', attrs({ region: '7' }), false],
    ['apac', attrs({ region: 'apac' }), false],
    ['missing', attrs({}), false]
  ])
})

t.test('time: absolute bounds', async (t) => {
  check(t, { time: { after: '2024-01-01T00:00:00Z', before: '2024-02-01' } }, [
    ['inside', now('2024-01-15T00:00:00Z'), true],
    ['at after (inclusive)', now('2024-01-01T00:00:00Z'), true],
    ['just before after', now('2023-12-31T23:59:59.999Z'), false],
    ['just before before', now('2024-01-31T23:59:59.999Z'), true],
    ['at before (exclusive)', now('2024-02-01T00:00:00Z'), false]
  ])
  check(t, { time: { after: '2024-01-01T10:00:00+02:00' } }, [
    ['offsets are honoured', now('2024-01-01T08:00:00Z'), true],
    ['an hour earlier', now('2024-01-01T07:00:00Z'), false]
  ])
  check(t, { time: { after: '2000-01-01' } }, [['without now: the current time', { subjectId: 'u1' }, true]])
  check(t, { time: { before: '2000-01-01' } }, [['without now: the current time', { subjectId: 'u1' }, false]])
})

t.test('time: daily window in UTC', async (t) => {
  check(t, { time: { from: '09:00', to: '17:00', days: [1, 2, 3, 4, 5] } }, [
    ['Monday noon', now('2024-01-01T12:00:00Z'), true],
    ['Monday 09:00', now('2024-01-01T09:00:00Z'), true],
    ['Monday 16:59', now('2024-01-01T16:59:59Z'), true],
    ['Monday 17:00', now('2024-01-01T17:00:00Z'), false],
    ['Monday 08:59', now('2024-01-01T08:59:59Z'), false],
    ['Friday noon', now('2024-01-05T12:00:00Z'), true],
    ['Saturday noon', now('2024-01-06T12:00:00Z'), false],
    ['Sunday noon', now('2024-01-07T12:00:00Z'), false],
    ['offset times are converted to UTC', now('2024-01-01T14:00:00+05:00'), true],
    ['07:00 UTC is outside', now('2024-01-01T12:00:00+05:00'), false]
  ])
  check(t, { time: { from: '22:00', to: '06:00' } }, [
    ['23:00 (wraps midnight)', now('2024-01-01T23:00:00Z'), true],
    ['05:59', now('2024-01-02T05:59:00Z'), true],
    ['06:00', now('2024-01-02T06:00:00Z'), false],
    ['noon', now('2024-01-02T12:00:00Z'), false]
  ])
  check(t, { time: { from: '18:00', to: '24:00' } }, [
    ['23:59', now('2024-01-01T23:59:59Z'), true],
    ['00:00', now('2024-01-02T00:00:00Z'), false]
  ])
  check(t, { time: { days: [6, 7] } }, [
    ['Saturday', now('2024-01-06T03:00:00Z'), true],
    ['Sunday late', now('2024-01-07T23:59:59Z'), true],
    ['Monday', now('2024-01-08T00:00:00Z'), false]
  ])
  check(t, { time: { after: '2024-01-01', before: '2024-01-02', from: '09:00', to: '10:00' } }, [
    ['both forms together', now('2024-01-01T09:30:00Z'), true],
    ['window on another day', now('2024-01-02T09:30:00Z'), false]
  ])
})

t.test('network: IPv4, IPv6 and IPv4-mapped IPv6', async (t) => {
  check(t, { network: ['10.0.0.0/8', '192.168.1.7', '2001:db8::/32', '::1/128'] }, [
    ['inside 10/8', ip('10.200.3.4'), true],
    ['outside 10/8', ip('11.0.0.1'), false],
    ['single address', ip('192.168.1.7'), true],
    ['next to it', ip('192.168.1.8'), false],
    ['IPv6 block', ip('2001:db8:abcd::1'), true],
    ['IPv6 outside', ip('2001:db9::1'), false],
    ['loopback', ip('::1'), true],
    ['IPv4-mapped request address', ip('::ffff:10.1.2.3'), true],
    ['IPv4-mapped, hex form', ip('::ffff:a01:203'), true],
    ['IPv4-mapped outside', ip('::ffff:11.1.2.3'), false],
    ['garbage address', ip('not an ip'), false],
    ['no address', ip(undefined), false],
    ['no request', { subjectId: 'u1' }, false]
  ])
  check(t, { network: ['fe80::/10'] }, [
    ['zone id in the request address', ip('fe80::1%eth0'), true],
    ['IPv4 is not link-local', ip('10.0.0.1'), false]
  ])
  check(t, { network: ['::ffff:192.168.0.0/112'] }, [
    ['mapped block matches plain IPv4', ip('192.168.44.1'), true],
    ['and mapped IPv4', ip('::ffff:192.168.44.1'), true],
    ['outside', ip('192.169.0.1'), false]
  ])
  check(t, { network: ['0.0.0.0/0'] }, [
    ['all of IPv4', ip('203.0.113.9'), true],
    ['but not IPv6', ip('2001:db8::1'), false]
  ])
  check(t, { network: ['::/0'] }, [
    ['all of IPv6', ip('2001:db8::1'), true],
    ['including IPv4 as mapped', ip('203.0.113.9'), true]
  ])
  check(t, { network: ['1:2:3:4:5:6:7:8/128', '255.255.255.255/32', '128.0.0.0/1'] }, [
    ['full IPv6', ip('1:2:3:4:5:6:7:8'), true],
    ['all ones', ip('255.255.255.255'), true],
    ['high half', ip('200.1.1.1'), true],
    ['low half', ip('100.1.1.1'), false]
  ])
})

t.test('all / any / not', async (t) => {
  const ownDraft: Condition = { all: [{ owner: true }, { attribute: 'status', equals: 'draft' }] }
  check(t, ownDraft, [
    ['both', { subjectId: 'u1', resource: { ownerId: 'u1', attributes: { status: 'draft' } } }, true],
    ['only owner', { subjectId: 'u1', resource: { ownerId: 'u1', attributes: { status: 'published' } } }, false],
    ['only draft', { subjectId: 'u1', resource: { ownerId: 'u2', attributes: { status: 'draft' } } }, false]
  ])
  check(t, { any: [{ owner: true }, { attribute: 'status', equals: 'published' }] }, [
    ['owner', { subjectId: 'u1', resource: { ownerId: 'u1', attributes: { status: 'draft' } } }, true],
    ['published', { subjectId: 'u1', resource: { ownerId: 'u2', attributes: { status: 'published' } } }, true],
    ['neither', { subjectId: 'u1', resource: { ownerId: 'u2', attributes: { status: 'draft' } } }, false]
  ])
  check(t, { not: { owner: true } }, [
    ['owner', resource({ ownerId: 'u1' }), false],
    ['not owner', resource({ ownerId: 'u2' }), true]
  ])
  check(t, { all: [{ network: ['10.0.0.0/8'] }, { not: { time: { days: [6, 7] } } }] }, [
    ['office on Monday', { request: { ip: '10.0.0.1', now: MONDAY_NOON } }, true],
    ['office on Saturday', { request: { ip: '10.0.0.1', now: at('2024-01-06T12:00:00Z') } }, false],
    ['home on Monday', { request: { ip: '8.8.8.8', now: MONDAY_NOON } }, false]
  ])
})

function nested (depth: number): unknown {
  let condition: unknown = { owner: true }
  for (let i = 1; i < depth; i++) condition = { not: condition }
  return condition
}

t.test('validateCondition accepts valid conditions and returns a normalized copy', async (t) => {
  const valid: unknown[] = [
    { owner: true },
    { attribute: 'status', equals: 'published' },
    { attribute: 'region', in: ['eu', 'us'] },
    { time: { after: '2024-01-01T00:00:00.5Z', before: '2025-01-01' } },
    { time: { from: '09:00', to: '17:00', days: [1, 2, 3, 4, 5] } },
    { network: ['10.0.0.0/8', '::1/128', '192.168.1.7', '::ffff:1.2.3.4'] },
    { all: [{ owner: true }, { any: [{ not: { owner: true } }] }] },
    nested(8),
    { any: Array.from({ length: 63 }, () => ({ owner: true })) }
  ]
  for (const json of valid) {
    const result = validateCondition(json)
    t.ok(result.ok, JSON.stringify(json).slice(0, 80))
    if (result.ok) t.same(result.condition, json)
  }
  const sorted = validateCondition({ time: { days: [5, 1, 3] } })
  t.same(sorted.ok && sorted.condition, { time: { days: [1, 3, 5] } })
  const copy = { attribute: 'a', in: ['x'] }
  const result = validateCondition(copy)
  t.ok(result.ok && result.condition !== copy, 'a copy, not the input')
})

t.test('validateCondition rejects invalid conditions with a path and a message', async (t) => {
  const many = { any: Array.from({ length: 64 }, () => ({ owner: true })) }
  const cases: Array<[string, unknown, string, RegExp]> = [
    ['null', null, '', /must be an object/],
    ['array', [{ owner: true }], '', /must be an object/],
    ['a date', new Date(), '', /must be an object/],
    ['no kind', {}, '', /must have one of owner, mfa, attribute/],
    ['two kinds', { owner: true, network: ['::1'] }, '', /more than one kind.*all/],
    ['unknown key', { owner: true, extra: 1 }, '/extra', /unknown property/],
    ['escaped path', { owner: true, 'a/b~c': 1 }, '/a~1b~0c', /unknown property/],
    ['__proto__ key', JSON.parse('{"owner": true, "__proto__": {"x": 1}}'), '/__proto__', /unknown property/],
    ['owner false', { owner: false }, '/owner', /must be true/],
    ['attribute without test', { attribute: 'status' }, '', /exactly one of "equals" or "in"/],
    ['attribute with both tests', { attribute: 'status', equals: 'a', in: ['a'] }, '', /exactly one/],
    ['empty attribute name', { attribute: '', equals: 'a' }, '/attribute', /non-empty string/],
    ['attribute name too long', { attribute: 'a'.repeat(65), equals: 'a' }, '/attribute', /at most 64/],
    ['null value', { attribute: 'status', equals: null }, '/equals', /string, a finite number or a boolean/],
    ['object value', { attribute: 'status', equals: { a: 1 } }, '/equals', /string/],
    ['empty in', { attribute: 'region', in: [] }, '/in', /array of 1 to 100/],
    ['in not an array', { attribute: 'region', in: 'eu' }, '/in', /array/],
    ['bad value in in', { attribute: 'region', in: ['eu', ['us']] }, '/in/1', /string/],
    ['time not an object', { time: 'now' }, '/time', /must be an object/],
    ['empty time', { time: {} }, '/time', /at least one/],
    ['unknown time key', { time: { at: '12:00' } }, '/time/at', /unknown property/],
    ['impossible date', { time: { after: '2024-02-30' } }, '/time/after', /ISO-8601/],
    ['not a date', { time: { before: 'tomorrow' } }, '/time/before', /ISO-8601/],
    ['date-time without offset', { time: { after: '2024-01-01T10:00:00' } }, '/time/after', /offset/],
    ['hour 24', { time: { after: '2024-01-01T24:00:00Z' } }, '/time/after', /ISO-8601/],
    ['after not before before', { time: { after: '2024-02-01', before: '2024-01-01' } }, '/time', /earlier/],
    ['from without to', { time: { from: '09:00' } }, '/time', /go together/],
    ['bad from', { time: { from: '25:00', to: '17:00' } }, '/time/from', /HH:MM/],
    ['bad to', { time: { from: '09:00', to: '9pm' } }, '/time/to', /HH:MM/],
    ['empty window', { time: { from: '09:00', to: '09:00' } }, '/time', /must differ/],
    ['day 0', { time: { days: [0, 1] } }, '/time/days', /ISO weekdays/],
    ['repeated day', { time: { days: [1, 1] } }, '/time/days', /distinct/],
    ['no days', { time: { days: [] } }, '/time/days', /non-empty/],
    ['empty network', { network: [] }, '/network', /array of 1 to 64/],
    ['prefix too long', { network: ['10.0.0.0/33'] }, '/network/0', /prefix length/],
    ['IPv6 prefix too long', { network: ['::1', '2001:db8::/129'] }, '/network/1', /0 to 128/],
    ['host bits set', { network: ['10.0.0.1/8'] }, '/network/0', /bits set beyond the prefix/],
    ['bad address', { network: ['999.1.1.1'] }, '/network/0', /not an IPv4 or IPv6 address/],
    ['leading zeros', { network: ['010.0.0.0/8'] }, '/network/0', /not an IPv4/],
    ['zone id', { network: ['fe80::1%eth0'] }, '/network/0', /zone/],
    ['short mapped prefix', { network: ['::ffff:10.0.0.0/8'] }, '/network/0', /at least 96/],
    ['non-string network', { network: [42] }, '/network/0', /CIDR string/],
    ['empty all', { all: [] }, '/all', /non-empty array/],
    ['any not an array', { any: { owner: true } }, '/any', /non-empty array/],
    ['empty not', { not: {} }, '/not', /must have one of/],
    ['bad member', { all: [{ owner: true }, { bogus: 1 }] }, '/all/1', /must have one of/],
    ['deep member', { any: [{ not: { attribute: 'x', equals: [] } }] }, '/any/0/not/equals', /string/],
    ['too deep', nested(9), '/not/not/not/not/not/not/not/not', /at most 8 levels/],
    ['too many nodes', many, '/any/63', /at most 64 nodes/]
  ]
  for (const [label, json, path, message] of cases) {
    const result = validateCondition(json)
    t.equal(result.ok, false, label)
    if (result.ok) continue
    t.ok(result.errors.some((e) => e.path === path && message.test(e.message)), `${label}: ${JSON.stringify(result.errors)}`)
  }
})

t.test('validation reports several errors, but a bounded number', async (t) => {
  const result = validateCondition({ all: [{ owner: false }, { network: ['x'] }, { time: { days: [9] } }] })
  t.same(result.ok ? [] : result.errors.map((e) => e.path), ['/all/0/owner', '/all/1/network/0', '/all/2/time/days'])
  const huge = validateCondition({ network: Array.from({ length: 10_000 }, () => 'x') })
  t.equal(huge.ok ? 0 : huge.errors.length, 1, 'an oversized list is one error')
  const wide = validateCondition({ all: Array.from({ length: 50 }, () => ({ owner: false })) })
  t.equal(wide.ok ? 0 : wide.errors.length, 20)
})

t.test('compileCondition refuses invalid conditions', async (t) => {
  const err = t.throws(() => compileCondition({ owner: false } as unknown as Condition)) as InvalidConditionError
  t.ok(err instanceof InvalidConditionError)
  t.same(err.errors, [{ path: '/owner', message: 'must be true (use "not" to negate)' }])
})

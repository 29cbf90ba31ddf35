import t from 'tap'
import {
  DEFAULT_LOGIN_THROTTLE,
  createLoginThrottle,
  normalizeIp,
  type LoginThrottleOptions
} from '../../src/security/login-throttle.js'

const MINUTE = 60_000

function setup (options: Partial<LoginThrottleOptions> = {}) {
  const clock = { now: 1_700_000_000_000 }
  const throttle = createLoginThrottle({ ...options, now: () => clock.now })
  return { clock, throttle }
}

function fail (throttle: ReturnType<typeof createLoginThrottle>, account: string, ip: string, times: number): void {
  for (let n = 0; n < times; n++) {
    if (!throttle.check(account, ip).allowed) throw new Error(`blocked at attempt ${n + 1}`)
    throttle.recordFailure(account, ip)
  }
}

t.test('defaults', async (t) => {
  t.equal(DEFAULT_LOGIN_THROTTLE.maxFailuresPerAccountAndIp, 10)
  t.equal(DEFAULT_LOGIN_THROTTLE.maxFailuresPerIp, 100)
  t.equal(DEFAULT_LOGIN_THROTTLE.maxFailuresPerAccount, 1000)
  t.equal(DEFAULT_LOGIN_THROTTLE.windowMs, 15 * MINUTE)
  t.ok(DEFAULT_LOGIN_THROTTLE.maxBlockMs <= 15 * MINUTE)
})

t.test('30 quick failures from one address on one account meet a block', async (t) => {
  const { throttle, clock } = setup()
  let blockedAt = 0
  for (let attempt = 1; attempt <= 30; attempt++) {
    const verdict = throttle.check('victim@example.com', '203.0.113.7')
    if (!verdict.allowed) {
      blockedAt = attempt
      t.ok(verdict.retryAfterSeconds >= 1 && verdict.retryAfterSeconds <= 900)
      break
    }
    throttle.recordFailure('victim@example.com', '203.0.113.7')
    clock.now += 200
  }
  t.equal(blockedAt, 11, 'the 11th attempt is refused with the defaults')
})

t.test('the N+1-th attempt is blocked with a Retry-After', async (t) => {
  const { throttle, clock } = setup({ maxFailuresPerAccountAndIp: 5, windowMs: 10 * MINUTE })
  fail(throttle, 'alice@example.com', '198.51.100.1', 5)
  const verdict = throttle.check('alice@example.com', '198.51.100.1')
  t.same(verdict, { allowed: false, retryAfterSeconds: 120 }, 'one attempt frees up every windowMs / N')
  t.notOk(throttle.check('ALICE@Example.com ', '198.51.100.1').allowed, 'account is normalized')

  clock.now += 119_000
  t.notOk(throttle.check('alice@example.com', '198.51.100.1').allowed, 'still blocked before Retry-After')
  clock.now += 1_000
  t.ok(throttle.check('alice@example.com', '198.51.100.1').allowed, 'allowed once Retry-After has passed')
  throttle.recordFailure('alice@example.com', '198.51.100.1')
  t.notOk(throttle.check('alice@example.com', '198.51.100.1').allowed, 'and blocked again after one more failure')
})

t.test('another account from another address is unaffected', async (t) => {
  const { throttle } = setup()
  fail(throttle, 'alice@example.com', '198.51.100.1', 10)
  t.notOk(throttle.check('alice@example.com', '198.51.100.1').allowed)
  t.ok(throttle.check('bob@example.com', '198.51.100.2').allowed)
})

t.test('same account from another address: unaffected until the per-account ceiling', async (t) => {
  const { throttle } = setup({ maxFailuresPerAccountAndIp: 3, maxFailuresPerAccount: 10 })
  fail(throttle, 'alice@example.com', '10.0.0.1', 3)
  t.notOk(throttle.check('alice@example.com', '10.0.0.1').allowed)
  t.ok(throttle.check('alice@example.com', '10.0.0.2').allowed, 'another address is still allowed')
  fail(throttle, 'alice@example.com', '10.0.0.2', 3)
  fail(throttle, 'alice@example.com', '10.0.0.3', 3)
  t.ok(throttle.check('alice@example.com', '10.0.0.4').allowed, '9 failures on the account')
  throttle.recordFailure('alice@example.com', '10.0.0.4')
  const verdict = throttle.check('alice@example.com', '10.0.0.5')
  t.equal(verdict.allowed, false, 'the account ceiling is reached from a fresh address')
  t.ok(throttle.check('bob@example.com', '10.0.0.5').allowed, 'other accounts are unaffected')
})

t.test('an address that logged in before is exempt from the shared ceilings', async (t) => {
  const { throttle } = setup({ maxFailuresPerAccountAndIp: 3, maxFailuresPerAccount: 10 })
  throttle.recordSuccess('alice@example.com', '192.0.2.10')
  for (let n = 0; n < 3; n++) fail(throttle, 'alice@example.com', `10.0.0.${n}`, 3)
  fail(throttle, 'alice@example.com', '10.0.0.3', 1)
  t.notOk(throttle.check('alice@example.com', '10.0.0.99').allowed, 'attackers hit the account ceiling')
  t.ok(throttle.check('alice@example.com', '192.0.2.10').allowed, 'the owner from a known address still gets in')
  fail(throttle, 'alice@example.com', '192.0.2.10', 3)
  t.notOk(throttle.check('alice@example.com', '192.0.2.10').allowed, 'but the pair counter still applies')
})

t.test('per-address ceiling over many accounts', async (t) => {
  const { throttle } = setup({ maxFailuresPerIp: 20 })
  for (let n = 0; n < 20; n++) fail(throttle, `user${n}@example.com`, '203.0.113.50', 1)
  t.notOk(throttle.check('user99@example.com', '203.0.113.50').allowed)
  t.ok(throttle.check('user99@example.com', '203.0.113.51').allowed)
})

t.test('success resets the (account, address) counter only', async (t) => {
  const { throttle } = setup({ maxFailuresPerAccountAndIp: 5, maxFailuresPerIp: 9, trustedPairMs: 0 })
  fail(throttle, 'alice@example.com', '198.51.100.1', 4)
  throttle.recordSuccess('alice@example.com', '198.51.100.1')
  fail(throttle, 'alice@example.com', '198.51.100.1', 4)
  t.ok(throttle.check('alice@example.com', '198.51.100.1').allowed, 'the pair counter was cleared')
  throttle.recordFailure('alice@example.com', '198.51.100.1')
  t.notOk(throttle.check('bob@example.com', '198.51.100.1').allowed, 'the address total (9 of 9) was not')
})

t.test('a block expires after the window', async (t) => {
  const { throttle, clock } = setup()
  fail(throttle, 'alice@example.com', '198.51.100.1', 10)
  t.notOk(throttle.check('alice@example.com', '198.51.100.1').allowed)
  clock.now += 15 * MINUTE
  t.ok(throttle.check('alice@example.com', '198.51.100.1').allowed)
  fail(throttle, 'alice@example.com', '198.51.100.1', 10)
  t.notOk(throttle.check('alice@example.com', '198.51.100.1').allowed, 'the full budget came back, no more')
  clock.now += 15 * MINUTE
  t.equal(throttle.size(), 0, 'expired entries are dropped')
})

t.test('Retry-After is never above 15 minutes', async (t) => {
  const { throttle, clock } = setup({ maxFailuresPerAccountAndIp: 1, maxFailuresPerIp: 1, maxFailuresPerAccount: 1 })
  for (let n = 0; n < 100; n++) throttle.recordFailure('alice@example.com', '198.51.100.1')
  const verdict = throttle.check('alice@example.com', '198.51.100.1')
  t.equal(verdict.allowed, false)
  if (!verdict.allowed) {
    t.ok(verdict.retryAfterSeconds >= 1)
    t.ok(verdict.retryAfterSeconds <= 900, `retryAfter ${verdict.retryAfterSeconds}`)
  }
  clock.now += 15 * MINUTE
  t.ok(throttle.check('alice@example.com', '198.51.100.1').allowed, 'hammering does not extend the block')

  const short = setup({ maxFailuresPerAccountAndIp: 10, windowMs: 10_000, maxBlockMs: 1000 })
  fail(short.throttle, 'a', 'b', 10)
  t.same(short.throttle.check('a', 'b'), { allowed: false, retryAfterSeconds: 1 }, 'at least 1 second')
})

t.test('options are validated', async (t) => {
  t.throws(() => createLoginThrottle({ maxBlockMs: 16 * MINUTE }), RangeError)
  t.throws(() => createLoginThrottle({ maxBlockMs: 500 }), RangeError)
  t.throws(() => createLoginThrottle({ maxFailuresPerAccountAndIp: 0 }), RangeError)
  t.throws(() => createLoginThrottle({ windowMs: -1 }), RangeError)
  t.throws(() => createLoginThrottle({ maxFailuresPerAccountAndIp: 1, windowMs: 60 * MINUTE }), RangeError)
  t.doesNotThrow(() => createLoginThrottle())
})

t.test('memory is bounded', async (t) => {
  const { throttle } = setup({ maxEntries: 50 })
  for (let n = 0; n < 500; n++) throttle.recordFailure(`user${n}`, `10.1.${n >> 8}.${n & 255}`)
  t.ok(throttle.size() <= 50, `size ${throttle.size()}`)
  throttle.recordFailure('last', '10.9.9.9')
  t.ok(throttle.size() <= 50)
})

t.test('address normalization', async (t) => {
  t.equal(normalizeIp('203.0.113.7'), '203.0.113.7')
  t.equal(normalizeIp('::ffff:203.0.113.7'), '203.0.113.7')
  t.equal(normalizeIp('2001:DB8:0:1:aaaa:bbbb:cccc:dddd'), '2001:db8:0:1::/64')
  t.equal(normalizeIp('2001:db8:0:1::1'), '2001:db8:0:1::/64')
  t.equal(normalizeIp('2001:db8::1'), '2001:db8:0:0::/64')
  t.equal(normalizeIp('fe80::1%eth0'), 'fe80:0:0:0::/64')
  t.equal(normalizeIp('::1'), '0:0:0:0::/64')
  t.equal(normalizeIp('64:ff9b::192.0.2.33'), '64:ff9b:0:0::/64')

  const { throttle } = setup({ maxFailuresPerAccountAndIp: 3 })
  fail(throttle, 'alice', '2001:db8:0:1::1', 3)
  t.notOk(throttle.check('alice', '2001:db8:0:1::2').allowed, 'the same /64 counts together')
  t.ok(throttle.check('alice', '2001:db8:0:2::1').allowed, 'another /64 does not')
})

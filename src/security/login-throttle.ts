// Brute-force protection for the password grant (API.md, "Brute force").
//
// Three decaying failure counters are kept:
//   - per (account, source address): the tight one (default 10 per 15 min);
//   - per source address, over all accounts (default 100 per 15 min);
//   - per account, over all addresses: a high ceiling (default 1000 per
//     15 min) that only a distributed attack reaches.
// Each counter is a leaky bucket: a failure adds 1 and the level drains
// continuously, a full bucket (`limit` failures) in `windowMs`. An attempt is
// refused while one more failure would overflow a bucket; Retry-After is the
// time until it has drained by that much. So N quick failures are allowed,
// the next attempt meets 429, and afterwards the attacker gets one attempt
// every windowMs/N (90 s with the defaults); after windowMs without failures
// everything is forgotten. No wait is ever longer than maxBlockMs (<= 15 min).
//
// Lock-out of a victim from many addresses: only the per-account ceiling is
// shared between addresses, it is high, and an address that has logged in to
// the account successfully recently (a "trusted pair", trustedPairMs) is
// exempt from both the per-account and the per-address ceilings. It still
// obeys its own (account, address) counter.
//
// IPv6 addresses are counted per /64 (one subscriber usually owns a whole
// /64); IPv4-mapped IPv6 addresses count as their IPv4 address.
//
// The state lives in memory, per instance: several instances behind a load
// balancer each count on their own (an attacker spread over k instances gets
// up to k times the budget), and a restart forgets everything. Memory is
// bounded: at most maxEntries counters and maxEntries trusted pairs, expired
// entries are dropped lazily on each call (no timers), and beyond the cap the
// least recently updated entry is evicted.
//
// Intended use by the token route:
//   const verdict = throttle.check(username, request.ip)
//   if (!verdict.allowed) -> 429 with Retry-After: verdict.retryAfterSeconds
//   verify the password (verifyDummy for an unknown user), then
//   recordFailure(username, ip) on any failure (unknown user included) or
//   recordSuccess(username, ip) on success.
// check() does not reserve anything: requests racing in parallel may all pass
// it before their failures are recorded.
import { isIPv4, isIPv6 } from 'node:net'

export interface LoginThrottleOptions {
  /** failures allowed from one address on one account within windowMs */
  maxFailuresPerAccountAndIp: number
  /** failures allowed from one address over all accounts within windowMs */
  maxFailuresPerIp: number
  /** failures allowed on one account over all addresses within windowMs */
  maxFailuresPerAccount: number
  /** time for a full counter to drain back to zero */
  windowMs: number
  /** upper bound of any Retry-After, at most 15 minutes */
  maxBlockMs: number
  /** cap on the number of counters (and, separately, of trusted pairs) */
  maxEntries: number
  /** how long a successful (account, address) pair skips the shared ceilings; 0 disables */
  trustedPairMs: number
  /** clock, for tests */
  now: () => number
}

export type LoginThrottleVerdict =
  | { allowed: true }
  | { allowed: false, retryAfterSeconds: number }

export interface LoginThrottle {
  check (account: string, ip: string): LoginThrottleVerdict
  recordFailure (account: string, ip: string): void
  recordSuccess (account: string, ip: string): void
  /** number of entries held (counters plus trusted pairs) */
  size (): number
}

const MINUTE = 60_000
export const MAX_BLOCK_LIMIT_MS = 15 * MINUTE

export const DEFAULT_LOGIN_THROTTLE: Readonly<Omit<LoginThrottleOptions, 'now'>> = Object.freeze({
  maxFailuresPerAccountAndIp: 10,
  maxFailuresPerIp: 100,
  maxFailuresPerAccount: 1000,
  windowMs: 15 * MINUTE,
  maxBlockMs: 15 * MINUTE,
  maxEntries: 100_000,
  trustedPairMs: 30 * 24 * 60 * MINUTE
})

const MAX_ACCOUNT_KEY_LENGTH = 320
const MAX_IP_KEY_LENGTH = 64
const EPSILON = 1e-9

/** Lower-cased, trimmed, bounded in length. */
export function normalizeAccount (account: string): string {
  return String(account).trim().toLowerCase().slice(0, MAX_ACCOUNT_KEY_LENGTH)
}

/**
 * The key a source address is counted under: IPv4 as is, IPv4-mapped IPv6 as
 * its IPv4 address, other IPv6 addresses as their /64 prefix
 * ("2001:db8:0:1::/64"); anything else lower-cased and bounded in length.
 */
export function normalizeIp (ip: string): string {
  let value = String(ip).trim().toLowerCase()
  const zone = value.indexOf('%')
  if (zone >= 0) value = value.slice(0, zone)
  if (isIPv4(value)) return value
  if (value.startsWith('::ffff:') && isIPv4(value.slice(7))) return value.slice(7)
  if (isIPv6(value)) return ipv6Prefix64(value)
  return value.slice(0, MAX_IP_KEY_LENGTH)
}

function ipv6Prefix64 (address: string): string {
  const groupsOf = (part: string): string[] => part === ''
    ? []
    : part.split(':').flatMap((group) => group.includes('.') ? ['0', '0'] : [group])
  const gap = address.indexOf('::')
  let groups: string[]
  if (gap < 0) {
    groups = groupsOf(address)
  } else {
    const head = groupsOf(address.slice(0, gap))
    const tail = groupsOf(address.slice(gap + 2))
    groups = [...head, ...new Array<string>(8 - head.length - tail.length).fill('0'), ...tail]
  }
  return groups.slice(0, 4).map((group) => parseInt(group, 16).toString(16)).join(':') + '::/64'
}

interface Counter {
  /** bucket level at time `at` */
  level: number
  at: number
}

function validate (opts: LoginThrottleOptions): void {
  const positiveInteger = (name: keyof LoginThrottleOptions, value: unknown): void => {
    if (!Number.isSafeInteger(value) || (value as number) < 1) {
      throw new RangeError(`login throttle: ${name} must be a positive integer, got ${String(value)}`)
    }
  }
  positiveInteger('maxFailuresPerAccountAndIp', opts.maxFailuresPerAccountAndIp)
  positiveInteger('maxFailuresPerIp', opts.maxFailuresPerIp)
  positiveInteger('maxFailuresPerAccount', opts.maxFailuresPerAccount)
  positiveInteger('windowMs', opts.windowMs)
  positiveInteger('maxBlockMs', opts.maxBlockMs)
  positiveInteger('maxEntries', opts.maxEntries)
  if (!Number.isSafeInteger(opts.trustedPairMs) || opts.trustedPairMs < 0) {
    throw new RangeError(`login throttle: trustedPairMs must be a non-negative integer, got ${String(opts.trustedPairMs)}`)
  }
  if (opts.maxBlockMs < 1000 || opts.maxBlockMs > MAX_BLOCK_LIMIT_MS) {
    throw new RangeError(`login throttle: maxBlockMs must be between 1000 and ${MAX_BLOCK_LIMIT_MS}, got ${opts.maxBlockMs}`)
  }
  // Once blocked, a counter frees one attempt every windowMs / limit: that
  // must fit within maxBlockMs or a block could outlast it.
  const smallest = Math.min(opts.maxFailuresPerAccountAndIp, opts.maxFailuresPerIp, opts.maxFailuresPerAccount)
  if (opts.windowMs / smallest > opts.maxBlockMs) {
    throw new RangeError('login throttle: windowMs / (smallest limit) must not exceed maxBlockMs')
  }
  if (typeof opts.now !== 'function') throw new TypeError('login throttle: now must be a function')
}

export function createLoginThrottle (options: Partial<LoginThrottleOptions> = {}): LoginThrottle {
  const opts: LoginThrottleOptions = { ...DEFAULT_LOGIN_THROTTLE, now: Date.now, ...options }
  validate(opts)
  const { windowMs, maxEntries, trustedPairMs, now } = opts

  // Insertion order is kept as "least recently updated first": an entry is
  // deleted and re-inserted on every update. That gives O(1) eviction of the
  // oldest and cheap lazy expiry from the front.
  const counters = new Map<string, Counter>()
  const trusted = new Map<string, number>() // pair key -> trusted until

  const pairKey = (account: string, ip: string): string => 'p' + JSON.stringify([account, ip])
  const ipKey = (ip: string): string => 'i' + ip
  const accountKey = (account: string): string => 'a' + account

  const levelAt = (counter: Counter, limit: number, t: number): number => {
    const elapsed = Math.max(0, t - counter.at)
    return Math.max(0, counter.level - (elapsed * limit) / windowMs)
  }

  // A counter holds at most `limit` (see bump), so it is empty windowMs after
  // its last update; the map is ordered by last update, so expired entries
  // are all at the front.
  const prune = (t: number): void => {
    for (const [key, counter] of counters) {
      if (t - counter.at < windowMs) break
      counters.delete(key)
    }
    for (const [key, until] of trusted) {
      if (until > t) break
      trusted.delete(key)
    }
  }

  const bump = (key: string, limit: number, t: number): void => {
    const counter = counters.get(key)
    const level = counter === undefined ? 0 : levelAt(counter, limit, t)
    counters.delete(key)
    if (counters.size >= maxEntries) {
      const oldest = counters.keys().next()
      if (oldest.done !== true) counters.delete(oldest.value)
    }
    // Capped at the limit: failures recorded while already blocked (requests
    // that raced past check) do not lengthen the wait.
    counters.set(key, { level: Math.min(limit, level + 1), at: t })
  }

  /** ms until one more failure fits under `limit`; 0 when it fits now */
  const waitFor = (key: string, limit: number, t: number): number => {
    const counter = counters.get(key)
    if (counter === undefined) return 0
    const excess = levelAt(counter, limit, t) + 1 - limit
    return excess > EPSILON ? (excess * windowMs) / limit : 0
  }

  const isTrusted = (key: string, t: number): boolean => {
    const until = trusted.get(key)
    return until !== undefined && until > t
  }

  const maxRetrySeconds = Math.max(1, Math.floor(opts.maxBlockMs / 1000))

  return {
    check (account, ip) {
      const t = now()
      prune(t)
      const a = normalizeAccount(account)
      const i = normalizeIp(ip)
      const pair = pairKey(a, i)
      let wait = waitFor(pair, opts.maxFailuresPerAccountAndIp, t)
      if (!isTrusted(pair, t)) {
        wait = Math.max(
          wait,
          waitFor(ipKey(i), opts.maxFailuresPerIp, t),
          waitFor(accountKey(a), opts.maxFailuresPerAccount, t)
        )
      }
      if (wait <= 0) return { allowed: true }
      return { allowed: false, retryAfterSeconds: Math.min(maxRetrySeconds, Math.max(1, Math.ceil(wait / 1000))) }
    },

    recordFailure (account, ip) {
      const t = now()
      prune(t)
      const a = normalizeAccount(account)
      const i = normalizeIp(ip)
      bump(pairKey(a, i), opts.maxFailuresPerAccountAndIp, t)
      bump(ipKey(i), opts.maxFailuresPerIp, t)
      bump(accountKey(a), opts.maxFailuresPerAccount, t)
    },

    recordSuccess (account, ip) {
      const t = now()
      prune(t)
      const pair = pairKey(normalizeAccount(account), normalizeIp(ip))
      // Only the pair's own counter is cleared: logging in to one's own
      // account must not reset the address's or the account's totals.
      counters.delete(pair)
      if (trustedPairMs > 0) {
        trusted.delete(pair)
        if (trusted.size >= maxEntries) {
          const oldest = trusted.keys().next()
          if (oldest.done !== true) trusted.delete(oldest.value)
        }
        trusted.set(pair, t + trustedPairMs)
      }
    },

    size () {
      prune(now())
      return counters.size + trusted.size
    }
  }
}

import { normalizeIP } from '@fastify/rate-limit'
import type { Redis } from 'ioredis'
import { RateLimiterMemory, RateLimiterRedis, type RateLimiterAbstract } from 'rate-limiter-flexible'

/**
 * Brute-force limits for password logins (API.md, "Brute force"), after rate-limiter-flexible's
 * login recipe: consecutive failures per (account, source address), and failures per source
 * address over all accounts. The account is its id, so an account's username and e-mail forms
 * share one budget; a login name that matches no account is counted under that name. With
 * Redis the counters are shared by every instance, and an instance whose Redis is unreachable
 * counts in memory until it is back (the insurance limiter).
 *
 * Each counter is a fixed window of `blockSeconds`: the window's N-th failure blocks further
 * attempts until the window ends, so no block outlasts it (at most 15 minutes). A success
 * clears the (account, address) counter, not the address's total.
 * @see https://github.com/animir/node-rate-limiter-flexible/wiki/Overall-example#login-endpoint-protection
 */
export interface LoginLimitsOptions {
  maxFailuresPerAccountAndIp: number
  maxFailuresPerIp: number
  blockSeconds: number
  redis: Redis | null
  keyPrefix: string
}

export type LoginVerdict = { allowed: true } | { allowed: false, retryAfterSeconds: number }

export interface LoginLimits {
  check: (account: string, ip: string) => Promise<LoginVerdict>
  recordFailure: (account: string, ip: string) => Promise<void>
  recordSuccess: (account: string, ip: string) => Promise<void>
  /**
   * Second-factor failures per account over all addresses (only someone who knows the password
   * gets that far, so this budget cannot be used to lock a stranger out); a TOTP guess also
   * counts as a login failure of (account, address) and of the address.
   */
  checkSecondFactor: (account: string) => Promise<LoginVerdict>
  recordSecondFactorFailure: (account: string, ip: string) => Promise<void>
}

/**
 * The key a source address is counted under (the rate limit's own normalization): IPv4-mapped
 * IPv6 as its IPv4 address, other IPv6 addresses by their /64 (one subscriber usually owns one).
 */
export const normalizeIp = (ip: string): string => normalizeIP(ip, 64)

export function createLoginLimits (opts: LoginLimitsOptions): LoginLimits {
  const limiter = (name: string, points: number): RateLimiterAbstract => {
    const base = { keyPrefix: `${opts.keyPrefix}login:${name}`, points, duration: opts.blockSeconds }
    if (opts.redis === null) return new RateLimiterMemory(base)
    return new RateLimiterRedis({ ...base, storeClient: opts.redis, rejectIfRedisNotReady: true, insuranceLimiter: new RateLimiterMemory(base) })
  }
  const pairs = limiter('pair', opts.maxFailuresPerAccountAndIp)
  const addresses = limiter('ip', opts.maxFailuresPerIp)
  const secondFactor = limiter('otp', opts.maxFailuresPerAccountAndIp)
  const pairKey = (account: string, ip: string) => `${account}|${normalizeIp(ip)}`

  /** ms until the limiter lets one more failure through for `key`; 0 when it would now */
  const waitOf = async (rl: RateLimiterAbstract, key: string): Promise<number> => {
    const res = await rl.get(key)
    return res !== null && res.consumedPoints >= rl.points ? res.msBeforeNext : 0
  }

  return {
    async check (account, ip) {
      const [pair, address] = await Promise.all([waitOf(pairs, pairKey(account, ip)), waitOf(addresses, normalizeIp(ip))])
      const wait = Math.max(pair, address)
      if (wait <= 0) return { allowed: true }
      return { allowed: false, retryAfterSeconds: Math.min(opts.blockSeconds, Math.max(1, Math.ceil(wait / 1000))) }
    },
    async recordFailure (account, ip) {
      await Promise.all([pairs.penalty(pairKey(account, ip), 1), addresses.penalty(normalizeIp(ip), 1)])
    },
    async recordSuccess (account, ip) {
      await pairs.delete(pairKey(account, ip))
    },
    async checkSecondFactor (account) {
      const wait = await waitOf(secondFactor, account)
      if (wait <= 0) return { allowed: true }
      return { allowed: false, retryAfterSeconds: Math.min(opts.blockSeconds, Math.max(1, Math.ceil(wait / 1000))) }
    },
    async recordSecondFactorFailure (account, ip) {
      await Promise.all([secondFactor.penalty(account, 1), pairs.penalty(pairKey(account, ip), 1), addresses.penalty(normalizeIp(ip), 1)])
    }
  }
}

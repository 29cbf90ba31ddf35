// Password hashing (argon2id) and the password policy.
//
// Policy (API.md, "Passwords"): 8 to 128 characters counted as Unicode code
// points, any Unicode, no composition rules; the most common passwords and
// passwords equal to the account's own username, email or email local part
// are refused with WEAK_PASSWORD.
//
// "Common" means zxcvbn-ts's list of passwords found in real breaches
// (@zxcvbn-ts/language-common, `passwords-common`, ~49k entries), a list entry
// followed by a year ("summer2024": the list predates the recent years), and
// one keyboard character typed over and over ("aaaaaaaa": runs longer than
// the list keeps).
import { randomBytes } from 'node:crypto'
import argon2, { type HashOptions } from 'argon2'
import pLimit from 'p-limit'
import { dictionary } from '@zxcvbn-ts/language-common'

export interface Argon2Params {
  /** memory in KiB */
  memoryCost: number
  /** iterations */
  timeCost: number
  /** lanes */
  parallelism: number
}

/** OWASP's minimum recommendation for argon2id, also the service's floor. */
export const OWASP_ARGON2: Argon2Params = Object.freeze({ memoryCost: 19456, timeCost: 2, parallelism: 1 })

// Upper bounds only guard against obvious configuration mistakes (argon2
// itself refuses anything larger): 4 GiB, 100 passes, 64 lanes.
const MAX_PARAMS: Argon2Params = { memoryCost: 4 * 1024 * 1024, timeCost: 100, parallelism: 64 }

export interface PasswordHasher {
  /** An argon2id PHC string with the configured parameters. */
  hash (password: string): Promise<string>
  /** True when `password` matches `hash`; false for a mismatch or a malformed hash, never throws. */
  verify (hash: string, password: string): Promise<boolean>
  /** True when the stored hash is not argon2id (v1.3) or any of m, t, p is below the configured value. */
  needsRehash (hash: string): boolean
  /**
   * Runs one verification against a hash of a random secret, so that a login
   * for an unknown account costs about as much as one with a wrong password.
   */
  verifyDummy (password: string): Promise<false>
}

export function validateArgon2Params (params: Argon2Params): void {
  for (const key of ['memoryCost', 'timeCost', 'parallelism'] as const) {
    const value = params[key]
    if (!Number.isSafeInteger(value)) {
      throw new TypeError(`argon2 ${key} must be an integer, got ${String(value)}`)
    }
    if (value < OWASP_ARGON2[key]) {
      throw new RangeError(`argon2 ${key} ${value} is below the OWASP minimum ${OWASP_ARGON2[key]}`)
    }
    if (value > MAX_PARAMS[key]) {
      throw new RangeError(`argon2 ${key} ${value} is above the supported maximum ${MAX_PARAMS[key]}`)
    }
  }
}

interface ParsedHash {
  type: string
  version: number
  memoryCost: number
  timeCost: number
  parallelism: number
}

// PHC string: $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>. The parameters
// may come in any order (node-argon2 writes m,p,t); very old hashes may lack
// the v= part, which then means version 0x10.
const B64 = /^[A-Za-z0-9+/]+$/
const DECIMAL = /^\d{1,10}$/

function parseHash (hash: string): ParsedHash | undefined {
  if (typeof hash !== 'string' || hash.length > 1024) return undefined
  const parts = hash.split('$')
  if (parts.length === 5) parts.splice(2, 0, 'v=16')
  if (parts.length !== 6 || parts[0] !== '') return undefined
  const [, type, versionPart, paramsPart, salt, digest] = parts
  if (type !== 'argon2id' && type !== 'argon2i' && type !== 'argon2d') return undefined
  const version = versionPart.startsWith('v=') ? versionPart.slice(2) : ''
  if (!DECIMAL.test(version) || !B64.test(salt) || !B64.test(digest)) return undefined
  const params = new Map<string, string>()
  for (const pair of paramsPart.split(',')) {
    const eq = pair.indexOf('=')
    if (eq <= 0) return undefined
    params.set(pair.slice(0, eq), pair.slice(eq + 1))
  }
  const m = params.get('m')
  const t = params.get('t')
  const p = params.get('p')
  if (m === undefined || t === undefined || p === undefined) return undefined
  if (!DECIMAL.test(m) || !DECIMAL.test(t) || !DECIMAL.test(p)) return undefined
  return { type, version: Number(version), memoryCost: Number(m), timeCost: Number(t), parallelism: Number(p) }
}

export function createPasswordHasher (params: Argon2Params = OWASP_ARGON2, opts: { maxConcurrent?: number } = {}): PasswordHasher {
  validateArgon2Params(params)
  const options: HashOptions = {
    type: argon2.argon2id,
    memoryCost: params.memoryCost,
    timeCost: params.timeCost,
    parallelism: params.parallelism
  }
  // At most `maxConcurrent` argon2 jobs at once; the rest wait in line (first come, first
  // served). argon2 runs on libuv's threadpool: unbounded, a login flood would put four threads
  // of hashing against the event loop and starve every other route (bench/README.md, scenario G).
  // Bounding it also bounds memory (m KiB a job).
  const limit = pLimit(opts.maxConcurrent ?? 1)

  const hash = (password: string): Promise<string> => limit(() => argon2.hash(password, options))

  const verify = async (stored: string, password: string): Promise<boolean> => {
    if (typeof password !== 'string' || parseHash(stored) === undefined) return false
    try {
      return await limit(() => argon2.verify(stored, password))
    } catch {
      return false
    }
  }

  const needsRehash = (stored: string): boolean => {
    const parsed = parseHash(stored)
    if (parsed === undefined) return true
    return parsed.type !== 'argon2id' ||
      parsed.version < 0x13 ||
      parsed.memoryCost < params.memoryCost ||
      parsed.timeCost < params.timeCost ||
      parsed.parallelism < params.parallelism
  }

  // Made on first use and shared by concurrent callers; a failed attempt is
  // forgotten so that the next call tries again.
  let dummy: Promise<string> | undefined
  const dummyHash = (): Promise<string> => {
    dummy ??= hash(randomBytes(32).toString('base64url')).catch((err: unknown) => {
      dummy = undefined
      throw err
    })
    return dummy
  }

  const verifyDummy = async (password: string): Promise<false> => {
    try {
      const stored = await dummyHash()
      await limit(() => argon2.verify(stored, typeof password === 'string' ? password : ''))
    } catch {
      // the outcome is always "no match"
    }
    return false
  }

  return { hash, verify, needsRehash, verifyDummy }
}

export const PASSWORD_MIN_LENGTH = 8
export const PASSWORD_MAX_LENGTH = 128

export type PasswordPolicyResult =
  | { ok: true }
  | { ok: false, code: 'WEAK_PASSWORD', message: string }

export interface PasswordContext {
  email?: string
  username?: string
}

let commonPasswords: Set<string> | undefined

const fold = (value: string): string => value.normalize('NFKC').toLowerCase()

/** The list of breached passwords (folded like a candidate password), built once on first use. */
export function loadCommonPasswords (): ReadonlySet<string> {
  commonPasswords ??= new Set(dictionary['passwords-common'].map((entry) => fold(entry).trim()).filter((entry) => entry !== ''))
  return commonPasswords
}

const WITH_YEAR = /^(.+)(?:19|20)\d\d$/u
const ONE_KEY_REPEATED = /^([!-~])\1*$/

export function isCommonPassword (password: string): boolean {
  const folded = fold(password)
  const list = loadCommonPasswords()
  if (list.has(folded) || ONE_KEY_REPEATED.test(folded)) return true
  const base = WITH_YEAR.exec(folded)?.[1]
  return base !== undefined && list.has(base)
}

/**
 * Length in Unicode code points (an emoji or any astral character counts as
 * one, as when iterating a string), counting no further than `limit`.
 */
export function countCodePoints (value: string, limit = Infinity): number {
  let count = 0
  for (let i = 0; i < value.length && count < limit; count++) {
    i += (value.codePointAt(i) as number) > 0xffff ? 2 : 1
  }
  return count
}

const weak = (message: string): PasswordPolicyResult => ({ ok: false, code: 'WEAK_PASSWORD', message })

export function checkPasswordPolicy (password: string, context: PasswordContext = {}): PasswordPolicyResult {
  if (typeof password !== 'string') return weak('password must be a string')
  const length = countCodePoints(password, PASSWORD_MAX_LENGTH + 1)
  if (length < PASSWORD_MIN_LENGTH) {
    return weak(`password must be at least ${PASSWORD_MIN_LENGTH} characters long`)
  }
  if (length > PASSWORD_MAX_LENGTH) {
    return weak(`password must be at most ${PASSWORD_MAX_LENGTH} characters long`)
  }
  if (isCommonPassword(password)) return weak('password is too common')

  const folded = fold(password)
  const personal: string[] = []
  if (typeof context.username === 'string') personal.push(context.username)
  if (typeof context.email === 'string') {
    personal.push(context.email)
    const at = context.email.lastIndexOf('@')
    if (at > 0) personal.push(context.email.slice(0, at))
  }
  for (const value of personal) {
    const candidate = fold(value.trim())
    if (candidate !== '' && candidate === folded) {
      return weak('password must not be the same as your username or email')
    }
  }
  return { ok: true }
}

import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { createLoginLimits, type LoginVerdict } from '../security/login-limits.js'
import { isTotpCode, normalizeRecoveryCode, totpStep } from '../security/totp.js'
import { seal, unseal } from '../lib/sealed.js'
import type { LoginUser } from '../repositories/users.js'

/**
 * Sign-in checks shared by the password grant and the sign-in page, so that both count failures
 * against one budget and answer alike: a wrong password, an unknown user and a disabled user are
 * the same `invalid` answer in about the same time. A login is two calls when the user has
 * two-factor on: `verifyPassword`, then `verifySecondFactor`; `succeeded` clears the failure
 * count only once the whole login has succeeded (a right password must not reset the budget of
 * TOTP guesses).
 */
export type PasswordCheck =
  | { ok: true, user: LoginUser, account: string, mfa: boolean }
  | { ok: false, reason: 'invalid' }
  | { ok: false, reason: 'throttled', retryAfterSeconds: number }

export type SecondFactorCheck =
  | { ok: true, method: 'otp' | 'recovery' }
  | { ok: false, reason: 'invalid' }
  | { ok: false, reason: 'throttled', retryAfterSeconds: number }

const TOTP_INFO = 'warden-totp-secrets'

declare module 'fastify' {
  interface FastifyInstance {
    login: {
      /** Verifies a login name (username or e-mail) and password, counting failures; audited. */
      verifyPassword: (request: FastifyRequest, username: string, password: string) => Promise<PasswordCheck>
      /** Verifies a TOTP code (each time step once) or a recovery code (once), counting failures; audited. */
      verifySecondFactor: (request: FastifyRequest, userId: string, code: string) => Promise<SecondFactorCheck>
      /** Whether second-factor attempts are allowed now, and counting a failed one (TOTP confirmation). */
      secondFactorBudget: (request: FastifyRequest, userId: string) => Promise<LoginVerdict>
      secondFactorFailed: (request: FastifyRequest, userId: string) => Promise<void>
      /** The whole login succeeded: the (account, address) failure count starts again. */
      succeeded: (request: FastifyRequest, account: string) => Promise<void>
      /** A TOTP secret as stored (sealed when KEY_ENCRYPTION_SECRET is set). */
      sealTotpSecret: (userId: string, secret: string) => { secret: string, encrypted: boolean }
      openTotpSecret: (userId: string, stored: { secret: string, encrypted: boolean }) => string
    }
  }
}

export default fp(async function loginPlugin (app: FastifyInstance) {
  const { config } = app
  const limits = createLoginLimits({
    maxFailuresPerAccountAndIp: config.loginThrottle.maxFailuresPerAccountAndIp,
    maxFailuresPerIp: config.loginThrottle.maxFailuresPerIp,
    blockSeconds: config.loginThrottle.blockSeconds,
    redis: app.redis,
    keyPrefix: config.redisKeyPrefix
  })

  async function verifyPassword (request: FastifyRequest, username: string, password: string): Promise<PasswordCheck> {
    const login = username.trim().toLowerCase()
    const user = await app.usersRepository.findByLogin(login)
    // counted per account, whichever of its names is used; a name that matches none, per name
    const account = user?.id ?? 'name:' + login.slice(0, 320)
    const verdict = await limits.check(account, request.ip)
    if (!verdict.allowed) return { ok: false, reason: 'throttled', retryAfterSeconds: verdict.retryAfterSeconds }
    const ok = user ? await app.passwords.verify(user.passwordHash, password) : await app.passwords.verifyDummy(password)
    if (!user || !ok || !user.isActive) {
      await limits.recordFailure(account, request.ip)
      app.audit.record(request, { action: 'auth.login', outcome: 'failure', targetType: 'user', targetId: user?.id ?? null, detail: 'invalid credentials' })
      return { ok: false, reason: 'invalid' }
    }
    if (app.passwords.needsRehash(user.passwordHash)) {
      // the same password, re-hashed: the credentials version stays
      const passwordHash = await app.passwords.hash(password)
      await app.usersRepository.rehash(user, passwordHash)
    }
    const mfa = await app.mfaRepository.enabled(user.id)
    if (!mfa) await limits.recordSuccess(account, request.ip)
    return { ok: true, user, account, mfa }
  }

  const openTotpSecret = (userId: string, stored: { secret: string, encrypted: boolean }) => {
    if (!stored.encrypted) return stored.secret
    if (config.keyEncryptionSecret === null) throw new Error('a TOTP secret is encrypted but KEY_ENCRYPTION_SECRET is not set')
    return unseal(stored.secret, config.keyEncryptionSecret, TOTP_INFO, userId)
  }

  async function secondFactorBudget (request: FastifyRequest, userId: string): Promise<LoginVerdict> {
    const [pair, account] = await Promise.all([limits.check(userId, request.ip), limits.checkSecondFactor(userId)])
    return [pair, account].find(v => !v.allowed) ?? { allowed: true }
  }

  async function secondFactorFailed (request: FastifyRequest, userId: string) {
    await limits.recordSecondFactorFailure(userId, request.ip)
    app.audit.record(request, { action: 'auth.mfa', outcome: 'failure', targetType: 'user', targetId: userId, detail: 'invalid second factor' })
  }

  async function verifySecondFactor (request: FastifyRequest, userId: string, code: string): Promise<SecondFactorCheck> {
    const budget = await secondFactorBudget(request, userId)
    if (!budget.allowed) return { ok: false, reason: 'throttled', retryAfterSeconds: budget.retryAfterSeconds }
    const totp = await app.mfaRepository.totpOf(userId)
    let method: 'otp' | 'recovery' | null = null
    if (totp !== null && totp.confirmedAt !== null) {
      if (isTotpCode(code)) {
        const step = totpStep(openTotpSecret(userId, totp), code)
        // a code is accepted once: a step at or before the last one used is a replay
        if (step !== null && await app.mfaRepository.useStep(userId, step)) method = 'otp'
      } else {
        const recovery = normalizeRecoveryCode(code)
        if (recovery !== null && await app.mfaRepository.useRecoveryCode(userId, recovery)) method = 'recovery'
      }
    }
    if (method === null) {
      await secondFactorFailed(request, userId)
      return { ok: false, reason: 'invalid' }
    }
    if (method === 'recovery') app.audit.record(request, { action: 'auth.mfa', outcome: 'success', targetType: 'user', targetId: userId, detail: 'recovery code used' })
    return { ok: true, method }
  }

  app.decorate('login', {
    verifyPassword,
    verifySecondFactor,
    secondFactorBudget,
    secondFactorFailed,
    succeeded: (request: FastifyRequest, account: string) => limits.recordSuccess(account, request.ip),
    sealTotpSecret: (userId: string, secret: string) => config.keyEncryptionSecret === null
      ? { secret, encrypted: false }
      : { secret: seal(secret, config.keyEncryptionSecret, TOTP_INFO, userId), encrypted: true },
    openTotpSecret
  })
}, { name: 'login', dependencies: ['config', 'repositories', 'passwords', 'audit', 'redis'] })

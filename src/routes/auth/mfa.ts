import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { Conflict, InvalidOtp, InvalidPassword, NotFound, RateLimited } from '../../errors.js'
import { errorResponses, protectedErrors, withNotFound } from '../../schemas/common.js'
import { named, ref } from '../../schemas/registry.js'
import { enrolment, newRecoveryCodes, newTotpSecret, normalizeRecoveryCode, totpStep } from '../../security/totp.js'

export const TotpEnrolmentSchema = named('TotpEnrolment', Type.Object({
  secret: Type.String({ description: 'the shared secret, base32 (for typing into an authenticator by hand)' }),
  otpauthUri: Type.String({ description: 'otpauth://totp/... for authenticator apps' }),
  qrSvg: Type.String({ description: 'the otpauth URI as a QR code, an SVG document' })
}, { description: 'A pending TOTP authenticator: confirm it with a first code' }))

export const RecoveryCodesSchema = named('RecoveryCodes', Type.Object({
  recoveryCodes: Type.Array(Type.String(), { minItems: 10, maxItems: 10, description: 'each works once in place of a code; shown only now' })
}, { description: 'Two-factor authentication is on' }))

export const MfaStatusSchema = named('MfaStatus', Type.Object({
  totp: Type.Boolean({ description: 'a confirmed authenticator is required at sign-in' }),
  recoveryCodesLeft: Type.Integer({ minimum: 0 })
}, { description: 'The caller\'s two-factor state' }))

const ConfirmTotpBodySchema = named('ConfirmTotpRequest', Type.Object({
  code: Type.String({ maxLength: 16, description: 'the authenticator\'s current 6-digit code' })
}, { additionalProperties: false }))

const DisableTotpBodySchema = named('DisableTotpRequest', Type.Object({
  password: Type.String({ maxLength: 512, description: 'the caller\'s password' })
}, { additionalProperties: false }))

const TAGS = ['auth']
const user = { authenticated: true, principal: 'user' } as const

/** Two-factor authentication (TOTP, RFC 6238): enrolment, confirmation, status, disable (API.md). */
const mfaRoutes: FastifyPluginAsyncTypebox = async app => {
  app.get('/mfa', {
    config: user,
    schema: {
      tags: TAGS,
      operationId: 'getMfa',
      summary: 'The caller\'s two-factor state',
      description: 'Whether a confirmed TOTP authenticator is on, and how many recovery codes are unused.',
      response: { 200: ref(MfaStatusSchema), ...protectedErrors }
    }
  }, async request => {
    const userId = request.principal!.sub
    const [totp, recoveryCodesLeft] = await Promise.all([app.mfaRepository.enabled(userId), app.mfaRepository.recoveryCodesLeft(userId)])
    return { totp, recoveryCodesLeft }
  })

  app.post('/mfa/totp', {
    config: user,
    schema: {
      tags: TAGS,
      operationId: 'enrolTotp',
      summary: 'Start TOTP enrolment',
      description: 'A new pending authenticator (replacing a pending one): the secret, its otpauth:// URI and a QR code. It takes effect when confirmed with a first code. 409 when an authenticator is on already (disable it first).',
      response: { 201: ref(TotpEnrolmentSchema), ...protectedErrors, 409: errorResponses[409] }
    }
  }, async (request, reply) => {
    const userId = request.principal!.sub
    const found = await app.usersRepository.find(userId)
    if (found === null) throw new NotFound('user not found')
    const secret = newTotpSecret()
    const stored = app.login.sealTotpSecret(userId, secret)
    if (!await app.mfaRepository.enrol(userId, stored.secret, stored.encrypted)) throw new Conflict('two-factor authentication is on already; disable it first')
    const { otpauthUri, qrSvg } = await enrolment(secret, found.email)
    app.audit.record(request, { action: 'user.mfa_enrol', outcome: 'success', targetType: 'user', targetId: userId })
    reply.header('cache-control', 'no-store')
    return reply.code(201).send({ secret, otpauthUri, qrSvg })
  })

  app.post('/mfa/totp/confirm', {
    config: user,
    schema: {
      tags: TAGS,
      operationId: 'confirmTotp',
      summary: 'Confirm TOTP enrolment with a first code',
      description: 'Turns two-factor authentication on and returns 10 recovery codes, shown only now (stored hashed). A wrong code is 400 INVALID_OTP and counts toward the login limits; 404 when no enrolment is pending.',
      body: ref(ConfirmTotpBodySchema),
      response: { 200: ref(RecoveryCodesSchema), ...withNotFound }
    }
  }, async (request, reply) => {
    const userId = request.principal!.sub
    const totp = await app.mfaRepository.totpOf(userId)
    if (totp === null || totp.confirmedAt !== null) throw new NotFound('no TOTP enrolment is pending')
    const budget = await app.login.secondFactorBudget(request, userId)
    if (!budget.allowed) throw new RateLimited('Too many failed attempts; try again later', budget.retryAfterSeconds)
    const step = totpStep(app.login.openTotpSecret(userId, totp), request.body.code)
    const codes = newRecoveryCodes()
    if (step === null || !await app.mfaRepository.confirm(userId, step, codes.map(c => normalizeRecoveryCode(c)!))) {
      await app.login.secondFactorFailed(request, userId)
      throw new InvalidOtp('the code is not right (check the device\'s clock), or was used already')
    }
    app.audit.record(request, { action: 'user.mfa_on', outcome: 'success', targetType: 'user', targetId: userId })
    reply.header('cache-control', 'no-store')
    return { recoveryCodes: codes }
  })

  app.delete('/mfa/totp', {
    config: user,
    schema: {
      tags: TAGS,
      operationId: 'disableTotp',
      summary: 'Turn two-factor authentication off',
      description: 'Needs the caller\'s password (400 INVALID_PASSWORD otherwise). Removes the authenticator and the recovery codes. 404 when none is set up.',
      body: ref(DisableTotpBodySchema),
      response: { 204: { description: 'Off', type: 'null' }, ...withNotFound }
    }
  }, async (request, reply) => {
    const userId = request.principal!.sub
    const found = await app.usersRepository.find(userId)
    if (found === null) throw new NotFound('user not found')
    if (!await app.passwords.verify(found.passwordHash, request.body.password)) {
      app.audit.record(request, { action: 'user.mfa_off', outcome: 'failure', targetType: 'user', targetId: userId, detail: 'wrong password' })
      throw new InvalidPassword('the password is wrong')
    }
    if (!await app.mfaRepository.remove(userId)) throw new NotFound('two-factor authentication is not set up')
    app.audit.record(request, { action: 'user.mfa_off', outcome: 'success', targetType: 'user', targetId: userId })
    return reply.code(204).send()
  })
}

export default mfaRoutes

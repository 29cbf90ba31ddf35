import t from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { eq } from 'drizzle-orm'
import { decodeJwt } from 'jose'
import { userTotp } from '../../src/db/schema/index.js'
import { totpCode } from '../../src/security/totp.js'
import { bearer, buildListening, loginAdmin, newUser } from '../helper.js'
import { BrowserSim, hiddenFields } from '../lib/browser-sim.js'

/**
 * Two-factor authentication (TOTP, RFC 6238): enrolment, confirmation, the password grant's
 * `otp` and `mfa_required`, replay refusal, recovery codes, brute-force throttling shared with
 * password failures, the sign-in page's second step, disable and admin reset.
 */

const KEY_SECRET = 'k'.repeat(40)
const { app, issuer } = await buildListening(t, { LOGIN_MAX_FAILURES: '4', KEY_ENCRYPTION_SECRET: KEY_SECRET })
const admin = await loginAdmin(app)

const STEP = 30_000
async function passwordGrant (username: string, password: string, otp?: string) {
  const fields: Record<string, string> = { grant_type: 'password', username, password }
  if (otp !== undefined) fields.otp = otp
  const res = await app.inject({ method: 'POST', url: '/v1/auth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(fields).toString() })
  return { status: res.statusCode, body: res.json() as Record<string, string> }
}

/** A user with TOTP on: their secret, recovery codes and the time of the step the confirmation used. */
async function withTotp () {
  const user = await newUser(app)
  const enrol = await app.inject({ method: 'POST', url: '/v1/auth/mfa/totp', headers: bearer(user.token) })
  const { secret } = enrol.json() as { secret: string }
  const now = Date.now()
  const confirm = await app.inject({ method: 'POST', url: '/v1/auth/mfa/totp/confirm', headers: bearer(user.token), payload: { code: totpCode(secret, now) } })
  if (confirm.statusCode !== 200) throw new Error(`confirm: ${confirm.statusCode} ${confirm.body}`)
  return { ...user, secret, recoveryCodes: (confirm.json() as { recoveryCodes: string[] }).recoveryCodes, confirmedAt: now }
}

t.test('enrolment: a pending secret with its otpauth URI and QR code, confirmed by a first code', async t => {
  const user = await newUser(app)
  let res = await app.inject({ method: 'GET', url: '/v1/auth/mfa', headers: bearer(user.token) })
  t.same(res.json(), { totp: false, recoveryCodesLeft: 0 })

  res = await app.inject({ method: 'POST', url: '/v1/auth/mfa/totp', headers: bearer(user.token) })
  t.equal(res.statusCode, 201)
  t.equal(res.headers['cache-control'], 'no-store')
  const body = res.json() as { secret: string, otpauthUri: string, qrSvg: string }
  t.match(body.secret, /^[A-Z2-7]{32}$/, '160 bits, base32')
  const uri = new URL(body.otpauthUri)
  t.equal(uri.protocol, 'otpauth:')
  t.equal(uri.host, 'totp')
  t.equal(uri.searchParams.get('secret'), body.secret)
  t.equal(uri.searchParams.get('issuer'), 'Warden')
  t.equal(uri.searchParams.get('digits'), '6')
  t.equal(uri.searchParams.get('period'), '30')
  t.match(body.qrSvg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/)

  // sealed at rest with KEY_ENCRYPTION_SECRET
  const [row] = await app.db.select().from(userTotp).where(eq(userTotp.userId, user.id))
  t.equal(row.encrypted, true)
  t.notOk(row.secret.includes(body.secret), 'the stored secret is not the secret')

  res = await app.inject({ method: 'POST', url: '/v1/auth/mfa/totp/confirm', headers: bearer(user.token), payload: { code: totpCode(body.secret) === '000000' ? '111111' : '000000' } })
  t.equal(res.statusCode, 400)
  t.equal(res.json().code, 'INVALID_OTP')
  t.same((await app.inject({ method: 'GET', url: '/v1/auth/mfa', headers: bearer(user.token) })).json(), { totp: false, recoveryCodesLeft: 0 }, 'still off')

  res = await app.inject({ method: 'POST', url: '/v1/auth/mfa/totp/confirm', headers: bearer(user.token), payload: { code: totpCode(body.secret) } })
  t.equal(res.statusCode, 200)
  const codes = (res.json() as { recoveryCodes: string[] }).recoveryCodes
  t.equal(codes.length, 10)
  t.equal(new Set(codes).size, 10)
  for (const c of codes) t.match(c, /^[a-z2-9]{5}-[a-z2-9]{5}$/)
  t.same((await app.inject({ method: 'GET', url: '/v1/auth/mfa', headers: bearer(user.token) })).json(), { totp: true, recoveryCodesLeft: 10 })
  res = await app.inject({ method: 'POST', url: '/v1/auth/mfa/totp', headers: bearer(user.token) })
  t.equal(res.statusCode, 409, 'on already')
  res = await app.inject({ method: 'POST', url: '/v1/auth/mfa/totp/confirm', headers: bearer(user.token), payload: { code: totpCode(body.secret) } })
  t.equal(res.statusCode, 404, 'nothing pending')
})

t.test('the password grant: mfa_required, a wrong code, replay refused, amr', async t => {
  const user = await withTotp()
  let res = await passwordGrant(user.username, user.password)
  t.equal(res.status, 400)
  t.equal(res.body.error, 'mfa_required')
  t.ok(res.body.error_description)
  res = await passwordGrant(user.username, 'wrong-password', totpCode(user.secret))
  t.equal(res.body.error, 'invalid_grant', 'the password is checked first')
  res = await passwordGrant(user.username, user.password, totpCode(user.secret) === '123456' ? '654321' : '123456')
  t.equal(res.body.error, 'invalid_grant')
  // the confirmation spent the current step: the same code again is a replay
  res = await passwordGrant(user.username, user.password, totpCode(user.secret, user.confirmedAt))
  t.equal(res.body.error, 'invalid_grant', 'a code is accepted once')
  const next = totpCode(user.secret, user.confirmedAt + STEP)
  res = await passwordGrant(user.username, user.password, next)
  t.equal(res.status, 200, 'the next step\'s code (one step of skew)')
  const claims = decodeJwt(res.body.access_token)
  t.same(claims.amr, ['pwd', 'otp'])
  t.type(claims.auth_time, 'number')
  res = await passwordGrant(user.username, user.password, next)
  t.equal(res.body.error, 'invalid_grant', 'replay of that code')
})

t.test('recovery codes work once each', async t => {
  const user = await withTotp()
  const [first, second] = user.recoveryCodes
  let res = await passwordGrant(user.username, user.password, first.toUpperCase())
  t.equal(res.status, 200, 'case and separator do not matter')
  res = await passwordGrant(user.username, user.password, first)
  t.equal(res.body.error, 'invalid_grant', 'used')
  res = await passwordGrant(user.username, user.password, second.replace('-', ''))
  t.equal(res.status, 200)
  const mfa = await app.inject({ method: 'GET', url: '/v1/auth/mfa', headers: bearer(res.body.access_token) })
  t.same(mfa.json(), { totp: true, recoveryCodesLeft: 8 })
})

t.test('guessing codes is throttled like passwords, even with the right code after', async t => {
  const user = await withTotp()
  const wrong = (i: number) => String((Number(totpCode(user.secret)) + 100_000 + i) % 1_000_000).padStart(6, '0')
  for (let i = 0; i < 4; i++) {
    const res = await passwordGrant(user.username, user.password, wrong(i))
    t.equal(res.body.error, 'invalid_grant')
  }
  const res = await app.inject({ method: 'POST', url: '/v1/auth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ grant_type: 'password', username: user.username, password: user.password, otp: totpCode(user.secret, user.confirmedAt + STEP) }).toString() })
  t.equal(res.statusCode, 429, 'blocked')
  t.ok(Number(res.headers['retry-after']) > 0)
})

t.test('the sign-in page asks for the code in a second step that never carries the password', async t => {
  const user = await withTotp()
  const created = await app.inject({
    method: 'POST',
    url: '/v1/clients',
    headers: bearer(admin.access_token),
    payload: { name: 'MFA SPA', type: 'public', firstParty: true, scopes: ['posts:read'], grantTypes: ['authorization_code'], redirectUris: ['http://127.0.0.1/cb'] }
  })
  const spa = created.json() as { id: string }
  const verifier = randomBytes(32).toString('base64url')
  const url = new URL('/v1/auth/authorize', issuer)
  for (const [k, v] of Object.entries({ response_type: 'code', client_id: spa.id, redirect_uri: 'http://127.0.0.1/cb', scope: 'openid', state: 's', code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256' })) url.searchParams.set(k, v)
  const browser = new BrowserSim()
  let res = await browser.go(url)
  const page = await (await browser.go(new URL(res.headers.get('location')!, issuer))).text()
  res = await browser.submit(new URL('/signin', issuer), { ...hiddenFields(page), username: user.username, password: user.password })
  t.equal(res.status, 200)
  const step = await res.text()
  t.match(step, /<label for="otp">/)
  t.match(step, /autocomplete="one-time-code"/)
  t.notOk(step.includes(user.password), 'the password is not in the page')
  t.notOk(browser.cookies.has('__Host-warden_session'), 'not signed in yet')
  res = await browser.submit(new URL('/signin', issuer), { ...hiddenFields(step), otp: totpCode(user.secret, user.confirmedAt) })
  t.equal(res.status, 401, 'a replayed code')
  res = await browser.submit(new URL('/signin', issuer), { ...hiddenFields(step), otp: totpCode(user.secret, user.confirmedAt + STEP) })
  t.equal(res.status, 303)
  const code = new URL(res.headers.get('location')!).searchParams.get('code')!
  const tokens = await app.inject({
    method: 'POST',
    url: '/v1/auth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: 'http://127.0.0.1/cb', code_verifier: verifier, client_id: spa.id }).toString()
  })
  t.equal(tokens.statusCode, 200)
  const body = tokens.json() as { access_token: string, id_token: string }
  t.same(decodeJwt(body.id_token).amr, ['pwd', 'otp'])
  t.same(decodeJwt(body.access_token).amr, ['pwd', 'otp'])
  // the challenge is spent
  res = await browser.submit(new URL('/signin', issuer), { ...hiddenFields(step), otp: totpCode(user.secret, user.confirmedAt + 2 * STEP) })
  t.equal(res.status, 400, 'a challenge answers once')
})

t.test('disable needs the password; an admin reset ends the user\'s sessions', async t => {
  const user = await withTotp()
  const signedIn = await passwordGrant(user.username, user.password, user.recoveryCodes[0])
  let res = await app.inject({ method: 'DELETE', url: '/v1/auth/mfa/totp', headers: bearer(signedIn.body.access_token), payload: { password: 'not-it' } })
  t.equal(res.statusCode, 400)
  t.equal(res.json().code, 'INVALID_PASSWORD')
  res = await app.inject({ method: 'DELETE', url: '/v1/auth/mfa/totp', headers: bearer(signedIn.body.access_token), payload: { password: user.password } })
  t.equal(res.statusCode, 204)
  t.equal((await passwordGrant(user.username, user.password)).status, 200, 'the password alone again')

  const other = await withTotp()
  const session = await passwordGrant(other.username, other.password, other.recoveryCodes[0])
  res = await app.inject({ method: 'DELETE', url: `/v1/users/${other.id}/mfa`, headers: bearer(user.token) })
  t.equal(res.statusCode, 403, 'a user may not reset another\'s')
  res = await app.inject({ method: 'DELETE', url: `/v1/users/${other.id}/mfa`, headers: bearer(admin.access_token) })
  t.equal(res.statusCode, 204)
  const me = await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(session.body.access_token) })
  t.equal(me.statusCode, 401, 'their sessions ended')
  t.equal((await passwordGrant(other.username, other.password)).status, 200)
  res = await app.inject({ method: 'DELETE', url: `/v1/users/${other.id}/mfa`, headers: bearer(admin.access_token) })
  t.equal(res.statusCode, 404, 'nothing to reset')
})

t.test('{ "mfa": true }: a grant only for sign-ins with a second factor, refused with RFC 9470\'s challenge', async t => {
  let res = await app.inject({ method: 'POST', url: '/v1/roles', headers: bearer(admin.access_token), payload: { name: 'user-reader-stepup' } })
  t.equal(res.statusCode, 201, res.body)
  res = await app.inject({ method: 'PUT', url: '/v1/roles/user-reader-stepup/permissions/users:read', headers: bearer(admin.access_token), payload: { condition: { mfa: true } } })
  t.ok(res.statusCode < 300, res.body)
  res = await app.inject({ method: 'PUT', url: '/v1/roles/user-reader-stepup/permissions/users:read', headers: bearer(admin.access_token), payload: { condition: { mfa: false } } })
  t.equal(res.statusCode, 400, 'mfa must be true')
  const user = await withTotp()
  res = await app.inject({ method: 'PUT', url: `/v1/users/${user.id}/roles/user-reader-stepup`, headers: bearer(admin.access_token), payload: {} })
  t.ok(res.statusCode < 300, res.body)

  // a token of a sign-in without the second factor: the recovery grant below has otp, this one not
  await app.inject({ method: 'DELETE', url: `/v1/users/${user.id}/mfa`, headers: bearer(admin.access_token) })
  const pwdOnly = await passwordGrant(user.username, user.password)
  t.equal(pwdOnly.status, 200)
  res = await app.inject({ method: 'GET', url: '/v1/users?limit=1', headers: bearer(pwdOnly.body.access_token) })
  t.equal(res.statusCode, 403)
  t.equal(res.json().code, 'INSUFFICIENT_USER_AUTHENTICATION')
  t.match(res.headers['www-authenticate'], /error="insufficient_user_authentication"/)
  const check = await app.inject({ method: 'POST', url: '/v1/authz/check', headers: bearer(pwdOnly.body.access_token), payload: { permission: 'users:read' } })
  t.equal(check.json().allowed, false, 'the check API agrees')

  // with TOTP on again, a sign-in with the code holds the grant
  const enrol = await app.inject({ method: 'POST', url: '/v1/auth/mfa/totp', headers: bearer(pwdOnly.body.access_token) })
  const { secret } = enrol.json() as { secret: string }
  const now = Date.now()
  t.equal((await app.inject({ method: 'POST', url: '/v1/auth/mfa/totp/confirm', headers: bearer(pwdOnly.body.access_token), payload: { code: totpCode(secret, now) } })).statusCode, 200)
  const stepped = await passwordGrant(user.username, user.password, totpCode(secret, now + STEP))
  t.equal(stepped.status, 200)
  res = await app.inject({ method: 'GET', url: '/v1/users?limit=1', headers: bearer(stepped.body.access_token) })
  t.equal(res.statusCode, 200, 'allowed with amr otp')
  const allowed = await app.inject({ method: 'POST', url: '/v1/authz/check', headers: bearer(stepped.body.access_token), payload: { permission: 'users:read' } })
  t.equal(allowed.json().allowed, true)
})

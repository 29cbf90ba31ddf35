import t, { type Test } from 'tap'
import { createHash } from 'node:crypto'
import * as client from 'openid-client'
import { decodeProtectedHeader } from 'jose'
import { buildListening, loginAdmin, newUser } from '../helper.js'
import { BrowserSim, formAction, hiddenFields } from '../lib/browser-sim.js'
import { totpCode } from '../../src/security/totp.js'

/**
 * openid-client v6 (panva's certified relying-party library) as the client of Warden's
 * authorization code flow with PKCE: discovery, the authorization URL, the sign-in and consent
 * pages submitted as a browser would, the code exchange with ID token validation (signature by
 * the JWKS, iss, aud, nonce; at_hash checked here), userinfo, refresh and RP-initiated logout.
 * Once for a confidential third-party client and once for a public first-party one.
 */

const { app, issuer } = await buildListening(t)
const insecure = { execute: [client.allowInsecureRequests] }
const admin = await loginAdmin(app)

const REDIRECT = 'http://127.0.0.1:8123/callback'
const AFTER_LOGOUT = 'http://127.0.0.1:8123/signed-out'

async function registerClient (fields: Record<string, unknown>) {
  const res = await fetch(`${issuer}/v1/clients`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin.access_token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ scopes: ['posts:read', 'posts:create'], redirectUris: [REDIRECT], postLogoutRedirectUris: [AFTER_LOGOUT], ...fields })
  })
  if (res.status !== 201) throw new Error(`create client: ${res.status} ${await res.text()}`)
  return await res.json() as { id: string, clientSecret: string | null }
}

/** at_hash (OIDC Core 3.1.3.6): the left half of SHA-256 of the access token, for ES256. */
function atHash (accessToken: string): string {
  const digest = createHash('sha256').update(accessToken, 'ascii').digest()
  return digest.subarray(0, 16).toString('base64url')
}

interface Flow {
  config: client.Configuration
  browser: BrowserSim
  user: Awaited<ReturnType<typeof newUser>>
  consent: boolean
  /** with TOTP on: the code to type on the second step */
  otp?: () => string
}

/** From the authorization URL to the callback URL, as the user's browser goes. */
async function signIn ({ config, browser, user, consent, otp }: Flow, t: Test, extra: Record<string, string> = {}) {
  const verifier = client.randomPKCECodeVerifier()
  const nonce = client.randomNonce()
  const state = client.randomState()
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT,
    scope: 'openid profile email posts:read',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    nonce,
    state,
    ...extra
  })
  let res = await browser.go(url)
  t.equal(res.status, 303, 'authorize: to the sign-in page')
  const signInUrl = new URL(res.headers.get('location')!, issuer)
  t.equal(signInUrl.pathname, '/signin')
  res = await browser.go(signInUrl)
  t.equal(res.status, 200)
  t.match(res.headers.get('content-security-policy'), /default-src 'none'/)
  const page = await res.text()
  t.match(page, /<label for="username">/)
  t.equal(formAction(page), '/signin')
  res = await browser.submit(new URL('/signin', issuer), { ...hiddenFields(page), username: user.username, password: user.password })
  if (otp !== undefined) {
    t.equal(res.status, 200, 'two-factor on: the code step')
    const step = await res.text()
    t.match(step, /name="otp"/)
    res = await browser.submit(new URL('/signin', issuer), { ...hiddenFields(step), otp: otp() })
  }
  if (consent) {
    t.equal(res.status, 200, 'a third-party client: the consent page')
    const consentPage = await res.text()
    t.match(consentPage, /name="decision" value="allow"/)
    t.match(consentPage, /posts:read/)
    res = await browser.submit(new URL(formAction(consentPage)!, issuer), { ...hiddenFields(consentPage), decision: 'allow' })
  }
  t.equal(res.status, 303, 'back to the client')
  const callback = new URL(res.headers.get('location')!)
  t.equal(callback.origin + callback.pathname, REDIRECT)
  t.equal(callback.searchParams.get('iss'), issuer, 'RFC 9207 iss')
  t.equal(callback.searchParams.get('state'), state)
  return { callback, verifier, nonce, state }
}

async function runFlow (t: Test, flow: Flow) {
  const { config, browser } = flow
  const { callback, verifier, nonce, state } = await signIn(flow, t)

  const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedNonce: nonce, expectedState: state, idTokenExpected: true })
  const claims = tokens.claims()!
  t.equal(claims.iss, issuer)
  t.equal(claims.aud, config.clientMetadata().client_id)
  t.equal(claims.sub, flow.user.id)
  t.equal(claims.nonce, nonce)
  t.same(claims.amr, flow.otp === undefined ? ['pwd'] : ['pwd', 'otp'])
  t.type(claims.auth_time, 'number')
  t.equal(claims.preferred_username, flow.user.username)
  t.equal(claims.email, flow.user.email)
  t.equal(claims.at_hash, atHash(tokens.access_token), 'at_hash of the access token')
  t.equal(decodeProtectedHeader(tokens.id_token!).typ, 'JWT')
  t.match(tokens.scope, /openid/)
  t.match(tokens.scope, /posts:read/)
  t.notMatch(tokens.scope, /posts:create/, 'only what was asked')

  const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub)
  t.match(info, { sub: flow.user.id, preferred_username: flow.user.username, email: flow.user.email, email_verified: false })

  const posts = await fetch(`${issuer}/v1/posts?limit=1`, { headers: { authorization: `Bearer ${tokens.access_token}` } })
  t.equal(posts.status, 200, 'the access token works on the API')

  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!)
  t.not(refreshed.refresh_token, tokens.refresh_token, 'rotated')
  // userinfo answers from the cached profile: a change to the user shows at once
  const renamed = `Renamed ${flow.user.username}`
  const patched = await fetch(`${issuer}/v1/users/${flow.user.id}`, { method: 'PATCH', headers: { authorization: `Bearer ${admin.access_token}`, 'content-type': 'application/json' }, body: JSON.stringify({ fullName: renamed }) })
  t.equal(patched.status, 200)
  const again = await client.fetchUserInfo(config, refreshed.access_token, claims.sub)
  t.equal(again.sub, flow.user.id, 'the refreshed token keeps openid')
  t.equal(again.name, renamed, 'the new name, not a cached one')

  // RP-initiated logout ends the browser session and the sessions it began
  const endUrl = client.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: AFTER_LOGOUT, state: 'bye' })
  const out = await browser.go(endUrl)
  t.equal(out.status, 303)
  t.equal(out.headers.get('location'), `${AFTER_LOGOUT}?state=bye`)
  await t.rejects(client.refreshTokenGrant(config, refreshed.refresh_token!), 'the refresh token ended with the sign-out')
  const me = await fetch(`${issuer}/v1/auth/me`, { headers: { authorization: `Bearer ${refreshed.access_token}` } })
  t.equal(me.status, 401, 'and the access token of its session')

  // signed out: prompt=none cannot sign in silently
  const silent = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256', prompt: 'none', state: 's'
  })
  const res = await browser.go(silent)
  const back = new URL(res.headers.get('location')!)
  t.equal(back.searchParams.get('error'), 'login_required')
  t.equal(back.searchParams.get('iss'), issuer)
}

t.test('a confidential third-party client: consent, code, ID token, userinfo, refresh, logout', async t => {
  const registered = await registerClient({ name: 'Partner app', type: 'confidential', grantTypes: ['authorization_code', 'refresh_token'] })
  const config = await client.discovery(new URL(issuer), registered.id, registered.clientSecret!, undefined, insecure)
  client.enableNonRepudiationChecks(config)
  const user = await newUser(app)
  await runFlow(t, { config, browser: new BrowserSim(), user, consent: true })

  // the consent is remembered: a second sign-in goes straight back
  const browser = new BrowserSim()
  await signIn({ config, browser, user, consent: false }, t)
  const listed = await fetch(`${issuer}/v1/auth/consents`, { headers: { authorization: `Bearer ${user.token}` } })
  const consents = await listed.json() as { items: Array<{ clientId: string, scopes: string[] }> }
  t.equal(consents.items[0].clientId, registered.id)
  t.ok(consents.items[0].scopes.includes('posts:read'))
})

t.test('a public first-party client: no secret, no consent page', async t => {
  const registered = await registerClient({ name: 'Warden SPA', type: 'public', firstParty: true, grantTypes: ['authorization_code', 'refresh_token'] })
  t.equal(registered.clientSecret ?? null, null, 'no secret')
  const config = await client.discovery(new URL(issuer), registered.id, undefined, client.None(), insecure)
  client.enableNonRepudiationChecks(config)
  const user = await newUser(app)
  await runFlow(t, { config, browser: new BrowserSim(), user, consent: false })
})

t.test('discovery lists the code flow', async t => {
  const config = await client.discovery(new URL(issuer), 'any', undefined, client.None(), insecure)
  const meta = config.serverMetadata()
  t.equal(meta.authorization_endpoint, `${issuer}/v1/auth/authorize`)
  t.equal(meta.userinfo_endpoint, `${issuer}/v1/auth/userinfo`)
  t.equal(meta.end_session_endpoint, `${issuer}/v1/auth/end-session`)
  t.same(meta.code_challenge_methods_supported, ['S256'])
  t.same(meta.response_types_supported, ['code'])
  t.equal(meta.authorization_response_iss_parameter_supported, true)
  t.same(meta.id_token_signing_alg_values_supported, ['ES256'])
})

t.test('with TOTP on: the sign-in page\'s second step, amr pwd+otp in the ID token', async t => {
  const registered = await registerClient({ name: 'Partner with 2FA users', type: 'confidential', grantTypes: ['authorization_code', 'refresh_token'] })
  const config = await client.discovery(new URL(issuer), registered.id, registered.clientSecret!, undefined, insecure)
  client.enableNonRepudiationChecks(config)
  const user = await newUser(app)
  const auth = { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' }
  const { secret } = await (await fetch(`${issuer}/v1/auth/mfa/totp`, { method: 'POST', headers: { authorization: auth.authorization } })).json() as { secret: string }
  const enrolledAt = Date.now()
  const confirmed = await fetch(`${issuer}/v1/auth/mfa/totp/confirm`, { method: 'POST', headers: auth, body: JSON.stringify({ code: totpCode(secret, enrolledAt) }) })
  t.equal(confirmed.status, 200)
  // the confirmation spent the current step; the next one is within the accepted skew
  await runFlow(t, { config, browser: new BrowserSim(), user, consent: true, otp: () => totpCode(secret, enrolledAt + 30_000) })
})

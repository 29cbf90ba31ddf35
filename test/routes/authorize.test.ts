import t from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { sql } from 'drizzle-orm'
import { buildListening, loginAdmin, newUser } from '../helper.js'
import { BrowserSim, formAction, hiddenFields } from '../lib/browser-sim.js'

/**
 * Attacks on the authorization code flow, written before the checks that stop them: foreign and
 * near-miss redirect URIs, PKCE downgrades, code replay and substitution, CSRF on the forms,
 * open redirects through logout, and `state`/`iss` on every redirect.
 */

const { app, issuer } = await buildListening(t, { LOGIN_MAX_FAILURES: '3' })
const admin = await loginAdmin(app)

const REDIRECT = 'https://app.example/callback'
const LOOPBACK = 'http://127.0.0.1/cb'

async function registerClient (fields: Record<string, unknown>) {
  const res = await fetch(`${issuer}/v1/clients`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin.access_token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ scopes: ['posts:read'], grantTypes: ['authorization_code', 'refresh_token'], redirectUris: [REDIRECT, LOOPBACK], postLogoutRedirectUris: ['https://app.example/bye'], ...fields })
  })
  if (res.status !== 201) throw new Error(`create client: ${res.status} ${await res.text()}`)
  return await res.json() as { id: string, clientSecret: string | null }
}

const partner = await registerClient({ name: 'Partner <script>alert(1)</script>' })
const other = await registerClient({ name: 'Other app' })
const spa = await registerClient({ name: 'SPA', type: 'public', firstParty: true })
const user = await newUser(app)

const pkce = () => {
  const verifier = randomBytes(32).toString('base64url')
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') }
}

function authorizeUrl (clientId: string, params: Record<string, string | undefined> = {}) {
  const url = new URL('/v1/auth/authorize', issuer)
  const all: Record<string, string | undefined> = {
    response_type: 'code', client_id: clientId, redirect_uri: REDIRECT, scope: 'openid posts:read', state: 'st-1', code_challenge: pkce().challenge, code_challenge_method: 'S256', ...params
  }
  for (const [k, v] of Object.entries(all)) if (v !== undefined) url.searchParams.set(k, v)
  return url
}

/** Signs in through the pages (allowing consent when asked); the Location the browser is sent to. */
async function signInTo (browser: BrowserSim, url: URL): Promise<URL> {
  let res = await browser.go(url)
  if (res.status === 303 && res.headers.get('location')!.startsWith('/signin')) {
    const page = await (await browser.go(new URL(res.headers.get('location')!, issuer))).text()
    res = await browser.submit(new URL('/signin', issuer), { ...hiddenFields(page), username: user.username, password: user.password })
  }
  if (res.status === 200) {
    const page = await res.text()
    res = await browser.submit(new URL(formAction(page)!, issuer), { ...hiddenFields(page), decision: 'allow' })
  }
  if (res.status !== 303) throw new Error(`sign-in ended with ${res.status}`)
  return new URL(res.headers.get('location')!)
}

async function token (fields: Record<string, string>, basic?: { id: string, secret: string }) {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' }
  if (basic) headers.authorization = 'Basic ' + Buffer.from(`${basic.id}:${basic.secret}`).toString('base64')
  const res = await fetch(`${issuer}/v1/auth/token`, { method: 'POST', headers, body: new URLSearchParams(fields).toString() })
  return { status: res.status, body: await res.json() as Record<string, string> }
}

async function codeFor (clientId: string, browser = new BrowserSim()) {
  const { verifier, challenge } = pkce()
  const back = await signInTo(browser, authorizeUrl(clientId, { code_challenge: challenge }))
  return { code: back.searchParams.get('code')!, verifier, browser }
}

t.test('a redirect URI that is not registered exactly is never redirected to', async t => {
  const near = [
    'https://evil.example/callback',
    'https://app.example/callback/',
    'https://APP.example/callback',
    'https://app.example/Callback',
    'https://app.example/callback?x=1',
    'https://app.example/callback#frag',
    'https://app.example/callback/../callback',
    'http://app.example/callback',
    'https://app.example:443/callback',
    'http://127.0.0.1:8080/cb/',
    'http://localhost:8080/cb'
  ]
  for (const uri of near) {
    const res = await fetch(authorizeUrl(partner.id, { redirect_uri: uri }), { redirect: 'manual' })
    t.equal(res.status, 400, uri)
    t.equal(res.headers.get('location'), null, `${uri}: no redirect`)
    t.match(res.headers.get('content-type'), /^text\/html/)
    t.match(await res.text(), /not registered/)
  }
  const unknown = await fetch(authorizeUrl('00000000-0000-4000-8000-000000000000'), { redirect: 'manual' })
  t.equal(unknown.status, 400, 'an unknown client: a page')
  t.equal(unknown.headers.get('location'), null)
  // a loopback redirect URI's port may vary (RFC 8252 section 7.3)
  const loop = await fetch(authorizeUrl(partner.id, { redirect_uri: 'http://127.0.0.1:49152/cb' }), { redirect: 'manual' })
  t.equal(loop.status, 303)
  t.match(loop.headers.get('location'), /^\/signin\?/)
})

t.test('errors go back to the registered redirect URI with state and iss', async t => {
  const cases: Array<[Record<string, string | undefined>, string]> = [
    [{ code_challenge_method: 'plain' }, 'invalid_request'],
    [{ code_challenge_method: undefined }, 'invalid_request'],
    [{ code_challenge: undefined }, 'invalid_request'],
    [{ code_challenge: 'short' }, 'invalid_request'],
    [{ response_type: 'token' }, 'unsupported_response_type'],
    [{ scope: 'openid users:delete' }, 'invalid_scope'],
    [{ prompt: 'none' }, 'login_required'],
    [{ prompt: 'sometimes' }, 'invalid_request']
  ]
  for (const [params, error] of cases) {
    const res = await fetch(authorizeUrl(partner.id, params), { redirect: 'manual' })
    t.equal(res.status, 303, JSON.stringify(params))
    const back = new URL(res.headers.get('location')!)
    t.equal(back.origin + back.pathname, REDIRECT)
    t.equal(back.searchParams.get('error'), error, JSON.stringify(params))
    t.equal(back.searchParams.get('state'), 'st-1')
    t.equal(back.searchParams.get('iss'), issuer)
  }
  const repeated = new URL(authorizeUrl(partner.id))
  repeated.searchParams.append('scope', 'openid')
  const res = await fetch(repeated, { redirect: 'manual' })
  t.equal(new URL(res.headers.get('location')!).searchParams.get('error'), 'invalid_request', 'a repeated parameter')
})

t.test('the success redirect carries code, state and iss; the consent page escapes the client name', async t => {
  const browser = new BrowserSim()
  let res = await browser.go(authorizeUrl(partner.id))
  const page = await (await browser.go(new URL(res.headers.get('location')!, issuer))).text()
  res = await browser.submit(new URL('/signin', issuer), { ...hiddenFields(page), username: user.username, password: user.password })
  t.equal(res.status, 200)
  const consent = await res.text()
  t.notMatch(consent, /<script>/, 'no markup from the client name')
  t.match(consent, /Partner &lt;script&gt;/)
  t.match(res.headers.get('content-security-policy'), /form-action 'self' https:\/\/app\.example/)
  res = await browser.submit(new URL('/consent', issuer), { ...hiddenFields(consent), decision: 'allow' })
  const back = new URL(res.headers.get('location')!)
  t.ok(back.searchParams.get('code'))
  t.equal(back.searchParams.get('state'), 'st-1')
  t.equal(back.searchParams.get('iss'), issuer)

  // deny: access_denied, with state and iss
  const denier = new BrowserSim()
  res = await denier.go(authorizeUrl(other.id))
  const p2 = await (await denier.go(new URL(res.headers.get('location')!, issuer))).text()
  res = await denier.submit(new URL('/signin', issuer), { ...hiddenFields(p2), username: user.username, password: user.password })
  res = await denier.submit(new URL('/consent', issuer), { ...hiddenFields(await res.text()), decision: 'deny' })
  const denied = new URL(res.headers.get('location')!)
  t.equal(denied.searchParams.get('error'), 'access_denied')
  t.equal(denied.searchParams.get('state'), 'st-1')
  t.equal(denied.searchParams.get('iss'), issuer)
})

t.test('PKCE: a wrong code_verifier is refused, and the code is spent', async t => {
  const { code, verifier } = await codeFor(partner.id)
  const wrong = await token({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: pkce().verifier }, { id: partner.id, secret: partner.clientSecret! })
  t.equal(wrong.status, 400)
  t.equal(wrong.body.error, 'invalid_grant')
  const right = await token({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier }, { id: partner.id, secret: partner.clientSecret! })
  t.equal(right.body.error, 'invalid_grant', 'a code survives no failed attempt')
  const missing = await token({ grant_type: 'authorization_code', code: 'x', redirect_uri: REDIRECT }, { id: partner.id, secret: partner.clientSecret! })
  t.equal(missing.body.error, 'invalid_request')
})

t.test('a code used twice is refused and ends the session of its first use', async t => {
  const { code, verifier } = await codeFor(partner.id)
  const fields = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier }
  const first = await token(fields, { id: partner.id, secret: partner.clientSecret! })
  t.equal(first.status, 200)
  t.ok(first.body.refresh_token)
  const second = await token(fields, { id: partner.id, secret: partner.clientSecret! })
  t.equal(second.status, 400)
  t.equal(second.body.error, 'invalid_grant')
  const refresh = await token({ grant_type: 'refresh_token', refresh_token: first.body.refresh_token }, { id: partner.id, secret: partner.clientSecret! })
  t.equal(refresh.body.error, 'invalid_grant', 'the first redemption\'s session ended')
  const me = await fetch(`${issuer}/v1/auth/me`, { headers: { authorization: `Bearer ${first.body.access_token}` } })
  t.equal(me.status, 401, 'and its access token')
})

t.test('a code issued to client A is refused for client B; redirect_uri must match', async t => {
  const { code, verifier } = await codeFor(partner.id)
  const asOther = await token({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier }, { id: other.id, secret: other.clientSecret! })
  t.equal(asOther.body.error, 'invalid_grant')
  const again = await codeFor(partner.id)
  const moved = await token({ grant_type: 'authorization_code', code: again.code, redirect_uri: LOOPBACK, code_verifier: again.verifier }, { id: partner.id, secret: partner.clientSecret! })
  t.equal(moved.body.error, 'invalid_grant', 'another registered redirect_uri')
  const noSecret = await token({ grant_type: 'authorization_code', code: 'x', redirect_uri: REDIRECT, code_verifier: pkce().verifier, client_id: partner.id })
  t.equal(noSecret.status, 401, 'a confidential client must authenticate')
  t.equal(noSecret.body.error, 'invalid_client')
  const publicWithSecret = await token({ grant_type: 'authorization_code', code: 'x', redirect_uri: REDIRECT, code_verifier: pkce().verifier, client_id: spa.id, client_secret: 'guess' })
  t.equal(publicWithSecret.body.error, 'invalid_client', 'a public client has no secret')
})

t.test('a public client exchanges with client_id and PKCE; a code lives 60 seconds', async t => {
  const { code, verifier } = await codeFor(spa.id)
  const ok = await token({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier, client_id: spa.id })
  t.equal(ok.status, 200)
  t.ok(ok.body.id_token)
  // the refresh of a code flow's session needs its client
  const stolen = await token({ grant_type: 'refresh_token', refresh_token: ok.body.refresh_token })
  t.equal(stolen.status, 401, 'without the client')
  const byOther = await token({ grant_type: 'refresh_token', refresh_token: ok.body.refresh_token }, { id: other.id, secret: other.clientSecret! })
  t.equal(byOther.body.error, 'invalid_grant', 'by another client')
  const own = await token({ grant_type: 'refresh_token', refresh_token: ok.body.refresh_token, client_id: spa.id })
  t.equal(own.status, 200, 'the refused attempts left it usable')

  const late = await codeFor(spa.id)
  await app.db.execute(sql`update authorization_codes set expires_at = now() - interval '1 second' where used_at is null`)
  const expired = await token({ grant_type: 'authorization_code', code: late.code, redirect_uri: REDIRECT, code_verifier: late.verifier, client_id: spa.id })
  t.equal(expired.body.error, 'invalid_grant', 'an expired code')
})

t.test('CSRF: the sign-in and consent forms need the browser\'s token', async t => {
  const fresh = await registerClient({ name: 'Not yet allowed' })
  const browser = new BrowserSim()
  const res = await browser.go(authorizeUrl(fresh.id))
  const page = await (await browser.go(new URL(res.headers.get('location')!, issuer))).text()
  const fields = { ...hiddenFields(page), username: user.username, password: user.password }

  // a cross-site form: the attacker's page has no way to read or set the browser's CSRF cookie
  const attacker = new BrowserSim()
  const forged = await attacker.submit(new URL('/signin', issuer), fields)
  t.equal(forged.status, 403, 'a form without the cookie')
  t.notOk(attacker.cookies.has('__Host-warden_session'), 'no session')
  const tampered = await browser.submit(new URL('/signin', issuer), { ...fields, csrf: randomBytes(32).toString('base64url') })
  t.equal(tampered.status, 403, 'a token that is not the cookie')
  t.notOk(browser.cookies.has('__Host-warden_session'))

  const signedIn = await browser.submit(new URL('/signin', issuer), fields)
  t.equal(signedIn.status, 200, 'the real form works')
  t.ok(browser.cookies.has('__Host-warden_session'))
  const cookie = signedIn.headers.getSetCookie().find(c => c.startsWith('__Host-warden_session='))!
  t.match(cookie, /HttpOnly/)
  t.match(cookie, /Secure/)
  t.match(cookie, /SameSite=Lax/)
  t.match(cookie, /Path=\//)
  const consent = hiddenFields(await signedIn.text())
  const forgedConsent = await browser.submit(new URL('/consent', issuer), { ...consent, csrf: 'x'.repeat(43), decision: 'allow' })
  t.equal(forgedConsent.status, 403, 'a consent without the token')
  t.equal(forgedConsent.headers.get('location'), null, 'no code')
})

t.test('logout redirects only to registered post-logout URIs', async t => {
  for (const uri of ['https://evil.example/bye', 'https://app.example/bye/', 'https://app.example/bye?next=https://evil.example']) {
    const res = await fetch(`${issuer}/v1/auth/end-session?${new URLSearchParams({ client_id: partner.id, post_logout_redirect_uri: uri })}`, { redirect: 'manual' })
    t.equal(res.status, 400, uri)
    t.equal(res.headers.get('location'), null)
  }
  const noClient = await fetch(`${issuer}/v1/auth/end-session?${new URLSearchParams({ post_logout_redirect_uri: 'https://app.example/bye' })}`, { redirect: 'manual' })
  t.equal(noClient.status, 400, 'a URI without a client to check it against')
  const forgedHint = await fetch(`${issuer}/v1/auth/end-session?${new URLSearchParams({ id_token_hint: 'eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJhdWQiOiJ4Iiwic3ViIjoieSJ9.', post_logout_redirect_uri: 'https://app.example/bye' })}`, { redirect: 'manual' })
  t.equal(forgedHint.status, 400, 'an ID token Warden did not sign')

  // without an ID token, a signed-in browser confirms first: a link elsewhere signs nobody out
  const { browser } = await codeFor(partner.id)
  const ask = await browser.go(`${issuer}/v1/auth/end-session?${new URLSearchParams({ client_id: partner.id, post_logout_redirect_uri: 'https://app.example/bye', state: 'z' })}`)
  t.equal(ask.status, 200)
  const confirm = await ask.text()
  t.match(confirm, /Sign out/)
  const forged = await new BrowserSim().submit(new URL('/v1/auth/end-session', issuer), hiddenFields(confirm))
  t.equal(forged.status, 403, 'the confirmation needs the browser\'s token')
  const done = await browser.submit(new URL('/v1/auth/end-session', issuer), hiddenFields(confirm))
  t.equal(done.status, 303)
  t.equal(done.headers.get('location'), 'https://app.example/bye?state=z')
  t.notOk(browser.cookies.has('__Host-warden_session'), 'the cookie is cleared')
})

t.test('the sign-in page shares the password grant\'s login limits', async t => {
  const victim = await newUser(app)
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`${issuer}/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'password', username: victim.username, password: 'wrong-' + i }).toString() })
    t.equal(res.status, 400)
  }
  const browser = new BrowserSim()
  const res = await browser.go(authorizeUrl(partner.id))
  const page = await (await browser.go(new URL(res.headers.get('location')!, issuer))).text()
  const blocked = await browser.submit(new URL('/signin', issuer), { ...hiddenFields(page), username: victim.username, password: victim.password })
  t.equal(blocked.status, 429)
  t.ok(Number(blocked.headers.get('retry-after')) > 0)
  t.notOk(browser.cookies.has('__Host-warden_session'))
  const wrong = await browser.submit(new URL('/signin', issuer), { ...hiddenFields(page), username: user.username, password: 'not-the-password' })
  t.equal(wrong.status, 401)
  t.match(await wrong.text(), /not right/)
})

t.test('userinfo needs the openid scope', async t => {
  const res = await fetch(`${issuer}/v1/auth/userinfo`, { headers: { authorization: `Bearer ${user.token}` } })
  t.equal(res.status, 403, 'a password-grant token has no openid scope')
  const anonymous = await fetch(`${issuer}/v1/auth/userinfo`)
  t.equal(anonymous.status, 401)
})

t.test('prompt, max_age and tenant', async t => {
  const fresh = await registerClient({ name: 'Prompting app' })
  const browser = new BrowserSim()
  const first = await signInTo(browser, authorizeUrl(fresh.id))
  t.ok(first.searchParams.get('code'), 'signed in and allowed once')

  // signed in and allowed: straight back, unless the request says otherwise
  let res = await browser.go(authorizeUrl(fresh.id))
  t.equal(res.status, 303)
  t.ok(new URL(res.headers.get('location')!).searchParams.get('code'), 'no page at all')
  res = await browser.go(authorizeUrl(fresh.id, { prompt: 'login' }))
  t.match(res.headers.get('location'), /^\/signin\?/, 'prompt=login: sign in again')
  res = await browser.go(authorizeUrl(fresh.id, { max_age: '0' }))
  t.match(res.headers.get('location'), /^\/signin\?/, 'max_age=0: sign in again')
  res = await browser.go(authorizeUrl(fresh.id, { prompt: 'consent' }))
  t.equal(res.status, 200, 'prompt=consent: the consent page although allowed before')
  t.match(await res.text(), /name="decision"/)
  res = await browser.go(authorizeUrl(fresh.id, { prompt: 'none' }))
  t.ok(new URL(res.headers.get('location')!).searchParams.get('code'), 'prompt=none: silently, when nothing is needed')

  // a fresh sign-in satisfies prompt=login and max_age, and the consent after it does not loop
  const again = await signInTo(browser, authorizeUrl(fresh.id, { prompt: 'login consent', max_age: '0' }))
  t.ok(again.searchParams.get('code'), 'prompt=login consent with max_age=0 ends with a code')

  res = await browser.go(authorizeUrl(fresh.id, { tenant: 'no-such-tenant' }))
  const refused = new URL(res.headers.get('location')!)
  t.equal(refused.searchParams.get('error'), 'access_denied', 'not a member of that tenant')
  t.equal(refused.searchParams.get('iss'), issuer)
  res = await browser.go(authorizeUrl(fresh.id, { tenant: 'default' }))
  t.ok(new URL(res.headers.get('location')!).searchParams.get('code'), 'the default tenant')

  // a withdrawn consent is asked again, and the client's sessions for the user end
  const { code, verifier } = await codeFor(fresh.id, browser)
  const tokens = await token({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier }, { id: fresh.id, secret: fresh.clientSecret! })
  t.equal(tokens.status, 200)
  const withdrawn = await fetch(`${issuer}/v1/auth/consents/${fresh.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${user.token}` } })
  t.equal(withdrawn.status, 204)
  const me = await fetch(`${issuer}/v1/auth/me`, { headers: { authorization: `Bearer ${tokens.body.access_token}` } })
  t.equal(me.status, 401, 'the client\'s session ended')
  res = await browser.go(authorizeUrl(fresh.id))
  t.equal(res.status, 200, 'the consent page again')
  const gone = await fetch(`${issuer}/v1/auth/consents/${fresh.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${user.token}` } })
  t.equal(gone.status, 404)
})

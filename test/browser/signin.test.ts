/// <reference lib="dom" />
import t from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import type { AddressInfo, Server } from 'node:net'
import { createServer as createHttpServer } from 'node:http'
import { AxeBuilder } from '@axe-core/playwright'
import { totpCode } from '../../src/security/totp.js'
import { bearer, buildListening, loginAdmin, newUser } from '../helper.js'
import { chromiumSkip, launchChromium, screenshot } from '../lib/chromium.js'

/**
 * The sign-in flow in a real headless Chromium (Debian's package, driven by playwright-core):
 * the authorization URL, the sign-in page, the two-factor step, the consent page and the
 * redirect to the client, which then exchanges the code. Screenshots of each page go to
 * artifacts/screenshots; axe-core checks each page for serious and critical violations.
 */

t.test('sign in, second factor and consent in Chromium', { skip: chromiumSkip }, async t => {
  // `localhost` is a secure context for Chromium, so the __Host- cookies (Secure) are kept on plain http
  const { app, issuer } = await buildListening(t, {}, 'localhost')
  const admin = await loginAdmin(app)

  // the client's redirect target: a page of its own that shows what it received
  const received: URL[] = []
  const clientSite = createHttpServer((req, res) => {
    const at = new URL(req.url!, 'http://127.0.0.1')
    if (at.pathname === '/callback') received.push(at)
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><html lang="en"><title>Client</title><h1>Back at the client</h1></html>')
  })
  await new Promise<void>(resolve => clientSite.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => (clientSite as unknown as Server).close(() => resolve())))
  const redirectUri = `http://127.0.0.1:${(clientSite.address() as AddressInfo).port}/callback`

  const created = await app.inject({
    method: 'POST',
    url: '/v1/clients',
    headers: bearer(admin.access_token),
    payload: { name: 'Partner Reports', type: 'confidential', scopes: ['posts:read'], grantTypes: ['authorization_code'], redirectUris: [redirectUri] }
  })
  t.equal(created.statusCode, 201, created.body)
  const partner = created.json() as { id: string, clientSecret: string }

  // a user with TOTP on
  const user = await newUser(app)
  const { secret } = (await app.inject({ method: 'POST', url: '/v1/auth/mfa/totp', headers: bearer(user.token) })).json() as { secret: string }
  const enrolledAt = Date.now()
  const confirmed = await app.inject({ method: 'POST', url: '/v1/auth/mfa/totp/confirm', headers: bearer(user.token), payload: { code: totpCode(secret, enrolledAt) } })
  t.equal(confirmed.statusCode, 200)

  const { page } = await launchChromium(t)
  const scripts: string[] = []
  page.on('request', r => { if (r.resourceType() === 'script') scripts.push(r.url()) })
  const cspViolations: string[] = []
  page.on('console', m => { if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text()) })

  async function accessible (name: string) {
    const results = await new AxeBuilder({ page }).analyze()
    const bad = results.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
    t.same(bad.map(v => `${v.id}: ${v.help}`), [], `${name}: no serious or critical accessibility violation`)
  }

  const verifier = randomBytes(32).toString('base64url')
  const url = new URL('/v1/auth/authorize', issuer)
  for (const [k, v] of Object.entries({
    response_type: 'code',
    client_id: partner.id,
    redirect_uri: redirectUri,
    scope: 'openid profile posts:read',
    state: 'chromium-state',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    login_hint: user.username
  })) url.searchParams.set(k, v)

  await page.goto(url.toString())
  t.equal(new URL(page.url()).pathname, '/signin', 'the browser lands on the sign-in page')
  t.equal(await page.title(), 'Sign in · Warden')
  t.equal(await page.inputValue('#username'), user.username, 'login_hint fills the username')
  t.equal(await page.evaluate(() => document.activeElement?.id), 'password', 'focus is on the first empty field')
  await page.screenshot({ path: screenshot('signin.png'), fullPage: true })
  await accessible('sign-in')

  // a wrong password first: the page says so and keeps the username
  await page.fill('#password', 'not the password')
  await page.click('button[type=submit]')
  t.match(await page.textContent('[role=alert]'), /not right/)
  t.equal(await page.inputValue('#username'), user.username)
  await page.screenshot({ path: screenshot('signin-error.png'), fullPage: true })

  await page.fill('#password', user.password)
  await page.click('button[type=submit]')
  t.equal(await page.title(), 'Two-factor authentication · Warden')
  t.equal(await page.evaluate(() => document.activeElement?.id), 'otp', 'focus on the code field')
  await page.screenshot({ path: screenshot('two-factor.png'), fullPage: true })
  await accessible('two-factor')
  await page.fill('#otp', totpCode(secret, enrolledAt + 30_000))
  await page.click('button[type=submit]')

  t.equal(await page.title(), 'Allow Partner Reports? · Warden', 'the consent page of a third-party client')
  t.match(await page.textContent('.scopes'), /posts:read/)
  await page.screenshot({ path: screenshot('consent.png'), fullPage: true })
  await accessible('consent')
  await page.click('button[name=decision][value=allow]')
  await page.waitForURL(u => u.toString().startsWith(redirectUri))

  const back = received.at(-1)!
  t.equal(back.searchParams.get('state'), 'chromium-state')
  t.equal(back.searchParams.get('iss'), issuer)
  const code = back.searchParams.get('code')!
  t.ok(code, 'a code')
  t.same(scripts, [], 'Warden\'s pages load no script')
  t.same(cspViolations, [], 'and break no rule of their CSP')

  const tokens = await app.inject({
    method: 'POST',
    url: '/v1/auth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Basic ' + Buffer.from(`${partner.id}:${partner.clientSecret}`).toString('base64') },
    payload: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier }).toString()
  })
  t.equal(tokens.statusCode, 200, tokens.body)
  const idToken = (tokens.json() as { id_token: string }).id_token
  const claims = JSON.parse(Buffer.from(idToken.split('.')[1], 'base64url').toString())
  t.same(claims.amr, ['pwd', 'otp'])

  // the browser is signed in now: a second authorization goes straight back (consent remembered)
  url.searchParams.set('state', 'again')
  await page.goto(url.toString())
  await page.waitForURL(u => u.toString().startsWith(redirectUri))
  t.equal(received.at(-1)!.searchParams.get('state'), 'again')
})

/// <reference lib="dom" />
import t from 'tap'
import { buildListening, newUser } from '../helper.js'
import { chromiumSkip, launchChromium, screenshot } from '../lib/chromium.js'

/**
 * Swagger UI's "Authorize" with the authorization code flow and PKCE, in a real Chromium: the
 * popup signs in on Warden's page as the built-in public client warden-docs, Swagger UI takes
 * the code back through its oauth2-redirect page and exchanges it, and "Try it out" then calls
 * GET /v1/auth/me with the token.
 */

t.test('Swagger UI signs in with the authorization code flow', { skip: chromiumSkip }, async t => {
  const { app, issuer } = await buildListening(t, {}, 'localhost')
  const user = await newUser(app)

  const { context, page } = await launchChromium(t, { width: 1200, height: 900 })

  await page.goto(`${issuer}/docs/`)
  await page.click('button.authorize')
  const flow = page.locator('.auth-container', { hasText: 'authorizationCode' })
  await flow.locator('input[type=checkbox]').first().check({ force: true })
  const [popup] = await Promise.all([
    context.waitForEvent('page'),
    flow.locator('button.authorize').click()
  ])
  await popup.waitForLoadState()
  t.equal(new URL(popup.url()).pathname, '/signin', 'the popup is Warden\'s sign-in page')
  await popup.fill('#username', user.username)
  await popup.fill('#password', user.password)
  const consoleLines: string[] = []
  popup.on('console', m => consoleLines.push(m.text()))
  await popup.click('button[type=submit]')
  await popup.waitForEvent('close', { timeout: 15_000 }).catch(async err => {
    t.comment('popup at ' + popup.url())
    t.comment('opener: ' + await popup.evaluate(() => String(window.opener)))
    t.comment(consoleLines.join('\n'))
    t.comment((await popup.content()).slice(0, 2000))
    throw err
  })

  // authorized: the flow's form now offers to log out
  await flow.locator('button.authorize', { hasText: 'Logout' }).waitFor({ timeout: 15_000 })
  await page.screenshot({ path: screenshot('swagger-authorized.png') })
  await page.locator('.modal-ux-header button.close-modal').click()

  // "Try it out" on GET /v1/auth/me sends the token
  const me = page.locator('#operations-auth-getMe')
  await me.locator('.opblock-summary').click()
  await me.locator('button.try-out__btn').click()
  const [response] = await Promise.all([
    page.waitForResponse(r => r.url() === `${issuer}/v1/auth/me`),
    me.locator('button.execute').click()
  ])
  t.equal(response.status(), 200, 'the API accepts Swagger UI\'s token')
  t.match(await response.json(), { id: user.id, username: user.username })
})

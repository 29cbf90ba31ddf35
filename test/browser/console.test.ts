/// <reference lib="dom" />
import t from 'tap'
import { AxeBuilder } from '@axe-core/playwright'
import type { Page } from 'playwright-core'
import { ADMIN_EMAIL, ADMIN_PASSWORD, bearer, buildListening, loginAdmin, newUser } from '../helper.js'
import { chromiumSkip, launchChromium, screenshot } from '../lib/chromium.js'
import { ensureConsoleBuilt } from '../lib/console-build.js'

/**
 * The admin console end to end, in a real headless Chromium (issue 14): the production build
 * that `npm start` serves, signed in through the real authorization code flow. An administrator
 * creates a permission and a role that inherits another, grants the permission with a condition,
 * assigns the role to a user in a tenant with an expiry (the what-if preview's count is checked
 * against what the API then answers), sees the effective permission with its path, runs the
 * decision tester, rotates a key, finds the change in the audit log; a tenant-scoped administrator
 * sees only that tenant. Every page is screenshotted (artifacts/screenshots/console-*.png) and
 * checked by axe-core for serious and critical violations; the pages break no CSP rule.
 */

type Effective = { permissions: Array<{ name: string, via: Array<{ path: string[], tenant: string | null, condition: unknown }> }> }

t.test('the admin console in Chromium', { skip: chromiumSkip }, async t => {
  await ensureConsoleBuilt()
  // `localhost` is a secure context for Chromium, so the __Host- cookies (Secure) are kept on plain http
  // access tokens live 30 s (the shortest allowed): the console must renew them silently while the test runs
  const { app, issuer } = await buildListening(t, { ACCESS_TOKEN_TTL: '30' }, 'localhost')
  const api = async (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: unknown) => {
    const A = bearer((await loginAdmin(app)).access_token)
    const res = await app.inject({ method, url, headers: A, ...(payload !== undefined ? { payload: payload as object } : {}) })
    if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`)
    return res.statusCode === 204 ? null : res.json()
  }

  // the world: a tenant, and a user who is not yet a member of it
  const acme = await api('POST', '/v1/tenants', { slug: 'acme', name: 'Acme Corporation' }) as { id: string }
  const ada = await newUser(app, 'ada')
  const effectiveOf = async (userId: string, tenant: string) => (await api('GET', `/v1/users/${userId}/permissions?tenant=${tenant}`) as Effective).permissions

  const { page } = await launchChromium(t, { width: 1280, height: 900 })
  const problems: string[] = []
  page.on('console', m => { if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(m.text()) })
  page.on('pageerror', e => problems.push('page error: ' + e.message))
  const scripts: string[] = []
  const silent: number[] = []
  const refused: string[] = []
  page.on('request', r => {
    if (r.resourceType() === 'script') scripts.push(r.url())
    const u = new URL(r.url())
    if (u.pathname === '/v1/auth/authorize' && u.searchParams.get('prompt') === 'none') silent.push(Date.now())
  })
  page.on('response', r => { if (r.status() === 401) refused.push(r.url()) })
  const started = Date.now()

  async function check (p: Page, name: string) {
    await p.screenshot({ path: screenshot(`console-${name}.png`), fullPage: true })
    const results = await new AxeBuilder({ page: p }).analyze()
    const bad = results.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
    t.same(bad.map(v => `${v.id}: ${v.help} (${v.nodes.map(n => n.target.join(' ')).slice(0, 3).join(', ')})`), [], `${name}: no serious or critical accessibility violation`)
  }

  // --- sign in through the real flow
  const first = await page.goto(issuer + '/console/')
  const csp = first?.headers()['content-security-policy'] ?? ''
  t.match(csp, /script-src 'self'/, 'the console page has a Content-Security-Policy')
  t.notMatch(csp, /unsafe-inline|unsafe-eval/, 'which allows no inline script or style, and no eval')
  await page.getByRole('button', { name: 'Sign in' }).waitFor()
  await check(page, 'signin')
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.waitForURL(u => u.pathname === '/signin')
  await page.fill('#username', ADMIN_EMAIL)
  await page.fill('#password', ADMIN_PASSWORD)
  await page.click('button[type=submit]')
  await page.waitForURL(u => u.pathname === '/console/users')
  await page.getByRole('table', { name: 'Users' }).getByRole('link', { name: ada.username }).waitFor()
  t.equal(await page.evaluate(() => Object.keys(localStorage).length), 0, 'nothing in localStorage')
  t.notOk(await page.evaluate(() => JSON.stringify({ ...sessionStorage })).then(s => /eyJ/.test(s)), 'no token in sessionStorage')
  await check(page, 'users')

  // a reload signs in again silently (prompt=none in a hidden frame): no sign-in page
  await page.reload()
  await page.getByRole('table', { name: 'Users' }).getByRole('link', { name: ada.username }).waitFor()
  t.equal(new URL(page.url()).pathname, '/console/users', 'a reload stays signed in through prompt=none')

  // --- a new permission, and a role that inherits another
  await page.getByRole('link', { name: 'Permissions', exact: true }).click()
  await page.getByLabel('Name (resource:action)').fill('reports:read')
  await page.getByLabel('Description').fill('Read the reports')
  await page.getByRole('button', { name: 'Add' }).click()
  await page.getByRole('table', { name: 'Permissions' }).getByText('reports:read').waitFor()
  await check(page, 'permissions')

  await page.getByRole('link', { name: 'Roles', exact: true }).click()
  await page.getByRole('table', { name: 'Roles' }).getByRole('link', { name: 'editor' }).waitFor()
  await check(page, 'roles')
  await page.getByLabel('Name', { exact: true }).fill('reviewer')
  await page.getByLabel('Description').fill('Reviews reports')
  await page.getByLabel('Inherits from (role names, comma-separated)').fill('author')
  await page.getByRole('button', { name: 'Create role' }).click()
  await page.waitForURL(u => u.pathname === '/console/roles/reviewer')
  await page.getByRole('img', { name: 'reviewer and the roles it inherits from' }).waitFor()
  const drawn = await page.locator('svg .graph-node text').allTextContents()
  t.same(drawn.sort(), ['author', 'reviewer', 'user'], 'the graph draws the role and the roles it inherits, transitively')

  // --- grant the permission with a condition; the preview first (nobody holds the role yet)
  await page.getByLabel('Permission to grant').fill('reports:read')
  const condition = page.getByLabel('Condition (optional, JSON)')
  await condition.fill('{ "attribute": "region", ')
  t.equal(await condition.getAttribute('aria-invalid'), 'true', 'the editor flags what is not JSON')
  await condition.fill('{ "attribute": "region", "equal": "eu" }')
  t.equal(await condition.getAttribute('aria-invalid'), 'true', 'the editor flags what the condition schema refuses')
  await condition.fill('{ "attribute": "region", "equals": "eu" }')
  t.equal(await condition.getAttribute('aria-invalid'), 'false', 'and accepts a valid condition')
  await page.getByRole('button', { name: 'Preview and grant…' }).click()
  const dialog = page.getByRole('dialog')
  await dialog.getByTestId('whatif-summary').waitFor()
  t.equal(await dialog.getByTestId('whatif-gained').textContent(), '0', 'granting to a role nobody holds: nobody gains')
  await check(page, 'grant-preview')
  await dialog.getByRole('button', { name: 'Grant' }).click()
  await page.getByRole('table', { name: 'Grants' }).getByText('reports:read').waitFor()
  t.match(await page.getByRole('table', { name: 'Grants' }).textContent(), /"attribute":"region","equals":"eu"/, 'the grant is shown with its condition')
  await check(page, 'role')

  // --- assign the role to ada in acme with an expiry: the preview's count is what then happens
  await page.goto(`${issuer}/console/users/${ada.id}`)
  await page.getByRole('heading', { name: ada.username }).waitFor()
  // ada's session (newUser signed in once): an administrator ends it
  await page.getByRole('table', { name: 'User sessions' }).getByRole('button', { name: 'End session' }).click()
  await page.getByRole('table', { name: 'User sessions' }).getByText('No live session.').waitFor()
  const refresh = await app.inject({ method: 'POST', url: '/v1/auth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: ada.tokens.refresh_token! }).toString() })
  t.equal(refresh.statusCode, 400, 'the session an administrator ended is over: its refresh token is refused')
  const before = await effectiveOf(ada.id, 'acme')
  await page.getByLabel('Role', { exact: true }).fill('reviewer')
  await page.getByLabel(/^Tenant \(id or slug; empty: yours/).fill('acme')
  const expiry = new Date(Date.now() + 30 * 86_400_000)
  const local = new Date(expiry.getTime() - expiry.getTimezoneOffset() * 60_000).toISOString().slice(0, 16)
  await page.getByLabel('Expires at (optional)').fill(local)
  await page.getByRole('button', { name: 'Preview and assign…' }).click()
  await dialog.getByTestId('whatif-summary').waitFor()
  const previewGained = Number(await dialog.getByTestId('whatif-gained').textContent())
  const previewLost = Number(await dialog.getByTestId('whatif-lost').textContent())
  t.match(await dialog.textContent(), new RegExp(`Gain: ${ada.username}`), 'the preview names who gains')
  await check(page, 'assign-preview')
  t.same(await effectiveOf(ada.id, 'acme'), before, 'the preview wrote nothing')
  await dialog.getByRole('button', { name: 'Assign' }).click()
  await page.getByRole('table', { name: 'Role assignments' }).getByRole('link', { name: 'reviewer' }).waitFor()
  const after = await effectiveOf(ada.id, 'acme')
  const had = new Set(before.map(p => p.name))
  const gained = after.filter(p => !had.has(p.name)).map(p => p.name)
  t.ok(gained.includes('reports:read'), 'ada now holds the new permission in acme')
  t.equal(previewGained, gained.length, `the preview said ${previewGained} gained: the API shows ${gained.length} (${gained.join(', ')})`)
  t.equal(previewLost, before.filter(p => !after.some(a => a.name === p.name)).length, 'and its lost count is what was lost')
  const assignments = await api('GET', `/v1/users/${ada.id}/roles`) as { items: Array<{ role: string, tenant: string | null, expiresAt: string | null }> }
  const made = assignments.items.find(a => a.role === 'reviewer')
  t.equal(made?.tenant, acme.id, 'the assignment is in acme')
  t.ok(made?.expiresAt !== null && Math.abs(new Date(made!.expiresAt!).getTime() - expiry.getTime()) < 60_000, 'with the expiry chosen')

  // --- the effective permission with its path
  await page.getByLabel('In tenant (id or slug; empty: the API default)').fill('acme')
  await page.getByRole('button', { name: 'Show' }).click()
  const row = page.getByRole('table', { name: 'Effective permissions' }).getByRole('row').filter({ hasText: 'reports:read' })
  await row.waitFor()
  t.match(await row.textContent(), /reviewer/, 'reports:read is shown as granted through reviewer')
  t.match(await row.textContent(), /"region"/, 'with its condition')
  const readRow = page.getByRole('table', { name: 'Effective permissions' }).getByRole('row').filter({ hasText: 'posts:read' })
  t.match(await readRow.textContent(), /reviewer → author → user/, 'an inherited permission shows the whole path')
  await check(page, 'user')

  // --- the decision tester: may ada read reports in acme, on an EU and on a US resource?
  await page.getByRole('link', { name: 'Decision tester' }).click()
  await page.getByLabel('Subject (username, email or user id; empty: you)').fill(ada.username)
  await page.getByLabel('Permission', { exact: true }).fill('reports:read')
  await page.getByLabel(/^Tenant/).fill('acme')
  await page.getByLabel('Resource type (optional)').fill('report')
  await page.getByLabel('Resource attributes (JSON object)').fill('{"region": "eu"}')
  await page.getByRole('button', { name: 'Decide' }).click()
  await page.getByTestId('decision').filter({ hasText: 'Allowed' }).waitFor()
  await check(page, 'tester')
  await page.getByLabel('Resource attributes (JSON object)').fill('{"region": "us"}')
  await page.getByRole('button', { name: 'Decide' }).click()
  await page.getByTestId('decision').filter({ hasText: 'Denied' }).waitFor()
  t.ok((await page.getByTestId('decision-reason').textContent())!.length > 0, 'the decision says why')

  // --- tenants and members, clients (the secret shown once)
  await page.getByRole('link', { name: 'Tenants', exact: true }).click()
  await page.getByRole('table', { name: 'Tenants' }).getByRole('link', { name: 'acme' }).waitFor()
  await check(page, 'tenants')
  await page.getByRole('table', { name: 'Tenants' }).getByRole('link', { name: 'acme' }).click()
  await page.getByRole('table', { name: 'Members' }).getByRole('link', { name: ada.username }).waitFor()
  await check(page, 'tenant-members')
  await page.getByRole('link', { name: 'Clients', exact: true }).click()
  await page.getByLabel('Name', { exact: true }).fill('Reports exporter')
  await page.getByLabel('Scopes (permissions it may hold)').fill('reports:read')
  await page.getByRole('button', { name: 'Register' }).click()
  const secret = await page.getByTestId('client-secret').textContent()
  t.ok(secret !== null && secret.length >= 32, 'the new client\'s secret is shown')
  await check(page, 'clients')
  await page.getByRole('button', { name: 'I have copied it' }).click()
  t.equal(await page.getByTestId('client-secret').count(), 0, 'and gone once acknowledged')

  // --- rotate a key: the new key is announced with its activation time
  await page.getByRole('link', { name: 'Signing keys' }).click()
  await page.getByRole('table', { name: 'Signing keys' }).getByText('active').waitFor()
  await page.getByRole('button', { name: 'Rotate', exact: true }).click()
  await page.getByTestId('rotated').waitFor()
  const keys = await api('GET', '/v1/keys') as { items: Array<{ kid: string, status: string, activatesAt: string }> }
  const next = keys.items.find(k => k.status === 'next')
  t.ok(next, 'the rotation announced a next key')
  t.match(await page.getByTestId('rotated').textContent(), next!.kid.slice(0, 16), 'the console names it')
  await page.getByRole('table', { name: 'Signing keys' }).getByText('next').waitFor()
  await check(page, 'keys')

  // --- the audit log finds the changes
  await page.getByRole('link', { name: 'Audit log' }).click()
  await page.getByLabel('Action').fill('role.assign')
  await page.getByRole('button', { name: 'Apply' }).click()
  await page.getByRole('table', { name: 'Audit events' }).getByText('role.assign').first().waitFor()
  const actions = await page.getByRole('table', { name: 'Audit events' }).locator('tbody td:nth-child(2)').allTextContents()
  t.ok(actions.length > 0 && actions.every(a => a === 'role.assign'), 'the filter shows the assignment and nothing else')
  await check(page, 'audit')
  await page.getByLabel('Action').fill('key.rotate')
  await page.getByRole('button', { name: 'Apply' }).click()
  await page.getByRole('table', { name: 'Audit events' }).getByText('key.rotate').first().waitFor()

  await page.getByRole('link', { name: 'Your account' }).click()
  await page.getByRole('table', { name: 'Sessions' }).getByText('this one').waitFor()
  await check(page, 'account')

  t.same(problems, [], 'no CSP violation and no script error on any page')
  // tokens live 30 s: staying on this page, the console renews before expiry (prompt=none in its frame), and goes on working
  const renewal = await page.waitForRequest(r => {
    const u = new URL(r.url())
    return u.pathname === '/v1/auth/authorize' && u.searchParams.get('prompt') === 'none'
  }, { timeout: 45_000 })
  t.ok(renewal, `the console renewed its token silently (${silent.length} prompt=none requests in ${Math.round((Date.now() - started) / 1000)} s)`)
  await page.waitForResponse(r => new URL(r.url()).pathname === '/v1/auth/token' && r.status() === 200)
  await page.getByRole('link', { name: 'Users', exact: true }).click()
  await page.getByRole('table', { name: 'Users' }).getByRole('link', { name: ada.username }).waitFor()
  t.same(refused, [], 'and no API call met an expired token')
  t.ok(scripts.length > 0 && scripts.every(s => s.startsWith(issuer + '/console/assets/')), 'scripts come from Warden\'s console build only')

  // --- a tenant-scoped administrator sees only that tenant
  await api('POST', '/v1/roles', { name: 'acme-admin', description: 'Administers acme', permissions: ['users:read', 'roles:read', 'roles:assign', 'authz:check', 'audit:read'] })
  const tom = await newUser(app, 'tom')
  await api('PUT', `/v1/users/${tom.id}/roles/acme-admin`, { tenant: 'acme' })
  const outsider = await newUser(app, 'outsider')
  const second = await launchChromium(t, { width: 1280, height: 900 })
  const tp = second.page
  await tp.goto(issuer + '/console/')
  await tp.getByLabel(/^Tenant \(optional/).fill('acme')
  await tp.getByRole('button', { name: 'Sign in' }).click()
  await tp.waitForURL(u => u.pathname === '/signin')
  await tp.fill('#username', tom.username)
  await tp.fill('#password', tom.password)
  await tp.click('button[type=submit]')
  await tp.waitForURL(u => u.pathname === '/console/users')
  await tp.getByTestId('tenant-name').filter({ hasText: 'Acme Corporation' }).waitFor()
  await tp.getByRole('table', { name: 'Users' }).getByRole('link', { name: ada.username }).waitFor()
  const names = await tp.getByRole('table', { name: 'Users' }).locator('tbody td:first-child').allTextContents()
  t.same(names.sort(), [ada.username, tom.username].sort(), 'a tenant-scoped admin lists only the tenant\'s members')
  const nav = await tp.getByRole('navigation', { name: 'Console' }).getByRole('link').allTextContents()
  t.notOk(nav.includes('Signing keys') || nav.includes('Clients') || nav.includes('Tenants'), 'and is not offered what they may not do')
  await check(tp, 'tenant-admin-users')
  await tp.goto(`${issuer}/console/users/${outsider.id}`)
  await tp.getByRole('alert').filter({ hasText: /not found/i }).waitFor()
  t.pass('another tenant\'s user is not found')
})

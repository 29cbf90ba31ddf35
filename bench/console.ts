/**
 * `npm run bench:console`: the admin console's production bundle size (gzip) and its first
 * page's load time on loopback (issue 14), in a headless Chromium (Debian's, playwright-core).
 *
 *   --runs 15     page loads per measure (median and 90th percentile reported)
 *
 * The console is built first (vite build, as `npm start` does), Warden runs in this process on
 * embedded PGlite in memory, listening on localhost. Two loads are timed from navigation start:
 * - signed out: until the console's sign-in screen is interactive;
 * - signed in (a browser session at Warden exists, tokens only in memory, so each load signs in
 *   silently with prompt=none in a hidden frame, exchanges the code, then reads /v1/auth/me and
 *   the first page of users): until the users table shows its rows.
 * Prints a Markdown table and one JSON line.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { gzipSync } from 'node:zlib'
import { chromium } from 'playwright-core'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { CONSOLE_DIR } from '../src/routes/console/index.js'
import { ensureConsoleBuilt } from '../test/lib/console-build.js'

const { values } = parseArgs({ options: { runs: { type: 'string', default: '15' } } })
const runs = Number(values.runs)

await ensureConsoleBuilt()
const files = [join(CONSOLE_DIR, 'index.html'), ...readdirSync(join(CONSOLE_DIR, 'assets')).map(f => join(CONSOLE_DIR, 'assets', f))]
const sizes = files.map(f => {
  const body = readFileSync(f)
  return { file: f.slice(CONSOLE_DIR.length + 1), bytes: body.length, gzip: gzipSync(body, { level: 9 }).length }
})

const port = 43000 + Math.floor(Math.random() * 1000)
const issuer = `http://localhost:${port}`
const password = 'console bench password 1'
const config = loadConfig({ DATA_DIR: 'memory://', WARDEN_ISSUER: issuer, WARDEN_ADMIN_EMAIL: 'admin@warden.bench', WARDEN_ADMIN_PASSWORD: password, LOG_LEVEL: 'silent', RATE_LIMIT_MAX: '10000000' })
const app = await buildApp(config, { logger: false })
await app.listen({ host: '127.0.0.1', port })

const profile = await mkdtemp(join(tmpdir(), 'warden-console-bench-'))
const context = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1280, height: 900 },
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
})
const page = context.pages()[0] ?? await context.newPage()

async function timed (url: string, ready: () => Promise<unknown>): Promise<number> {
  const start = Date.now()
  await page.goto(url, { waitUntil: 'commit' })
  await ready()
  return Date.now() - start
}
const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return { median: s[Math.floor(s.length / 2)], p90: s[Math.min(s.length - 1, Math.floor(s.length * 0.9))], min: s[0] }
}

// warm up the server and the browser's cache once, then measure with a warm HTTP cache (hashed assets are immutable) and a cold one
const signedOut: number[] = []
const signedOutCold: number[] = []
for (let i = 0; i < runs + 1; i++) {
  const ms = await timed(issuer + '/console/', () => page.getByRole('button', { name: 'Sign in' }).waitFor())
  if (i > 0) signedOut.push(ms)
}
const cdp = await context.newCDPSession(page)
for (let i = 0; i < runs; i++) {
  await cdp.send('Network.clearBrowserCache')
  signedOutCold.push(await timed(issuer + '/console/', () => page.getByRole('button', { name: 'Sign in' }).waitFor()))
}

await page.getByRole('button', { name: 'Sign in' }).click()
await page.waitForURL(u => u.pathname === '/signin')
await page.fill('#username', 'admin@warden.bench')
await page.fill('#password', password)
await page.click('button[type=submit]')
await page.waitForURL(u => u.pathname === '/console/users')
const signedIn: number[] = []
for (let i = 0; i < runs + 1; i++) {
  const ms = await timed(issuer + '/console/users', () => page.getByRole('table', { name: 'Users' }).getByRole('link', { name: 'admin' }).waitFor())
  if (i > 0) signedIn.push(ms)
}

await context.close()
await rm(profile, { recursive: true, force: true })
await app.close()

const total = sizes.reduce((a, s) => ({ bytes: a.bytes + s.bytes, gzip: a.gzip + s.gzip }), { bytes: 0, gzip: 0 })
const kb = (n: number) => (n / 1024).toFixed(1)
console.log('| file | bytes | gzip |\n|---|---:|---:|')
for (const s of sizes) console.log(`| ${s.file} | ${kb(s.bytes)} kB | ${kb(s.gzip)} kB |`)
console.log(`| **total** | ${kb(total.bytes)} kB | **${kb(total.gzip)} kB** |`)
console.log('\n| load of /console on loopback (ms, n=' + runs + ') | median | p90 | min |\n|---|---:|---:|---:|')
for (const [name, xs] of [['signed out, cached assets: sign-in screen', signedOut], ['signed out, empty cache: sign-in screen', signedOutCold], ['signed in (silent prompt=none sign-in + /me + users page): users listed', signedIn]] as const) {
  const s = stats(xs)
  console.log(`| ${name} | ${s.median} | ${s.p90} | ${s.min} |`)
}
console.log(JSON.stringify({ sizes, total, signedOut: stats(signedOut), signedOutCold: stats(signedOutCold), signedIn: stats(signedIn) }))

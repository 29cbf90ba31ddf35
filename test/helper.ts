import { randomBytes } from 'node:crypto'
import { createServer, type AddressInfo } from 'node:net'
import postgres from 'postgres'
import { buildApp, type App } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { openDatabase, type DatabaseHandle } from '../src/db/client.js'
import { countQueries } from '../bench/lib/counting-db.js'

/**
 * Test isolation: each test file gets its own database. With TEST_DATABASE_URL set (a
 * PostgreSQL server URL), a fresh database is created there and dropped afterwards; otherwise
 * an in-memory PGlite is used.
 */
export const ADMIN_EMAIL = 'admin@warden.test'
export const ADMIN_PASSWORD = 'correct horse battery staple'
export const ISSUER = 'http://warden.test'

interface Teardown { teardown: (fn: () => unknown) => void }

export interface TestDatabase { handle: DatabaseHandle, url: string | null }

export async function createTestDatabase (t: Teardown, opts: { onQuery?: () => void } = {}): Promise<TestDatabase> {
  const serverUrl = process.env.TEST_DATABASE_URL
  if (!serverUrl) {
    const handle = await openDatabase({ databaseUrl: null, dataDir: 'memory://' })
    if (opts.onQuery) countQueries(handle, opts.onQuery)
    t.teardown(() => handle.close())
    return { handle, url: null }
  }
  const name = 'warden_test_' + randomBytes(6).toString('hex')
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database "${name}"`)
  const url = new URL(serverUrl)
  url.pathname = '/' + name
  // a generous deadline: test files run two at a time against one server on a loaded machine
  // (test/outage.test.ts opens its own handles with a short one)
  const handle = await openDatabase({ databaseUrl: url.toString(), dataDir: 'memory://', poolSize: 5, timeoutMs: 10_000 })
  if (opts.onQuery) countQueries(handle, opts.onQuery)
  t.teardown(async () => {
    await handle.close()
    await admin.unsafe(`drop database if exists "${name}" with (force)`)
    await admin.end()
  })
  return { handle, url: url.toString() }
}

export function testConfig (url: string | null, env: Record<string, string> = {}) {
  return loadConfig({
    DATA_DIR: 'memory://',
    WARDEN_ISSUER: ISSUER,
    WARDEN_ADMIN_EMAIL: ADMIN_EMAIL,
    WARDEN_ADMIN_PASSWORD: ADMIN_PASSWORD,
    LOG_LEVEL: 'silent',
    // tests make many requests from one address; the rate limit has a test of its own
    RATE_LIMIT_MAX: '10000000',
    ...env,
    ...(url ? { DATABASE_URL: url } : {})
  })
}

/** Builds an app on a fresh database (or on `db`, to run several instances on one database). */
export async function build (t: Teardown, env: Record<string, string> = {}, db?: TestDatabase): Promise<App & { testDb: TestDatabase }> {
  const database = db ?? await createTestDatabase(t)
  const app = await buildApp(testConfig(database.url, env), { database: database.handle, logger: env.LOG_LEVEL ? undefined : false })
  await app.ready()
  t.teardown(() => app.close())
  return Object.assign(app, { testDb: database })
}

export interface TokenSet { access_token: string, refresh_token?: string, expires_in: number, scope: string, token_type: string }

export async function login (app: App, username: string, password: string, extra: Record<string, string> = {}): Promise<TokenSet> {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/auth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ grant_type: 'password', username, password, ...extra }).toString()
  })
  if (res.statusCode !== 200) throw new Error(`login ${username} failed: ${res.statusCode} ${res.body}`)
  return res.json()
}

export const loginAdmin = (app: App, extra?: Record<string, string>) => login(app, ADMIN_EMAIL, ADMIN_PASSWORD, extra)

let counter = 0
/** Registers a fresh user (the default role in the default tenant) and logs in. */
export async function newUser (app: App, prefix = 'user') {
  counter++
  const username = `${prefix}${counter}_${randomBytes(3).toString('hex')}`
  const password = `pw-${randomBytes(8).toString('hex')}`
  const email = `${username}@example.test`
  const res = await app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email, username, password } })
  if (res.statusCode !== 201) throw new Error(`register failed: ${res.statusCode} ${res.body}`)
  const user = res.json() as { id: string }
  const tokens = await login(app, username, password)
  return { id: user.id, username, email, password, tokens, token: tokens.access_token }
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

/** A free TCP port on loopback (openid-client insists that the issuer is the URL it discovers: pick the port first). */
export async function freePort (): Promise<number> {
  const probe = createServer()
  await new Promise<void>(resolve => probe.listen(0, '127.0.0.1', resolve))
  const { port } = probe.address() as AddressInfo
  await new Promise<void>(resolve => probe.close(() => resolve()))
  return port
}

/**
 * An app listening on loopback whose issuer is its own URL, for clients that talk HTTP to it
 * (openid-client, fetch, a browser). `host: 'localhost'` for Chromium, for which localhost is a
 * secure context, so that Secure (`__Host-`) cookies work on plain http.
 */
export async function buildListening (t: Teardown, env: Record<string, string> = {}, host: '127.0.0.1' | 'localhost' = '127.0.0.1') {
  const port = await freePort()
  const issuer = `http://${host}:${port}`
  const app = await build(t, { WARDEN_ISSUER: issuer, ...env })
  await app.listen({ host: '127.0.0.1', port })
  return { app, issuer }
}

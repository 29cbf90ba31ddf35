import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { eq } from 'drizzle-orm'
import { calculateJwkThumbprint, createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose'
import { build, bearer, createTestDatabase, loginAdmin, newUser, ISSUER } from '../helper.js'
import { auditEvents, signingKeys } from '../../src/db/schema/index.js'
import type { App } from '../../src/app.js'

const run = promisify(execFile)

interface KeyItem { kid: string, alg: string, status: string, createdAt: string, retiresAt: string | null }

async function keyList (app: App, token: string): Promise<KeyItem[]> {
  const res = await app.inject({ method: 'GET', url: '/v1/keys', headers: bearer(token) })
  if (res.statusCode !== 200) throw new Error(`GET /v1/keys: ${res.statusCode} ${res.body}`)
  return res.json().items
}

async function jwks (app: App): Promise<JSONWebKeySet> {
  return (await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json()
}

async function rotate (app: App, token: string) {
  const res = await app.inject({ method: 'POST', url: '/v1/keys/rotate', headers: bearer(token) })
  if (res.statusCode !== 201) throw new Error(`rotate: ${res.statusCode} ${res.body}`)
  return res.json() as { kid: string, alg: string, createdAt: string }
}

const me = (app: App, token: string) => app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(token) })
const kidOf = (token: string) => decodeProtectedHeader(token).kid

async function until (what: string, check: () => Promise<boolean>, ms = 1000) {
  const deadline = Date.now() + ms
  while (!await check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

t.test('list and rotate', async t => {
  const app = await build(t)
  const admin = await loginAdmin(app)

  t.test('access', async t => {
    t.equal((await app.inject({ method: 'GET', url: '/v1/keys' })).statusCode, 401)
    const user = await newUser(app)
    t.equal((await app.inject({ method: 'GET', url: '/v1/keys', headers: bearer(user.token) })).statusCode, 403)
    t.equal((await app.inject({ method: 'POST', url: '/v1/keys/rotate', headers: bearer(user.token) })).statusCode, 403)
  })

  const [first] = await keyList(app, admin.access_token)
  t.match(first, { alg: 'EdDSA', status: 'active', retiresAt: null })
  t.equal(kidOf(admin.access_token), first.kid, 'the active key signs')

  const rotatedAt = Date.now()
  const rotated = await rotate(app, admin.access_token)
  t.equal(rotated.alg, 'EdDSA')
  t.not(rotated.kid, first.kid)
  t.ok(Date.parse(rotated.createdAt) > 0)

  const items = await keyList(app, admin.access_token)
  t.equal(items.length, 2)
  const next = items.find(k => k.kid === rotated.kid)!
  const old = items.find(k => k.kid === first.kid)!
  t.match(next, { status: 'active', retiresAt: null })
  t.equal(old.status, 'published', 'the old key is still published')
  const retiresIn = Date.parse(old.retiresAt!) - rotatedAt
  t.ok(retiresIn >= 900_000 && retiresIn <= 900_000 + 65_000, `retires when its last token has expired (${retiresIn} ms)`)

  const published = (await jwks(app)).keys.map(k => k.kid).sort()
  t.same(published, [first.kid, rotated.kid].sort(), 'JWKS publishes both')

  const fresh = await loginAdmin(app)
  t.equal(kidOf(fresh.access_token), rotated.kid, 'new tokens are signed by the new key')
  t.equal((await me(app, admin.access_token)).statusCode, 200, 'tokens of the old key still verify')
  t.equal((await me(app, fresh.access_token)).statusCode, 200)

  await app.audit.flush()
  const [event] = await app.db.select().from(auditEvents).where(eq(auditEvents.targetId, rotated.kid))
  t.match(event, { action: 'key.rotate', outcome: 'success', targetType: 'signing_key' })

  t.test('a key retires once its last token has expired', async t => {
    // travel past retiresAt instead of waiting 16 minutes
    await app.db.update(signingKeys).set({ retiresAt: new Date(Date.now() - 1000) }).where(eq(signingKeys.kid, first.kid))
    await app.tokens.reload()
    t.same((await jwks(app)).keys.map(k => k.kid), [rotated.kid], 'gone from the JWKS')
    t.equal((await keyList(app, fresh.access_token)).find(k => k.kid === first.kid)?.status, 'retired')
    const res = await me(app, admin.access_token)
    t.equal(res.statusCode, 401, 'a token of a retired key no longer verifies')

    await rotate(app, fresh.access_token)
    const [row] = await app.db.select().from(signingKeys).where(eq(signingKeys.kid, first.kid))
    t.ok(row.retiredAt instanceof Date, 'marked retired at the next rotation')
    t.equal(row.privateKey, '', 'and its private part is erased')
    const statuses = (await keyList(app, fresh.access_token)).map(k => k.status)
    t.same(statuses, ['active', 'published', 'retired'], 'newest first')
  })
})

for (const [alg, kty, crv] of [['EdDSA', 'OKP', 'Ed25519'], ['ES256', 'EC', 'P-256'], ['RS256', 'RSA', undefined]] as const) {
  t.test(`SIGNING_ALG=${alg}`, async t => {
    const app = await build(t, { SIGNING_ALG: alg })
    const admin = await loginAdmin(app)
    const header = decodeProtectedHeader(admin.access_token)
    t.equal(header.alg, alg)
    t.equal(header.typ, 'at+jwt')
    const set = await jwks(app)
    t.equal(set.keys.length, 1)
    const [jwk] = set.keys
    t.match(jwk, { kty, kid: header.kid, alg, use: 'sig' })
    if (crv) t.equal(jwk.crv, crv)
    for (const priv of ['d', 'p', 'q', 'dp', 'dq', 'qi']) t.notOk(priv in jwk, `no ${priv} in the JWKS`)
    t.equal(await calculateJwkThumbprint(jwk), jwk.kid, 'kid is the RFC 7638 thumbprint')
    const { payload } = await jwtVerify(admin.access_token, createLocalJWKSet(set), { issuer: ISSUER, audience: 'warden', algorithms: [alg], typ: 'at+jwt' })
    t.equal(payload.scope, '*')
    t.equal((await me(app, admin.access_token)).statusCode, 200)
    const rotated = await rotate(app, admin.access_token)
    t.equal(rotated.alg, alg)
    const fresh = await loginAdmin(app)
    t.equal(kidOf(fresh.access_token), rotated.kid)
    await jwtVerify(fresh.access_token, createLocalJWKSet(await jwks(app)), { issuer: ISSUER, audience: 'warden', algorithms: [alg], typ: 'at+jwt' })
  })
}

t.test('KEY_ENCRYPTION_SECRET encrypts private keys at rest', async t => {
  const db = await createTestDatabase(t)
  const secret = 'a-long-enough-key-encryption-secret'
  const app = await build(t, { KEY_ENCRYPTION_SECRET: secret }, db)
  const [row] = await app.db.select().from(signingKeys)
  t.equal(row.encrypted, true)
  t.notMatch(row.privateKey, /BEGIN|PRIVATE KEY/, 'the stored private key is not PEM')
  t.match(row.privateKey, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, 'iv.tag.ciphertext')
  const admin = await loginAdmin(app)
  t.equal((await me(app, admin.access_token)).statusCode, 200, 'and the app still signs')
  const rotated = await rotate(app, admin.access_token)
  const [next] = await app.db.select().from(signingKeys).where(eq(signingKeys.kid, rotated.kid))
  t.equal(next.encrypted, true, 'rotated keys are encrypted too')
  t.notMatch(next.privateKey, /BEGIN/)

  const same = await build(t, { KEY_ENCRYPTION_SECRET: secret }, db)
  t.equal((await me(same, admin.access_token)).statusCode, 200, 'another instance with the secret verifies')
  await t.rejects(build(t, { KEY_ENCRYPTION_SECRET: 'not-the-right-secret-at-all' }, db), /KEY_ENCRYPTION_SECRET is not the secret it was encrypted with/, 'a wrong secret fails the start')
  await t.rejects(build(t, {}, db), /is encrypted: set KEY_ENCRYPTION_SECRET/, 'no secret fails the start')
})

t.test('rotation with two instances on one database', async t => {
  const db = await createTestDatabase(t)
  // Started together on an empty database: one signing key between them. (Embedded PGlite has
  // one process by nature, and its migrations are not meant to run twice at once.)
  const [a, b] = db.url !== null
    ? await Promise.all([build(t, {}, db), build(t, {}, db)])
    : [await build(t, {}, db), await build(t, {}, db)]
  t.equal((await a.db.select().from(signingKeys)).length, 1, 'one key, not one per instance')
  const before = await loginAdmin(a)
  const beforeB = await loginAdmin(b)
  t.equal(kidOf(before.access_token), kidOf(beforeB.access_token), 'one key between them')

  const rotated = await rotate(a, before.access_token)
  let signedByB = ''
  const started = Date.now()
  await until('B to sign with the new key', async () => {
    signedByB = (await loginAdmin(b)).access_token
    return kidOf(signedByB) === rotated.kid
  }, 1000)
  t.ok(Date.now() - started < 1000, `B switched within ${Date.now() - started} ms`)
  t.same((await jwks(b)).keys.map(k => k.kid).sort(), [kidOf(before.access_token), rotated.kid].sort(), 'B publishes both keys')

  const afterA = (await loginAdmin(a)).access_token
  for (const [name, app] of [['A', a], ['B', b]] as const) {
    t.equal((await me(app, before.access_token)).statusCode, 200, `${name} verifies the old token`)
    t.equal((await me(app, afterA)).statusCode, 200, `${name} verifies A's new token`)
    t.equal((await me(app, signedByB)).statusCode, 200, `${name} verifies B's new token`)
  }
})

t.test('CLI rotate-keys', { skip: process.env.TEST_DATABASE_URL ? false : 'needs PostgreSQL (TEST_DATABASE_URL): PGlite in memory is not shared with a child process' }, async t => {
  const app = await build(t)
  const before = await loginAdmin(app)
  const { KEY_ENCRYPTION_SECRET: _unused, ...inherited } = process.env
  const env = { ...inherited, DATABASE_URL: app.testDb.url!, WARDEN_ISSUER: ISSUER, LOG_LEVEL: 'silent' }
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'rotate-keys'], { env, cwd: process.cwd() })
  const match = /new signing key (\S+) \(EdDSA\) is active/.exec(stdout)
  t.ok(match, stdout)
  const kid = match![1]
  await until('the running app to load the new key', async () => kidOf((await loginAdmin(app)).access_token) === kid, 2000)
  t.same((await jwks(app)).keys.map(k => k.kid).sort(), [kidOf(before.access_token), kid].sort())
  t.equal((await me(app, before.access_token)).statusCode, 200, 'the old token still verifies')
})

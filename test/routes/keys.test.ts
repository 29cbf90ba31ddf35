import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { eq } from 'drizzle-orm'
import { decodeJwt } from 'jose'
import { build, createTestDatabase, loginAdmin, newUser, bearer, ISSUER } from '../helper.js'
import { auditEvents, signingKeys } from '../../src/db/schema/index.js'
import { jwks, keyList, keyOf, kidOf, kids, me, rotate, until, SKEW_MS, TTL_MS } from './keys-helper.js'

const run = promisify(execFile)

t.test('list and an announced rotation (the default KEY_ACTIVATION_DELAY, 600 s)', async t => {
  const app = await build(t)
  const admin = await loginAdmin(app)

  t.test('access', async t => {
    t.equal((await app.inject({ method: 'GET', url: '/v1/keys' })).statusCode, 401)
    const user = await newUser(app)
    t.equal((await app.inject({ method: 'GET', url: '/v1/keys', headers: bearer(user.token) })).statusCode, 403)
    t.equal((await app.inject({ method: 'POST', url: '/v1/keys/rotate', headers: bearer(user.token) })).statusCode, 403)
    t.equal((await app.inject({ method: 'POST', url: '/v1/keys/rotate?immediate=maybe', headers: bearer(admin.access_token) })).statusCode, 400, 'immediate is a boolean')
  })

  const [first] = await keyList(app, admin.access_token)
  t.match(first, { alg: 'ES256', status: 'active', retiresAt: null }, 'ES256 by default')
  t.equal(first.activatesAt, first.createdAt, 'the first key signs from its creation')
  t.equal(kidOf(admin.access_token), first.kid, 'the active key signs')

  const before = Date.now()
  const rotated = await rotate(app, admin.access_token)
  const after = Date.now()
  t.equal(rotated.alg, 'ES256')
  t.not(rotated.kid, first.kid)
  const activatesAt = Date.parse(rotated.activatesAt)
  t.equal(activatesAt - Date.parse(rotated.createdAt), 600_000, 'activatesAt = createdAt + KEY_ACTIVATION_DELAY')
  t.ok(activatesAt >= before + 600_000 && activatesAt <= after + 600_000, 'activatesAt is 600 s after the rotation')

  const items = await keyList(app, admin.access_token)
  t.equal(items.length, 2)
  t.same(items.map(k => k.kid), [rotated.kid, first.kid], 'newest first')
  const next = items[0]
  const old = items[1]
  t.match(next, { status: 'next', activatesAt: rotated.activatesAt, retiresAt: null })
  t.equal(old.status, 'active', 'the old key signs until the new one activates')
  t.equal(Date.parse(old.retiresAt!), activatesAt + TTL_MS + SKEW_MS, 'and is published until its last token can have expired')

  const set = await jwks(app)
  t.same(set.keys.map(k => k.kid), [first.kid, rotated.kid], 'the JWKS announces the next key at once, after the signing one')
  const res = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
  t.equal(res.headers['cache-control'], 'public, max-age=300', 'max-age: half of KEY_ACTIVATION_DELAY, at most 300')

  const fresh = await loginAdmin(app)
  t.equal(kidOf(fresh.access_token), first.kid, 'new tokens are still signed by the old key')
  t.equal((await me(app, admin.access_token)).statusCode, 200)

  await app.audit.flush()
  const [event] = await app.db.select().from(auditEvents).where(eq(auditEvents.targetId, rotated.kid))
  t.match(event, { action: 'key.rotate', outcome: 'success', targetType: 'signing_key' })

  t.test('at activatesAt the new key signs and the old one is published', async t => {
    // travel to the activation instead of waiting 10 minutes (the clock-driven switch is tested below)
    const activated = new Date(Date.now() - 1000)
    await app.db.update(signingKeys).set({ activatedAt: activated }).where(eq(signingKeys.kid, rotated.kid))
    await app.db.update(signingKeys).set({ retiresAt: new Date(activated.getTime() + TTL_MS + SKEW_MS) }).where(eq(signingKeys.kid, first.kid))
    await app.tokens.reload()
    const signed = await loginAdmin(app)
    t.equal(kidOf(signed.access_token), rotated.kid, 'the new key signs')
    t.equal((await keyOf(app, signed.access_token, rotated.kid)).status, 'active')
    t.equal((await keyOf(app, signed.access_token, first.kid)).status, 'published')
    t.same(await kids(app), [rotated.kid, first.kid], 'both published, the signing key first')
    t.equal((await me(app, admin.access_token)).statusCode, 200, 'tokens of the old key still verify')
    t.equal((await me(app, signed.access_token)).statusCode, 200)
  })

  t.test('a key retires once its last token has expired', async t => {
    await app.db.update(signingKeys).set({ retiresAt: new Date(Date.now() - 1000) }).where(eq(signingKeys.kid, first.kid))
    await app.tokens.reload()
    const current = (await loginAdmin(app)).access_token
    t.same(await kids(app), [rotated.kid], 'gone from the JWKS')
    t.equal((await keyOf(app, current, first.kid)).status, 'retired')
    t.equal((await me(app, admin.access_token)).statusCode, 401, 'a token of a retired key no longer verifies')

    const third = await rotate(app, current)
    const [row] = await app.db.select().from(signingKeys).where(eq(signingKeys.kid, first.kid))
    t.ok(row.retiredAt instanceof Date, 'marked retired at the next rotation')
    t.equal(row.privateKey, '', 'and its private part is erased')
    t.same((await keyList(app, current)).map(k => k.status), ['next', 'active', 'retired'], 'newest first')

    // a second announcement replaces the first: the key announced before never signed
    const fourth = await rotate(app, current)
    const list = await keyList(app, current)
    t.same(list.map(k => [k.kid, k.status]), [[fourth.kid, 'next'], [third.kid, 'retired'], [rotated.kid, 'active'], [first.kid, 'retired']])
    t.equal(Date.parse(list[2].retiresAt!), Date.parse(fourth.activatesAt) + TTL_MS + SKEW_MS, 'the signer signs until the latest announced key activates')
    const [replaced] = await app.db.select().from(signingKeys).where(eq(signingKeys.kid, third.kid))
    t.equal(replaced.privateKey, '', 'the replaced key\'s private part is erased')
    t.same(await kids(app), [rotated.kid, fourth.kid])
  })
})

t.test('?immediate=true: the new key signs at once', async t => {
  const db = await createTestDatabase(t)
  // Started together on an empty database: one signing key between them. (Embedded PGlite has
  // one process by nature, and its migrations are not meant to run twice at once.)
  const [a, b] = db.url !== null
    ? await Promise.all([build(t, {}, db), build(t, {}, db)])
    : [await build(t, {}, db), await build(t, {}, db)]
  t.equal((await a.db.select().from(signingKeys)).length, 1, 'one key, not one per instance')
  const admin = await loginAdmin(a)
  const oldKid = kidOf(admin.access_token)!
  t.equal(kidOf((await loginAdmin(b)).access_token), oldKid, 'one key between them')

  const announced = await rotate(a, admin.access_token)
  t.equal((await keyOf(a, admin.access_token, announced.kid)).status, 'next')
  const before = Date.now()
  const rotated = await rotate(a, admin.access_token, '?immediate=true')
  const after = Date.now()
  const activatesAt = Date.parse(rotated.activatesAt)
  t.ok(activatesAt >= before && activatesAt <= after, 'activatesAt is now')
  t.equal(kidOf((await loginAdmin(a)).access_token), rotated.kid, 'A signs with it at once')
  await until('B to sign with the new key', async () => kidOf((await loginAdmin(b)).access_token) === rotated.kid)

  const list = await keyList(a, admin.access_token)
  t.same(list.map(k => [k.kid, k.status]), [[rotated.kid, 'active'], [announced.kid, 'retired'], [oldKid, 'published']], 'the key announced before never signs')
  t.equal(Date.parse(list[2].retiresAt!), activatesAt + TTL_MS + SKEW_MS, 'the old key signed until now')
  t.same(await kids(b), [rotated.kid, oldKid])
  t.equal((await me(b, admin.access_token)).statusCode, 200, 'tokens of the old key still verify')

  await a.audit.flush()
  const [event] = await a.db.select().from(auditEvents).where(eq(auditEvents.targetId, rotated.kid))
  t.match(event.after, { kid: rotated.kid, immediate: true })
})

t.test('KEY_ACTIVATION_DELAY=0: every rotation signs at once, the JWKS is not cached', async t => {
  const app = await build(t, { KEY_ACTIVATION_DELAY: '0' })
  const admin = await loginAdmin(app)
  t.equal((await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).headers['cache-control'], 'public, max-age=0')
  const rotated = await rotate(app, admin.access_token, '?immediate=false')
  t.equal(rotated.activatesAt, rotated.createdAt)
  t.equal(kidOf((await loginAdmin(app)).access_token), rotated.kid)
})

t.test('CLI rotate-keys', { skip: process.env.TEST_DATABASE_URL ? false : 'needs PostgreSQL (TEST_DATABASE_URL): PGlite in memory is not shared with a child process' }, async t => {
  const app = await build(t)
  const before = await loginAdmin(app)
  const oldKid = kidOf(before.access_token)!
  const { KEY_ENCRYPTION_SECRET: _unused, KEY_ACTIVATION_DELAY: _delay, ...inherited } = process.env
  const env = { ...inherited, DATABASE_URL: app.testDb.url!, WARDEN_ISSUER: ISSUER, LOG_LEVEL: 'silent' }
  const cli = async (...args: string[]) => (await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'rotate-keys', ...args], { env, cwd: process.cwd() })).stdout

  const announced = /new signing key (\S+) \(ES256\) announced; it signs from (\S+)\n/.exec(await cli())
  t.ok(announced, 'rotate-keys announces')
  const [, nextKid, at] = announced!
  await until('the running app to announce the new key', async () => (await kids(app)).includes(nextKid))
  const next = await keyOf(app, before.access_token, nextKid)
  t.match(next, { status: 'next', activatesAt: at })
  t.equal(Date.parse(at) - Date.parse(next.createdAt), 600_000, 'it signs KEY_ACTIVATION_DELAY later')
  t.equal(kidOf((await loginAdmin(app)).access_token), oldKid, 'the old key still signs')

  const immediate = /new signing key (\S+) \(ES256\) signs from now \((\S+)\)\n/.exec(await cli('--immediate'))
  t.ok(immediate, 'rotate-keys --immediate')
  const kid = immediate![1]
  await until('the running app to sign with the new key', async () => kidOf((await loginAdmin(app)).access_token) === kid)
  t.same((await kids(app)).sort(), [oldKid, kid].sort(), 'the announced key, which never signed, is gone')
  t.equal((await me(app, before.access_token)).statusCode, 200, 'the old token still verifies')
  t.ok(decodeJwt(before.access_token).exp! * 1000 < Date.parse((await keyOf(app, before.access_token, oldKid)).retiresAt!), 'the old key outlives its tokens')
})

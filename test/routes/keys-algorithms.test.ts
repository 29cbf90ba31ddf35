import t from 'tap'
import { eq } from 'drizzle-orm'
import { calculateJwkThumbprint, createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose'
import { build, createTestDatabase, loginAdmin, ISSUER } from '../helper.js'
import { signingKeys } from '../../src/db/schema/index.js'
import { jwks, kidOf, me, rotate } from './keys-helper.js'

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
    const rotated = await rotate(app, admin.access_token, '?immediate=true')
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

  // started while a key is announced: it decrypts both the signing key and the next one
  const same = await build(t, { KEY_ENCRYPTION_SECRET: secret }, db)
  t.equal((await me(same, admin.access_token)).statusCode, 200, 'another instance with the secret verifies')
  t.equal(kidOf((await loginAdmin(same)).access_token), kidOf(admin.access_token), 'and signs with the active key')
  await t.rejects(build(t, { KEY_ENCRYPTION_SECRET: 'not-the-right-secret-at-all' }, db), /KEY_ENCRYPTION_SECRET is not the secret it was encrypted with/, 'a wrong secret fails the start')
  await t.rejects(build(t, {}, db), /is encrypted: set KEY_ENCRYPTION_SECRET/, 'no secret fails the start')
})

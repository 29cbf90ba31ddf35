import t, { type Test } from 'tap'
import { createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto'
import { createServer } from 'node:http'
import { eq } from 'drizzle-orm'
import { decodeJwt } from 'jose'
import { build, bearer, login, newUser, ISSUER } from '../helper.js'
import { sessions, signingKeys, users } from '../../src/db/schema/index.js'
import { changed } from '../../src/access/changes.js'

/**
 * Each forged or damaged token must be refused with 401 and
 * `WWW-Authenticate: Bearer realm="warden", error="invalid_token"`. The forger signs with the
 * service's real private key (read from signing_keys: stored as PEM when KEY_ENCRYPTION_SECRET is
 * unset), so a refusal proves the claim or header check, not a bad signature.
 */
const app = await build(t)
const [keyRow] = await app.db.select().from(signingKeys)
if (keyRow.encrypted) throw new Error('expected an unencrypted signing key (KEY_ENCRYPTION_SECRET unset)')
const realKey = createPrivateKey(keyRow.privateKey)
const kid = keyRow.kid
const victim = await newUser(app, 'victim')
const victimClaims = decodeJwt(victim.token)

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')

type Signer = (input: Buffer) => Buffer
// JWS signatures: Ed25519 as is, ECDSA as r || s (IEEE P1363, RFC 7518 §3.4), RSA with SHA-256
const withKey = (key: KeyObject): Signer => input => key.asymmetricKeyType === 'ed25519'
  ? sign(null, input, key)
  : sign('sha256', input, key.asymmetricKeyType === 'ec' ? { key, dsaEncoding: 'ieee-p1363' } : key)
const hmac = (secret: Buffer | string): Signer => input => createHmac('sha256', secret).update(input).digest()

function forge (payload: Record<string, unknown>, header: Record<string, unknown> = {}, signer: Signer = withKey(realKey)): string {
  const input = b64({ alg: 'ES256', typ: 'at+jwt', kid, ...header }) + '.' + b64(payload)
  return input + '.' + signer(Buffer.from(input)).toString('base64url')
}

function claims (overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000)
  const base: Record<string, unknown> = {
    iss: ISSUER,
    aud: 'warden',
    sub: victim.id,
    tid: victimClaims.tid,
    sid: victimClaims.sid,
    scope: 'posts:read',
    jti: randomUUID(),
    iat: now,
    nbf: now,
    exp: now + 300
  }
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete base[name]
    else base[name] = value
  }
  return base
}

const me = (headers: Record<string, string>, url = '/v1/auth/me') => app.inject({ method: 'GET', url, headers })

async function refused (t: Test, token: string, name: string, code = 'INVALID_TOKEN') {
  const res = await me(bearer(token))
  t.equal(res.statusCode, 401, `${name}: ${res.body}`)
  t.match(res.headers['www-authenticate'], /^Bearer realm="warden", error="invalid_token"/, name)
  t.match(res.headers['content-type'], /^application\/problem\+json/, name)
  t.equal(res.json().code, code, name)
  t.equal(res.json().status, 401, name)
}

t.test('control: a token forged with the real key and right claims is accepted', async t => {
  const res = await me(bearer(forge(claims())))
  t.equal(res.statusCode, 200, res.body)
  t.equal(res.json().id, victim.id)
  t.same(res.json().scopes, ['posts:read'])
})

t.test('algorithm attacks', async t => {
  const payload = claims()
  const unsigned = b64({ alg: 'none', typ: 'at+jwt', kid }) + '.' + b64(payload) + '.'
  await refused(t, unsigned, 'alg none, unsigned')
  await refused(t, b64({ alg: 'none', typ: 'at+jwt', kid }) + '.' + b64(payload), 'alg none, two parts')
  await refused(t, b64({ alg: 'NONE', typ: 'at+jwt', kid }) + '.' + b64(payload) + '.', 'alg NONE')
  const valid = forge(payload)
  await refused(t, valid.slice(0, valid.lastIndexOf('.') + 1), 'signature stripped')
  await refused(t, valid.slice(0, valid.lastIndexOf('.') + 1) + 'AAAA', 'signature replaced')

  const attacker = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  await refused(t, forge(payload, {}, withKey(attacker.privateKey)), 'signature from another P-256 key with the real kid')
  // CVE-2022-21449 ("psychic signatures"): r = s = 0 must not verify
  await refused(t, valid.slice(0, valid.lastIndexOf('.') + 1) + Buffer.alloc(64).toString('base64url'), 'ECDSA signature r = s = 0')
  const der: Signer = input => sign('sha256', input, realKey)
  await refused(t, forge(payload, {}, der), 'ECDSA signature DER-encoded instead of r || s')

  const publicPem = createPublicKey(realKey).export({ format: 'pem', type: 'spki' }).toString()
  const publicJwk = JSON.stringify(keyRow.publicJwk)
  const jwksBody = (await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).body
  for (const [name, secret] of [
    ['public PEM', publicPem],
    ['public JWK', publicJwk],
    ['JWKS document', jwksBody],
    ['raw x coordinate', Buffer.from((keyRow.publicJwk as { x: string }).x, 'base64url')]
  ] as Array<[string, string | Buffer]>) {
    await refused(t, forge(payload, { alg: 'HS256' }, hmac(secret)), `HS256 keyed with the ${name}`)
  }

  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
  await refused(t, forge(payload, { alg: 'RS256' }, withKey(rsa.privateKey)), 'RS256 header on the ES256 key id')
  await refused(t, forge(payload, { alg: 'EdDSA' }, withKey(generateKeyPairSync('ed25519').privateKey)), 'EdDSA header')
  await refused(t, forge(payload, { alg: 'ES384' }), 'ES384 header on the ES256 key id')
  await refused(t, forge(payload, { alg: 'es256' }), 'a different spelling of the algorithm')
})

t.test('claim checks', async t => {
  const now = Math.floor(Date.now() / 1000)
  await refused(t, forge(claims({ iss: 'http://evil.test' })), 'wrong iss')
  await refused(t, forge(claims({ iss: ISSUER + '/' })), 'iss with a trailing slash')
  await refused(t, forge(claims({ aud: 'other-service' })), 'wrong aud')
  await refused(t, forge(claims({ aud: ['other-service'] })), 'aud array without warden')
  await refused(t, forge(claims({ exp: now - 120, iat: now - 1000, nbf: now - 1000 })), 'expired', 'TOKEN_EXPIRED')
  await refused(t, forge(claims({ nbf: now + 600 })), 'nbf in the future')
  await refused(t, forge(claims({ exp: undefined })), 'missing exp')
  await refused(t, forge(claims({ exp: String(now + 300) })), 'exp as a string')
  await refused(t, forge(claims({ sub: undefined })), 'missing sub')
  await refused(t, forge(claims({ iss: undefined })), 'missing iss')
  await refused(t, forge(claims({ aud: undefined })), 'missing aud')
  await refused(t, forge(claims({ tid: undefined })), 'missing tid')
  await refused(t, forge(claims({ scope: ['*'] })), 'scope not a string')
  await refused(t, forge(claims({ sub: randomUUID() })), 'sub of a user that does not exist (sid of another)')
  const other = await newUser(app, 'other')
  await refused(t, forge(claims({ sub: other.id })), 'sid that belongs to another user')
  await refused(t, forge(claims({ sid: undefined })), 'no sid: a client token for a client that does not exist')
  await refused(t, forge(claims({ sid: randomUUID() })), 'sid of no session')
  await refused(t, b64({ alg: 'ES256', typ: 'at+jwt', kid }) + '.' + 'bm90IGpzb24' + '.' + 'AAAA', 'payload not JSON')
})

t.test('header checks', async t => {
  const payload = claims()
  await refused(t, forge(payload, { typ: 'JWT' }), 'typ JWT')
  await refused(t, forge(payload, { typ: undefined }), 'no typ')
  await refused(t, forge(payload, { typ: 'at+jwt', crit: ['exp'] }), 'crit header')
  await refused(t, forge(payload, { crit: ['x-custom'], 'x-custom': 1 }), 'crit naming an unknown header')
  await refused(t, forge(payload, { kid: 'no-such-key' }), 'unknown kid')
  await refused(t, forge(payload, { kid: undefined }), 'no kid')
  await refused(t, forge(payload, { kid: '../../../../etc/passwd' }), 'kid path traversal')
  await refused(t, forge(payload, { kid: "' or 1=1 --" }), 'kid SQL injection')
  await refused(t, forge(payload, { kid: { $ne: null } }), 'kid not a string')
  await refused(t, forge(payload, { kid: '__proto__' }), 'kid __proto__')
  await refused(t, forge(payload, { kid: 'constructor' }), 'kid constructor')
  await refused(t, b64('["ES256"]') + '.' + b64(payload) + '.AAAA', 'header not an object')
  await refused(t, '!!!.' + b64(payload) + '.AAAA', 'header not base64url JSON')

  const attacker = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const attackerJwk = { ...attacker.publicKey.export({ format: 'jwk' }), kid: 'attacker' }
  await refused(t, forge(payload, { jwk: attackerJwk, kid: undefined }, withKey(attacker.privateKey)), 'embedded jwk, no kid')
  await refused(t, forge(payload, { jwk: attackerJwk, kid: 'attacker' }, withKey(attacker.privateKey)), 'embedded jwk with its kid')
  await refused(t, forge(payload, { jwk: { ...attackerJwk, kid } }, withKey(attacker.privateKey)), 'embedded jwk with the real kid')

  // a key server the token points at: it must never be asked
  let fetched = 0
  const server = createServer((_req, res) => {
    fetched++
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ keys: [attackerJwk] }))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise(resolve => server.close(resolve)))
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/jwks.json`
  await refused(t, forge(payload, { jku: url, kid: 'attacker' }, withKey(attacker.privateKey)), 'jku header')
  await refused(t, forge(payload, { x5u: url, kid: 'attacker' }, withKey(attacker.privateKey)), 'x5u header')
  await refused(t, forge(payload, { jku: url }, withKey(attacker.privateKey)), 'jku header with the real kid')
  t.equal(fetched, 0, 'no key was fetched from a URL in a token')
})

t.test('where the token may come from', async t => {
  const good = forge(claims())
  for (const url of [`/v1/auth/me?access_token=${good}`, `/v1/auth/me?token=${good}`]) {
    const res = await me({}, url)
    t.equal(res.statusCode, 401, url)
    t.equal(res.json().code, 'UNAUTHENTICATED')
    t.equal(res.headers['www-authenticate'], 'Bearer realm="warden"', 'no credentials: no error attribute')
  }
  const form = await app.inject({ method: 'POST', url: '/v1/auth/logout', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `access_token=${good}` })
  t.equal(form.statusCode, 401, 'a token in a form body is not read either')
  const cookie = await me({ cookie: `access_token=${good}` })
  t.equal(cookie.statusCode, 401, 'nor in a cookie')

  for (const header of ['Bearer', 'Bearer ', 'Bearer  ', `Bearer ${good} extra`, `Bearer ${good},${good}`, 'Bearer a.b', 'Bearer a.b.c',
    'Bearer ....', `Token ${good}`, `Basic ${Buffer.from('admin:pw').toString('base64')}`, `Bearer\t${good}x`, `Bearer "${good}"`, 'Bearer ' + '\u00e9'.repeat(20)]) {
    const res = await me({ authorization: header })
    t.equal(res.statusCode, 401, `Authorization: ${header.slice(0, 40)}: ${res.body}`)
    t.match(res.headers['www-authenticate'], /^Bearer realm="warden"/, header.slice(0, 40))
    t.not(res.json().code, 'INTERNAL_ERROR')
  }
  await refused(t, 'a.b.c', 'three garbage parts')

  const huge = forge(claims({ pad: 'x'.repeat(9000) }), {}, withKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey))
  t.ok(huge.length > 8192)
  await refused(t, huge, 'a token over 8 KB')
  const hugeHeader = b64({ alg: 'ES256', typ: 'at+jwt', kid, pad: 'x'.repeat(9000) }) + '.' + b64(claims()) + '.AAAA'
  await refused(t, hugeHeader, 'a header over 8 KB')

  t.test('over a real socket, an oversized header is 431, never 500', async t => {
    const address = await app.listen({ port: 0, host: '127.0.0.1' })
    const big = await fetch(address + '/v1/auth/me', { headers: { authorization: 'Bearer ' + 'a'.repeat(20_000) + '.b.c' } })
    t.ok(big.status === 431 || big.status === 401, `status ${big.status}`)
    const medium = await fetch(address + '/v1/auth/me', { headers: { authorization: 'Bearer ' + huge } })
    t.equal(medium.status, 401)
    t.match(medium.headers.get('www-authenticate'), /error="invalid_token"/)
  })
})

t.test('tokens of ended sessions and users', async t => {
  const user = await newUser(app, 'ending')
  const sid = decodeJwt(user.token).sid as string
  t.equal((await me(bearer(user.token))).statusCode, 200, 'valid (and now cached as verified)')

  const second = await login(app, user.username, user.password)
  const secondSid = decodeJwt(second.access_token).sid as string
  await app.db.delete(sessions).where(eq(sessions.id, secondSid))
  await app.changes.publish(changed.session(secondSid))
  await refused(t, second.access_token, 'token of a deleted session')

  const third = await login(app, user.username, user.password)
  await app.db.update(sessions).set({ revokedAt: new Date(), revokedReason: 'test' }).where(eq(sessions.id, decodeJwt(third.access_token).sid as string))
  await app.changes.publish(changed.session((decodeJwt(third.access_token).sid as string)))
  await refused(t, third.access_token, 'token of a revoked session')

  const expiredSession = await login(app, user.username, user.password)
  const expiredSid = decodeJwt(expiredSession.access_token).sid as string
  await app.db.update(sessions).set({ expiresAt: new Date(Date.now() - 1000) }).where(eq(sessions.id, expiredSid))
  await app.changes.publish(changed.session(expiredSid))
  await refused(t, expiredSession.access_token, 'token of an expired session')

  const logout = await app.inject({ method: 'POST', url: '/v1/auth/logout', headers: bearer(user.token) })
  t.equal(logout.statusCode, 204)
  await refused(t, user.token, `valid token after logout (session ${sid})`)

  const disabled = await newUser(app, 'disabled')
  t.equal((await me(bearer(disabled.token))).statusCode, 200)
  await app.db.update(users).set({ isActive: false }).where(eq(users.id, disabled.id))
  await app.changes.publish(changed.user(disabled.id))
  await refused(t, disabled.token, 'token of a disabled user')

  const deleted = await newUser(app, 'deleted')
  t.equal((await me(bearer(deleted.token))).statusCode, 200)
  await app.db.delete(users).where(eq(users.id, deleted.id))
  await app.changes.publish(changed.user(deleted.id), changed.session((decodeJwt(deleted.token).sid as string)))
  await refused(t, deleted.token, 'token of a deleted user')
})

t.test('a token signed for another issuer\'s instance is refused', async t => {
  const other = await build(t, { WARDEN_ISSUER: 'http://other.test' })
  const foreign = await newUser(other, 'foreign')
  await refused(t, foreign.token, 'token from another Warden')
})

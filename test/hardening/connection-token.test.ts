import t from 'tap'
import { Client } from 'undici'
import { eq } from 'drizzle-orm'
import { build, loginAdmin, newUser } from '../helper.js'
import { signingKeys } from '../../src/db/schema/index.js'

/**
 * A kept-alive connection remembers the last Authorization header whose token hit the verified
 * cache (src/plugins/tokens.ts `cachedBearer`). What it remembers must never answer for another
 * header, outlive the token's expiry or its signing key, or bypass a revocation. Every request
 * below goes over one connection (an undici Client with one socket), where app.inject would make
 * a new mock socket per request and never reach the remembered hit.
 */
const app = await build(t)
await app.listen({ host: '127.0.0.1', port: 0 })
const address = app.server.address()
if (address === null || typeof address === 'string') throw new Error('not listening on TCP')
const client = new Client(`http://127.0.0.1:${address.port}`, { pipelining: 1, connections: 1 } as ConstructorParameters<typeof Client>[1])
t.teardown(() => client.close())

let sockets = 0
app.server.on('connection', () => { sockets++ })

async function me (token: string) {
  const res = await client.request({ method: 'GET', path: '/v1/auth/me', headers: { authorization: `Bearer ${token}` } })
  const body = await res.body.json() as { username?: string }
  return { status: res.statusCode, username: body.username }
}

const alice = await newUser(app, 'alice')
const bob = await newUser(app, 'bob')

t.test('another header on the same connection is its own caller', async t => {
  t.same(await me(alice.token), { status: 200, username: alice.username })
  t.same(await me(alice.token), { status: 200, username: alice.username }, 'the remembered hit')
  t.same(await me(bob.token), { status: 200, username: bob.username })
  t.same(await me(alice.token), { status: 200, username: alice.username })
  const forged = alice.token.slice(0, -2) + (alice.token.endsWith('AA') ? 'BB' : 'AA')
  t.equal((await me(forged)).status, 401, 'a header that differs in its last characters')
  // RFC 9110: the scheme is case-insensitive; such a header is parsed, not matched
  const res = await client.request({ method: 'GET', path: '/v1/auth/me', headers: { authorization: `bearer  ${alice.token}` } })
  t.match(await res.body.json(), { username: alice.username }, 'another spelling of the same token')
  t.equal((await me(bob.token)).username, bob.username)
  t.equal(sockets, 1, 'all of it over one connection')
})

t.test('the remembered hit ends when the token expires', async t => {
  t.equal((await me(alice.token)).status, 200)
  const realNow = Date.now
  Date.now = () => realNow() + 2 * 3600_000
  try {
    t.equal((await me(alice.token)).status, 401)
  } finally {
    Date.now = realNow
  }
  t.equal((await me(alice.token)).status, 200, 'and holds again with the clock back')
})

t.test('a revoked token is refused on the connection that remembered it', async t => {
  const carol = await newUser(app, 'carol')
  t.equal((await me(carol.token)).status, 200)
  t.equal((await me(carol.token)).status, 200)
  const revoked = await app.inject({
    method: 'POST',
    url: '/v1/auth/revoke',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ token: carol.token }).toString()
  })
  t.equal(revoked.statusCode, 200)
  t.equal((await me(carol.token)).status, 401)
})

t.test('a retired signing key ends what a connection remembers of its tokens', async t => {
  const admin = (await loginAdmin(app)).access_token
  t.equal((await me(admin)).status, 200)
  t.equal((await me(admin)).status, 200)
  const rotated = await app.inject({ method: 'POST', url: '/v1/keys/rotate?immediate=true', headers: { authorization: `Bearer ${admin}` } })
  t.equal(rotated.statusCode, 201)
  const { kid } = rotated.json() as { kid: string }
  await app.db.update(signingKeys).set({ retiresAt: new Date(Date.now() - 1000) }).where(eq(signingKeys.kid, JSON.parse(Buffer.from(admin.split('.')[0], 'base64url').toString()).kid))
  await app.tokens.reload()
  t.equal((await me(admin)).status, 401, 'the old key\'s token, on the same connection')
  const fresh = (await loginAdmin(app)).access_token
  t.equal(JSON.parse(Buffer.from(fresh.split('.')[0], 'base64url').toString()).kid, kid)
  t.equal((await me(fresh)).status, 200)
  t.equal(sockets, 1)
})

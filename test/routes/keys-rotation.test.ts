import t from 'tap'
import { build, createTestDatabase, loginAdmin } from '../helper.js'
import { keyList, keyOf, kidOf, kids, me, rotate, until, SKEW_MS, TTL_MS } from './keys-helper.js'

t.test('an announced rotation switches at activatesAt on every instance', async t => {
  const db = await createTestDatabase(t)
  const env = { KEY_ACTIVATION_DELAY: '3' }
  const a = await build(t, env, db)
  const b = await build(t, env, db)
  const admin = await loginAdmin(a)
  const oldKid = kidOf(admin.access_token)!
  t.equal(kidOf((await loginAdmin(b)).access_token), oldKid, 'one key between them')
  t.equal((await a.inject({ method: 'GET', url: '/.well-known/jwks.json' })).headers['cache-control'], 'public, max-age=1', 'max-age <= KEY_ACTIVATION_DELAY / 2')

  const rotated = await rotate(a, admin.access_token)
  const activatesAt = Date.parse(rotated.activatesAt)
  await until('B to announce the new key', async () => (await kids(b)).includes(rotated.kid))
  t.same(await kids(a), [oldKid, rotated.kid], 'A announces it')
  t.same(await kids(b), [oldKid, rotated.kid], 'B announces it')
  t.equal((await keyOf(b, admin.access_token, rotated.kid)).status, 'next')

  // Log in on both until both sign with the new key. A token's kid must match the clock: the old
  // key for a login that began before activatesAt ... the new one only for a login that ended after it.
  const tokens: Array<{ name: string, token: string }> = []
  const switched = { A: false, B: false }
  await until('both instances to sign with the new key', async () => {
    for (const [name, app] of [['A', a], ['B', b]] as const) {
      const started = Date.now()
      const token = (await loginAdmin(app)).access_token
      const ended = Date.now()
      const kid = kidOf(token)
      if (kid === rotated.kid) {
        t.ok(ended >= activatesAt, `${name}: the new key signs only from activatesAt on`)
        switched[name] = true
      } else {
        t.equal(kid, oldKid, `${name}: the old key signs until then`)
        t.ok(started < activatesAt, `${name}: ... and not after`)
      }
      tokens.push({ name, token })
    }
    return switched.A && switched.B
  }, 10_000)
  t.ok(tokens.some(({ token }) => kidOf(token) === oldKid), 'the old key signed while the new one was announced')

  for (const [name, app] of [['A', a], ['B', b]] as const) {
    for (const { name: by, token } of tokens) {
      const res = await me(app, token)
      if (res.statusCode !== 200) t.fail(`${name} refuses a token of ${by} (${kidOf(token) === oldKid ? 'old' : 'new'} key): ${res.body}`)
    }
    t.pass(`${name} verifies every token of both, old and new keys`)
    const list = await keyList(app, admin.access_token)
    t.match(list, [{ kid: rotated.kid, status: 'active' }, { kid: oldKid, status: 'published' }], `${name}: statuses after the switch`)
    t.equal(Date.parse(list[1].retiresAt!), activatesAt + TTL_MS + SKEW_MS, `${name}: the old key retires when its last token can have expired`)
    t.same(await kids(app), [rotated.kid, oldKid], `${name}: the old key stays published`)
  }
})

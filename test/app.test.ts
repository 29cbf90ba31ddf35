import t from 'tap'
import { build } from './helper.js'

t.test('boots, seeds, serves health and discovery', async t => {
  const app = await build(t)
  const health = await app.inject({ method: 'GET', url: '/healthz' })
  t.equal(health.statusCode, 200)
  t.ok(health.headers['x-request-id'])
  const ready = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(ready.statusCode, 200)
  const jwks = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
  t.equal(jwks.statusCode, 200)
  t.equal(jwks.json().keys.length, 1)
  t.equal(jwks.json().keys[0].crv, 'Ed25519')
  t.notOk(jwks.json().keys[0].d, 'no private part')
})

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
  t.match(jwks.json().keys[0], { kty: 'EC', crv: 'P-256', alg: 'ES256' }, 'ES256 by default')
  t.notOk(jwks.json().keys[0].d, 'no private part')
})

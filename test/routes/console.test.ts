import t from 'tap'
import { build } from '../helper.js'
import { ensureConsoleBuilt } from '../lib/console-build.js'
import { BUILT_IN_CLIENTS } from '../../src/db/seed.js'

/** GET /console: the built single-page app, its configuration, its CSP and its assets (issue 14). */
t.test('the console is served from its build', async t => {
  await ensureConsoleBuilt()
  const app = await build(t)
  for (const url of ['/console', '/console/', '/console/users/abc', '/console/callback?code=x&state=y']) {
    const res = await app.inject({ method: 'GET', url })
    t.equal(res.statusCode, 200, `${url} is the console's page`)
    t.match(res.headers['content-type'], /^text\/html/)
    const csp = String(res.headers['content-security-policy'])
    t.match(csp, /default-src 'none'/)
    t.match(csp, /script-src 'self'(;|$)/, 'scripts from Warden only')
    t.match(csp, /frame-ancestors 'self'/, 'framed by Warden only (the silent sign-in frame)')
    t.notMatch(csp, /unsafe/, 'nothing unsafe')
    t.equal(res.headers['x-frame-options'], 'SAMEORIGIN')
    t.notMatch(res.body, /<script>|<script [^>]*>[^<]+<\/script>|\son[a-z]+=/i, 'no inline script or handler')
    const meta = /<meta name="warden-console" content='([^']+)'>/.exec(res.body)
    t.ok(meta, 'the page names the issuer and the client')
    const conf = JSON.parse(meta![1].replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&amp;/g, '&'))
    t.same(conf, { issuer: app.config.issuer, clientId: BUILT_IN_CLIENTS.console.id })
  }
  const page = await app.inject({ method: 'GET', url: '/console/' })
  const script = /<script type="module" crossorigin src="([^"]+)"/.exec(page.body)?.[1]
  t.ok(script?.startsWith('/console/assets/'), 'the script is a built asset')
  const asset = await app.inject({ method: 'GET', url: script! })
  t.equal(asset.statusCode, 200)
  t.match(asset.headers['content-type'], /^text\/javascript/)
  t.match(asset.headers['cache-control'], /immutable/, 'hashed assets are cached for good')

  for (const url of ['/console/assets/nope.js', '/console/assets/..%2f..%2fpackage.json', '/console/assets/%2e%2e%2findex.html']) {
    const res = await app.inject({ method: 'GET', url })
    t.equal(res.statusCode, 404, `${url}: not found, nothing outside the build`)
  }
})

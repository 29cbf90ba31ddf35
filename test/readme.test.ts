import t from 'tap'
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { promisify } from 'node:util'
import { build } from './helper.js'

const run = promisify(execFile)

// The README's curl walk-through, run verbatim against a listening server (only W changes).
t.test('README walk-through works as written', async t => {
  const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8')
  const block = /```sh\n(W=http:\/\/127\.0\.0\.1:3000\n[\s\S]*?)```/.exec(readme)
  t.ok(block, 'the walk-through block is in the README')
  const app = await build(t)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  const script = 'set -e\n' + block![1].replace('W=http://127.0.0.1:3000', `W=http://127.0.0.1:${port}`)
  const { stdout } = await run('bash', ['-c', script], { timeout: 60_000 })
  const lines = stdout.trim().split('\n')
  t.match(JSON.parse(lines[0]), { email: 'ada@example.com', username: 'ada' }, 'registered')
  t.match(JSON.parse(lines[1]), { username: 'ada', roles: ['user'], tenant: { slug: 'default' } }, 'me')
  t.same(lines.slice(-2), ['204', '401'], 'logout, then the token is refused')
})

// The web-app walk-through: its two blocks run verbatim (W, the admin password and the code
// filled in), with the browser's part in between done as a browser would.
t.test('README "sign in from a web app" works as written', async t => {
  const { BrowserSim, formAction, hiddenFields } = await import('./lib/browser-sim.js')
  const { ADMIN_PASSWORD, newUser } = await import('./helper.js')
  const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8')
  const first = /```sh\n(W=http:\/\/127\.0\.0\.1:3000\nADMIN_PASSWORD=[\s\S]*?)```/.exec(readme)
  const second = /```sh\n(CODE='[\s\S]*?)```/.exec(readme)
  t.ok(first && second, 'both blocks are in the README')
  const app = await build(t)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  const W = `http://127.0.0.1:${port}`
  const ada = await newUser(app, 'ada')

  const script = 'set -e\n' + first![1]
    .replace('W=http://127.0.0.1:3000', `W=${W}`)
    .replace("ADMIN_PASSWORD='the password printed at the first start'", `ADMIN_PASSWORD='${ADMIN_PASSWORD}'`) +
    '\ndeclare -p W CLIENT_ID VERIFIER\n'
  const { stdout } = await run('bash', ['-c', script], { timeout: 60_000 })
  const lines = stdout.trim().split('\n')
  const authorizeUrl = lines.find(l => l.startsWith(`${W}/v1/auth/authorize?`))
  t.ok(authorizeUrl, 'the authorization URL is printed')
  const declared = lines.filter(l => l.startsWith('declare ')).join('\n')

  // the browser: sign in as the user, allow the client, land on the redirect URI
  const browser = new BrowserSim()
  let res = await browser.go(authorizeUrl!)
  const signIn = await (await browser.go(new URL(res.headers.get('location')!, W))).text()
  res = await browser.submit(new URL('/signin', W), { ...hiddenFields(signIn), username: ada.username, password: ada.password })
  const consent = await res.text()
  res = await browser.submit(new URL(formAction(consent)!, W), { ...hiddenFields(consent), decision: 'allow' })
  t.equal(res.status, 303)
  const callback = new URL(res.headers.get('location')!)
  t.equal(callback.origin + callback.pathname, 'http://127.0.0.1:8080/callback')
  t.equal(callback.searchParams.get('state'), 'xyz')

  const exchange = 'set -e\n' + declared + '\n' + second![1].replace("CODE='the code from the address bar'", `CODE='${callback.searchParams.get('code')}'`)
  const out = await run('bash', ['-c', exchange], { timeout: 60_000 })
  const tokens = JSON.parse(out.stdout.trim().split('\n').at(-1)!)
  t.match(tokens, { token_type: 'Bearer', access_token: String, refresh_token: String, id_token: String })
  t.match(tokens.scope, /openid/)
})

// A base64url verifier starts with '-' once in 64: the README's challenge line must still treat
// it as the argument, not as an option of node (it did: "node: bad option", a CI failure).
t.test('README PKCE challenge line works for any verifier', async t => {
  const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8')
  const line = /^CHALLENGE=\$\(.*\)$/m.exec(readme)
  t.ok(line, 'the challenge line is in the README')
  const { createHash } = await import('node:crypto')
  for (const verifier of ['-5pZTrZ5YbB5YOWuUExCuKee1pfGcqIKxYZks6Hc9vQ', '--help', 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk']) {
    const { stdout } = await run('bash', ['-c', `set -e\nVERIFIER='${verifier}'\n${line![0]}\necho "$CHALLENGE"`], { timeout: 30_000 })
    t.equal(stdout.trim(), createHash('sha256').update(verifier).digest('base64url'), `verifier ${verifier}`)
  }
})

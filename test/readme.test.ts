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

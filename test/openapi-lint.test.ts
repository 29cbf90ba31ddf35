import t from 'tap'
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build } from './helper.js'

/**
 * The live OpenAPI document lints clean under the two linters SDK teams run: Redocly's
 * `recommended` rules and Spectral's `spectral:oas`, with 0 errors and 0 warnings.
 */
const app = await build(t)
const dir = await mkdtemp(join(tmpdir(), 'warden-openapi-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))
const document = join(dir, 'openapi.json')
await writeFile(document, (await app.inject({ method: 'GET', url: '/docs/json' })).body)

function run (bin: string, args: string[]): Promise<{ code: number, out: string }> {
  return new Promise(resolve => {
    execFile(join(process.cwd(), 'node_modules', '.bin', bin), args, { cwd: dir, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, out: stdout + stderr })
    })
  })
}

t.test('Redocly, recommended rules: no error, no warning', async t => {
  const { code, out } = await run('redocly', ['lint', document, '--extends', 'recommended', '--format', 'stylish'])
  const problems = out.split('\n').filter(line => /\s(error|warning)\s/.test(line) && !/Deprecation warning/.test(line))
  t.same(problems, [], 'problems')
  t.equal(code, 0, out.slice(-2000))
  t.match(out, /valid/)
})

t.test('Spectral, spectral:oas: no error, no warning', async t => {
  await writeFile(join(dir, '.spectral.yaml'), 'extends: ["spectral:oas"]\n')
  const { code, out } = await run('spectral', ['lint', document, '--ruleset', join(dir, '.spectral.yaml'), '--fail-severity', 'warn'])
  t.equal(code, 0, out.slice(-3000))
  t.match(out, /No results with a severity of 'warn' or higher found|0 problems|no results/i)
})

import t from 'tap'
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openDatabase } from '../src/db/client.js'
import { createTestDatabase, ADMIN_PASSWORD } from './helper.js'

/**
 * The admin CLI: usage, no failed query or hash ever printed, and a PGlite data directory that
 * a running server holds is refused with a clear message (before the fix `rotate-keys` there
 * "succeeded" and the server never saw it).
 */
interface Run { code: number, stdout: string, stderr: string }

function cli (args: string[], env: Record<string, string>): Promise<Run> {
  const { DATABASE_URL: _url, DATA_DIR: _dir, KEY_ENCRYPTION_SECRET: _secret, ...inherited } = process.env
  return new Promise(resolve => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
      env: { ...inherited, LOG_LEVEL: 'silent', WARDEN_ISSUER: 'http://warden.test', ...env },
      cwd: process.cwd()
    }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr })
    })
  })
}

t.test('--help prints usage and exits 0', async t => {
  for (const args of [['--help'], ['create-admin', '-h']]) {
    const run = await cli(args, {})
    t.equal(run.code, 0, args.join(' '))
    t.match(run.stdout, /^Usage: warden <command>/)
  }
  const unknown = await cli(['frobnicate'], {})
  t.equal(unknown.code, 2)
  t.match(unknown.stderr, /unknown command frobnicate/)
})

t.test('a duplicate create-admin prints neither the query nor the hash', async t => {
  const db = await createTestDatabase(t)
  const dir = await mkdtemp(join(tmpdir(), 'warden-cli-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const env: Record<string, string> = db.url !== null ? { DATABASE_URL: db.url } : { DATA_DIR: dir }
  if (db.url === null) await db.handle.close()
  const migrated = await cli(['migrate'], { ...env, WARDEN_ADMIN_EMAIL: 'first@warden.test', WARDEN_ADMIN_PASSWORD: ADMIN_PASSWORD })
  t.equal(migrated.code, 0, migrated.stderr)
  const args = ['create-admin', '--email', 'second@warden.test', '--username', 'second-admin', '--password', 'another long passphrase']
  const created = await cli(args, env)
  t.equal(created.code, 0, created.stderr)
  t.match(created.stdout, /administrator second@warden.test created/)
  const again = await cli(args, env)
  t.equal(again.code, 1)
  t.match(again.stderr, /already exists/)
  const output = again.stdout + again.stderr
  t.notMatch(output, /\$argon2/, 'no hash')
  t.notMatch(output, /insert into|Failed query|params:/i, 'no query')
  t.notMatch(output, /another long passphrase/, 'no password')
})

t.test('a PGlite directory held by another process is refused', async t => {
  const dir = await mkdtemp(join(tmpdir(), 'warden-lock-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const held = await openDatabase({ databaseUrl: null, dataDir: dir })
  const run = await cli(['rotate-keys'], { DATA_DIR: dir })
  t.equal(run.code, 1)
  t.match(run.stderr, new RegExp(`in use by another Warden process \\(pid ${process.pid}\\)`))
  t.notMatch(run.stdout, /new signing key/)
  await t.rejects(openDatabase({ databaseUrl: null, dataDir: dir }), /in use/, 'a second open in the same process too')
  await held.close()
  const after = await cli(['migrate'], { DATA_DIR: dir, WARDEN_ADMIN_PASSWORD: ADMIN_PASSWORD })
  t.equal(after.code, 0, `free once the holder closed it: ${after.stderr}`)
})

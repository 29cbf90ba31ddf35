import t from 'tap'
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { drizzle } from 'drizzle-orm/pglite'
import { migrate } from 'drizzle-orm/pglite/migrator'
import { migrationsFolder } from '../src/db/client.js'

/**
 * Upgrading a database that has clients from before browser sign-in (migration 0002): every
 * existing client stays a confidential client-credentials client with its secret, and nothing
 * else about it changes.
 */
t.test('0002 keeps existing clients working as confidential client-credentials clients', async t => {
  const before = await mkdtemp(join(tmpdir(), 'warden-migrations-'))
  t.teardown(() => rm(before, { recursive: true, force: true }))
  await cp(migrationsFolder, before, { recursive: true })
  const journalPath = join(before, 'meta', '_journal.json')
  const journal = JSON.parse(await readFile(journalPath, 'utf8')) as { entries: Array<{ idx: number, tag: string }> }
  t.ok(journal.entries.some(e => e.tag === '0002_browser_sign_in'), 'the migration exists')
  journal.entries = journal.entries.filter(e => e.idx < 2)
  await writeFile(journalPath, JSON.stringify(journal))

  const pg = new PGlite()
  t.teardown(() => pg.close())
  const db = drizzle(pg)
  await migrate(db, { migrationsFolder: before })
  await pg.exec(`
    insert into tenants (slug, name, is_default) values ('default', 'Default', true);
    insert into clients (name, secret_hash, scopes, tenant_id)
      select 'billing', 'hash-of-the-secret', array['posts:read'], id from tenants;
  `)

  await migrate(db, { migrationsFolder })
  const { rows } = await pg.query<Record<string, unknown>>('select name, type, secret_hash, scopes, redirect_uris, post_logout_redirect_uris, grant_types, first_party from clients')
  t.same(rows, [{
    name: 'billing',
    type: 'confidential',
    secret_hash: 'hash-of-the-secret',
    scopes: ['posts:read'],
    redirect_uris: [],
    post_logout_redirect_uris: [],
    grant_types: ['client_credentials'],
    first_party: false
  }])
})

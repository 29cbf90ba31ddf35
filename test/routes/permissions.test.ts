import t from 'tap'
import { and, eq } from 'drizzle-orm'
import { auditEvents, permissions } from '../../src/db/schema/index.js'
import { DEFAULT_PERMISSIONS } from '../../src/db/seed.js'
import { bearer, build, loginAdmin, newUser } from '../helper.js'

const app = await build(t)
const admin = (await loginAdmin(app)).access_token
const plain = await newUser(app, 'plain')

type Method = 'GET' | 'POST' | 'DELETE' | 'PUT'
const call = (method: Method, url: string, payload?: object, token: string | null = admin) => app.inject({
  method,
  url,
  headers: token === null ? {} : bearer(token),
  ...(payload === undefined ? {} : { payload })
})

async function audited (action: string, targetId: string) {
  await app.audit.flush()
  return app.db.select().from(auditEvents).where(and(eq(auditEvents.action, action), eq(auditEvents.targetId, targetId)))
}

t.test('GET /v1/permissions', async t => {
  const seen: Array<{ name: string, description: string }> = []
  let cursor: string | null = null
  let pages = 0
  do {
    const res = await call('GET', `/v1/permissions?limit=7${cursor ? `&cursor=${cursor}` : ''}`)
    t.equal(res.statusCode, 200)
    t.ok(res.json().items.length <= 7)
    seen.push(...res.json().items)
    cursor = res.json().nextCursor
    pages++
  } while (cursor !== null && pages < 20)
  const names = seen.map(p => p.name)
  t.equal(new Set(names).size, names.length, 'no duplicates')
  t.same([...names].sort(), Object.keys(DEFAULT_PERMISSIONS).sort(), 'the seeded catalog')
  t.same(seen.find(p => p.name === 'users:read'), { name: 'users:read', description: 'Read users' })
  t.ok(pages >= 4)

  t.equal((await call('GET', '/v1/permissions?cursor=AAAA')).statusCode, 400)
  t.equal((await call('GET', '/v1/permissions?limit=-1')).statusCode, 400)
  t.equal((await call('GET', '/v1/permissions', undefined, null)).statusCode, 401)
  t.equal((await call('GET', '/v1/permissions', undefined, plain.token)).statusCode, 403)
})

t.test('POST /v1/permissions', async t => {
  const res = await call('POST', '/v1/permissions', { name: 'reports:read', description: 'Read reports' })
  t.equal(res.statusCode, 201, res.body)
  t.same(res.json(), { name: 'reports:read', description: 'Read reports' })
  const wildcard = await call('POST', '/v1/permissions', { name: 'reports:*' })
  t.equal(wildcard.statusCode, 201)
  t.same(wildcard.json(), { name: 'reports:*', description: '' })
  t.equal((await call('POST', '/v1/permissions', { name: 'big_reports-2:export_all' })).statusCode, 201)
  t.equal((await audited('permission.create', 'reports:read')).length, 1)

  const dup = await call('POST', '/v1/permissions', { name: 'reports:read' })
  t.equal(dup.statusCode, 409)
  t.equal(dup.json().code, 'CONFLICT')
  t.equal((await call('POST', '/v1/permissions', { name: '*' })).statusCode, 409, 'the seeded *')

  for (const name of ['Reports:Read', 'reports', 'reports:', ':read', 'reports:read:all', '*:read', 'reports:re*', 'rep orts:read', '', 'a:' + 'b'.repeat(130)]) {
    const bad = await call('POST', '/v1/permissions', { name })
    t.equal(bad.statusCode, 400, `invalid: ${JSON.stringify(name)}`)
  }
  t.equal((await call('POST', '/v1/permissions', { name: 'x:y', scope: 'all' })).statusCode, 400, 'unknown property')
  t.equal((await call('POST', '/v1/permissions', { name: ['x:y'] })).statusCode, 400)
  t.equal((await call('POST', '/v1/permissions', { name: 'x:y' }, null)).statusCode, 401)
  t.equal((await call('POST', '/v1/permissions', { name: 'x:y' }, plain.token)).statusCode, 403)
  t.equal((await app.db.select().from(permissions).where(eq(permissions.name, 'x:y'))).length, 0)

  // a new permission can be granted at once
  const role = await call('POST', '/v1/roles', { name: 'reporter', permissions: ['reports:read'] })
  t.equal(role.statusCode, 201, role.body)
})

t.test('DELETE /v1/permissions/{name}', async t => {
  await call('POST', '/v1/permissions', { name: 'audits:export' })
  await call('POST', '/v1/permissions', { name: 'audits:*' })
  await call('POST', '/v1/permissions', { name: 'audits:purge' })
  t.equal((await call('DELETE', '/v1/permissions/audits%3Aexport')).statusCode, 204, 'url-encoded colon')
  t.equal((await call('DELETE', '/v1/permissions/audits%3A%2A')).statusCode, 204, 'url-encoded wildcard')
  t.equal((await call('DELETE', '/v1/permissions/audits:purge')).statusCode, 204, 'plain colon')
  t.equal((await app.db.select().from(permissions).where(eq(permissions.name, 'audits:export'))).length, 0)
  t.equal((await call('DELETE', '/v1/permissions/audits:export')).statusCode, 404)
  t.equal((await audited('permission.delete', 'audits:*')).length, 1)

  const inUse = await call('DELETE', '/v1/permissions/reports:read')
  t.equal(inUse.statusCode, 409, 'still granted by reporter')
  t.match(inUse.json().detail, /reporter/)
  t.equal((await call('DELETE', '/v1/permissions/users:read')).statusCode, 409, 'Warden\'s own')
  t.equal((await call('DELETE', '/v1/permissions/%2A')).statusCode, 409, 'Warden\'s own *')

  await call('DELETE', '/v1/roles/reporter')
  t.equal((await call('DELETE', '/v1/permissions/reports:read')).statusCode, 204, 'no longer granted')
  t.equal((await call('DELETE', '/v1/permissions/reports:*', undefined, null)).statusCode, 401)
  t.equal((await call('DELETE', '/v1/permissions/reports:*', undefined, plain.token)).statusCode, 403)
  t.equal((await app.db.select().from(permissions).where(eq(permissions.name, 'reports:*'))).length, 1)
})

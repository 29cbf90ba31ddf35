import t from 'tap'
import { and, eq } from 'drizzle-orm'
import { auditEvents } from '../../src/db/schema/index.js'
import { bearer, build, login, loginAdmin, newUser } from '../helper.js'

const app = await build(t)
const admin = (await loginAdmin(app)).access_token
const plain = await newUser(app, 'plain')

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
const call = (method: Method, url: string, payload?: unknown, token: string | null = admin) => app.inject({
  method,
  url,
  headers: token === null ? {} : bearer(token),
  ...(payload === undefined ? {} : { payload: payload as object })
})

async function audited (action: string, targetId: string) {
  await app.audit.flush()
  return app.db.select().from(auditEvents).where(and(eq(auditEvents.action, action), eq(auditEvents.targetId, targetId)))
}

t.test('GET /v1/roles and /v1/roles/{name}: the seeded roles', async t => {
  const res = await call('GET', '/v1/roles?limit=100')
  t.equal(res.statusCode, 200)
  const byName = new Map(res.json().items.map((r: { name: string }) => [r.name, r]))
  for (const name of ['user', 'author', 'editor', 'moderator', 'admin']) t.ok(byName.has(name), name)
  t.match(byName.get('user'), {
    name: 'user',
    permissions: ['posts:create', 'posts:read'],
    grants: [
      { permission: 'posts:delete', condition: { owner: true } },
      { permission: 'posts:publish', condition: { owner: true } },
      { permission: 'posts:update', condition: { owner: true } }
    ],
    inherits: []
  })
  const editor = await call('GET', '/v1/roles/editor')
  t.equal(editor.statusCode, 200)
  t.same(editor.json().permissions, ['posts:publish', 'posts:update'])
  t.same(editor.json().inherits, ['author'])
  t.same(editor.json().grants, [])
  t.same((await call('GET', '/v1/roles/admin')).json().permissions, ['*'])

  const seen: string[] = []
  let cursor: string | null = null
  do {
    const page = await call('GET', `/v1/roles?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
    t.equal(page.statusCode, 200)
    t.ok(page.json().items.length <= 2)
    seen.push(...page.json().items.map((r: { name: string }) => r.name))
    cursor = page.json().nextCursor
  } while (cursor !== null && seen.length < 100)
  t.equal(seen.length, byName.size)
  t.equal(new Set(seen).size, seen.length, 'no duplicates across pages')

  t.equal((await call('GET', '/v1/roles?cursor=xyz')).statusCode, 400)
  t.equal((await call('GET', '/v1/roles/nope')).statusCode, 404)
  t.equal((await call('GET', '/v1/roles', undefined, null)).statusCode, 401)
  t.equal((await call('GET', '/v1/roles', undefined, plain.token)).statusCode, 403)
  t.equal((await call('GET', '/v1/roles/user', undefined, plain.token)).statusCode, 403)
})

t.test('POST /v1/roles', async t => {
  const res = await call('POST', '/v1/roles', { name: 'support', description: 'Helps users', permissions: ['users:read', 'users:update'], inherits: ['user'] })
  t.equal(res.statusCode, 201, res.body)
  t.match(res.json(), { name: 'support', description: 'Helps users', permissions: ['users:read', 'users:update'], grants: [], inherits: ['user'] })
  t.same((await call('GET', '/v1/roles/support')).json().inherits, ['user'])
  const minimal = await call('POST', '/v1/roles', { name: 'empty_role-1' })
  t.equal(minimal.statusCode, 201)
  t.match(minimal.json(), { name: 'empty_role-1', description: '', permissions: [], grants: [], inherits: [] })
  t.equal((await audited('role.create', 'support')).length, 1)

  t.equal((await call('POST', '/v1/roles', { name: 'support' })).statusCode, 409, 'name taken')
  const self = await call('POST', '/v1/roles', { name: 'selfish', inherits: ['selfish'] })
  t.equal(self.statusCode, 409, 'inheriting itself')
  t.equal(self.json().code, 'CONFLICT')
  const unknownPermission = await call('POST', '/v1/roles', { name: 'x1', permissions: ['reports:read'] })
  t.equal(unknownPermission.statusCode, 400)
  t.match(unknownPermission.json().detail, /reports:read/)
  t.equal((await call('POST', '/v1/roles', { name: 'x2', inherits: ['ghost'] })).statusCode, 400, 'unknown parent')
  t.equal((await call('POST', '/v1/roles', { name: 'Bad Name' })).statusCode, 400)
  t.equal((await call('POST', '/v1/roles', { name: 'a'.repeat(65) })).statusCode, 400)
  t.equal((await call('POST', '/v1/roles', { name: 'x3', permissions: ['NOT A PERMISSION'] })).statusCode, 400)
  t.equal((await call('POST', '/v1/roles', { name: 'x4', permissions: 'users:read' })).statusCode, 400)
  t.equal((await call('POST', '/v1/roles', { name: 'x5', color: 'red' })).statusCode, 400, 'unknown property')
  t.equal((await call('POST', '/v1/roles', { name: 'x6' }, null)).statusCode, 401)
  t.equal((await call('POST', '/v1/roles', { name: 'x6' }, plain.token)).statusCode, 403)
  for (const name of ['selfish', 'x1', 'x2', 'x6']) t.equal((await call('GET', `/v1/roles/${name}`)).statusCode, 404)
})

t.test('PATCH /v1/roles/{name}', async t => {
  await call('POST', '/v1/roles', { name: 'ra' })
  await call('POST', '/v1/roles', { name: 'rb', inherits: ['ra'] })
  await call('POST', '/v1/roles', { name: 'rc', inherits: ['rb'] })
  const cycle = await call('PATCH', '/v1/roles/ra', { inherits: ['rc'] })
  t.equal(cycle.statusCode, 409, 'ra -> rc -> rb -> ra')
  t.match(cycle.json().detail, /cycle/)
  t.equal((await call('PATCH', '/v1/roles/ra', { inherits: ['ra'] })).statusCode, 409, 'itself')
  t.same((await call('GET', '/v1/roles/ra')).json().inherits, [], 'unchanged')

  const res = await call('PATCH', '/v1/roles/rc', { description: 'Role C', inherits: ['ra', 'moderator'] })
  t.equal(res.statusCode, 200, res.body)
  t.match(res.json(), { name: 'rc', description: 'Role C', inherits: ['moderator', 'ra'] })
  t.equal((await audited('role.update', 'rc')).length, 1)

  // permissions replaces the unconditional grants and keeps conditional ones
  await call('PUT', '/v1/roles/rb/permissions/posts:update', { condition: { owner: true } })
  const replaced = await call('PATCH', '/v1/roles/rb', { permissions: ['posts:read', 'posts:create'] })
  t.equal(replaced.statusCode, 200)
  t.same(replaced.json().permissions, ['posts:create', 'posts:read'])
  t.same(replaced.json().grants, [{ permission: 'posts:update', condition: { owner: true } }])
  const again = await call('PATCH', '/v1/roles/rb', { permissions: ['posts:update'] })
  t.same(again.json().permissions, ['posts:update'], 'listing a conditional grant makes it unconditional')
  t.same(again.json().grants, [])
  t.same((await call('PATCH', '/v1/roles/rb', { permissions: [] })).json().permissions, [])

  t.equal((await call('PATCH', '/v1/roles/rb', { permissions: ['nope:nope'] })).statusCode, 400)
  t.equal((await call('PATCH', '/v1/roles/rb', { inherits: ['ghost'] })).statusCode, 400)
  t.equal((await call('PATCH', '/v1/roles/rb', {})).statusCode, 400)
  t.equal((await call('PATCH', '/v1/roles/rb', { grants: [] })).statusCode, 400)
  t.equal((await call('PATCH', '/v1/roles/rb', { name: 'ra' })).statusCode, 409, 'rename onto a taken name')
  t.equal((await call('PATCH', '/v1/roles/ghost', { description: 'x' })).statusCode, 404)
  t.equal((await call('PATCH', '/v1/roles/rb', { description: 'x' }, null)).statusCode, 401)
  t.equal((await call('PATCH', '/v1/roles/rb', { description: 'x' }, plain.token)).statusCode, 403)
})

t.test('renaming a role keeps its holders\' rights', async t => {
  await call('POST', '/v1/roles', { name: 'viewer', permissions: ['users:read'] })
  const holder = await newUser(app, 'holder')
  t.equal((await call('PUT', `/v1/users/${holder.id}/roles/viewer`, {})).statusCode, 201)
  const token = (await login(app, holder.username, holder.password)).access_token
  t.equal((await call('GET', '/v1/users?limit=1', undefined, token)).statusCode, 200)
  const renamed = await call('PATCH', '/v1/roles/viewer', { name: 'watcher' })
  t.equal(renamed.statusCode, 200)
  t.equal(renamed.json().name, 'watcher')
  t.equal((await call('GET', '/v1/roles/viewer')).statusCode, 404)
  t.equal((await call('GET', '/v1/users?limit=1', undefined, token)).statusCode, 200, 'still allowed after the rename')
  const roles = await call('GET', `/v1/users/${holder.id}/roles`)
  t.ok(roles.json().items.some((a: { role: string }) => a.role === 'watcher'))
})

t.test('PUT and DELETE /v1/roles/{name}/permissions/{permission}', async t => {
  await call('POST', '/v1/roles', { name: 'granted' })
  const added = await call('PUT', '/v1/roles/granted/permissions/posts:read')
  t.equal(added.statusCode, 201, added.body)
  t.same(added.json().permissions, ['posts:read'])
  t.equal((await call('PUT', '/v1/roles/granted/permissions/posts:read', {})).statusCode, 200, 'idempotent')
  const condition = { all: [{ owner: true }, { attribute: 'isPublished', equals: false }] }
  const conditional = await call('PUT', '/v1/roles/granted/permissions/posts%3Aupdate', { condition })
  t.equal(conditional.statusCode, 201)
  t.same(conditional.json().grants, [{ permission: 'posts:update', condition }])
  const star = await call('PUT', '/v1/roles/granted/permissions/%2A', {})
  t.equal(star.statusCode, 201, 'url-encoded *')
  t.same(star.json().permissions, ['*', 'posts:read'])
  t.equal((await call('DELETE', '/v1/roles/granted/permissions/%2A')).statusCode, 204)
  t.equal((await call('DELETE', '/v1/roles/granted/permissions/*')).statusCode, 404, 'already removed')
  t.equal((await audited('role.grant', 'granted')).length, 4)
  t.equal((await audited('role.revoke', 'granted')).length, 1)

  const invalid = await call('PUT', '/v1/roles/granted/permissions/posts:read', { condition: { owner: 'yes' } })
  t.equal(invalid.statusCode, 400)
  t.equal(invalid.json().code, 'INVALID_CONDITION')
  t.match(invalid.json().errors, [{ path: /^body\/condition\/owner/, message: String }], 'each problem is listed with its path')
  const unknownKind = await call('PUT', '/v1/roles/granted/permissions/posts:read', { condition: { eval: 'process.exit()' } })
  t.equal(unknownKind.statusCode, 400)
  t.equal((await call('PUT', '/v1/roles/granted/permissions/posts:read', { condition: 'owner' })).statusCode, 400)
  t.equal((await call('PUT', '/v1/roles/granted/permissions/posts:read', { reason: 'x' })).statusCode, 400, 'unknown property')
  t.equal((await call('PUT', '/v1/roles/granted/permissions/reports:read', {})).statusCode, 400, 'unknown permission')
  t.equal((await call('PUT', '/v1/roles/granted/permissions/Not%20Valid', {})).statusCode, 400, 'invalid name')
  t.equal((await call('PUT', '/v1/roles/ghost/permissions/posts:read', {})).statusCode, 404)
  t.equal((await call('DELETE', '/v1/roles/ghost/permissions/posts:read')).statusCode, 404)
  t.equal((await call('PUT', '/v1/roles/granted/permissions/posts:read', {}, null)).statusCode, 401)
  t.equal((await call('PUT', '/v1/roles/granted/permissions/posts:read', {}, plain.token)).statusCode, 403)
  t.equal((await call('DELETE', '/v1/roles/granted/permissions/posts:read', undefined, plain.token)).statusCode, 403)
  t.same((await call('GET', '/v1/roles/granted')).json().permissions, ['posts:read'])
})

t.test('removing a grant takes effect on existing tokens at once', async t => {
  await call('POST', '/v1/roles', { name: 'lister', permissions: ['users:read'] })
  const holder = await newUser(app, 'lister')
  await call('PUT', `/v1/users/${holder.id}/roles/lister`, {})
  const token = (await login(app, holder.username, holder.password)).access_token
  t.equal((await call('GET', '/v1/users?limit=1', undefined, token)).statusCode, 200)
  t.equal((await call('DELETE', '/v1/roles/lister/permissions/users:read')).statusCode, 204)
  t.equal((await call('GET', '/v1/users?limit=1', undefined, token)).statusCode, 403)
})

t.test('DELETE /v1/roles/{name}', async t => {
  await call('POST', '/v1/roles', { name: 'parent', permissions: ['users:read'] })
  await call('POST', '/v1/roles', { name: 'child', inherits: ['parent'] })
  const inherited = await call('DELETE', '/v1/roles/parent')
  t.equal(inherited.statusCode, 409, 'still inherited')
  t.match(inherited.json().detail, /child/)

  const holder = await newUser(app, 'child')
  await call('PUT', `/v1/users/${holder.id}/roles/child`, {})
  const token = (await login(app, holder.username, holder.password)).access_token
  t.equal((await call('GET', '/v1/users?limit=1', undefined, token)).statusCode, 200)
  t.equal((await call('DELETE', '/v1/roles/child')).statusCode, 204)
  t.equal((await call('GET', '/v1/roles/child')).statusCode, 404)
  t.equal((await call('GET', '/v1/users?limit=1', undefined, token)).statusCode, 403, 'its holders lose it at once')
  t.notOk((await call('GET', `/v1/users/${holder.id}/roles`)).json().items.some((a: { role: string }) => a.role === 'child'))
  // a new role with the old name does not silently go to the old holders
  await call('POST', '/v1/roles', { name: 'child', permissions: ['users:read'] })
  t.equal((await call('GET', '/v1/users?limit=1', undefined, token)).statusCode, 403)

  t.equal((await call('DELETE', '/v1/roles/child')).statusCode, 204)
  t.equal((await call('DELETE', '/v1/roles/parent')).statusCode, 204, 'no longer inherited')
  t.equal((await call('DELETE', '/v1/roles/parent')).statusCode, 404)
  t.equal((await audited('role.delete', 'parent')).length, 1)
  t.equal((await call('DELETE', '/v1/roles/user', undefined, null)).statusCode, 401)
  t.equal((await call('DELETE', '/v1/roles/user', undefined, plain.token)).statusCode, 403)
  t.equal((await call('GET', '/v1/roles/user')).statusCode, 200)
})

import t from 'tap'
import { type Assignment, compileRoleGraph, EffectiveSet } from '../../src/authz/index.js'
import { global, inTenant, roles } from './fixtures/roles.js'

const graph = compileRoleGraph(roles)
const NOW = Date.UTC(2024, 0, 1, 12)

t.test('has() with exact names and wildcards', async (t) => {
  const cases: Array<[string, string, boolean]> = [
    ['admin', 'posts:read', true],
    ['admin', 'anything:goes', true],
    ['admin', 'posts:*', true],
    ['admin', '*', true],
    ['admin', 'Invalid', false],
    ['posts-admin', 'posts:read', true],
    ['posts-admin', 'posts:anything', true],
    ['posts-admin', 'posts:*', true],
    ['posts-admin', 'users:read', false],
    ['posts-admin', '*', false],
    ['editor', 'posts:read', true],
    ['editor', 'posts:*', false],
    ['editor', 'users:read', false],
    ['author', 'posts:update', false],
    ['moderator', 'users:read', true],
    ['moderator', 'users:delete', false]
  ]
  for (const [role, permission, expected] of cases) {
    t.equal(graph.effective([global(role)], null, NOW).has(permission), expected, `${role} has ${permission}`)
  }
})

t.test('conditionsFor() lists the conditions of conditional grants only', async (t) => {
  const author = graph.effective([global('author')], null, NOW)
  t.same(author.conditionsFor('posts:update'), [{ owner: true }])
  t.same(author.conditionsFor('posts:read'), [])
  t.same(author.conditionsFor('nope'), [])
  const g = compileRoleGraph([
    { name: 'r', grants: [{ permission: 'posts:*', condition: { attribute: 'status', equals: 'draft' } }] },
    { name: 's', grants: [{ permission: '*', condition: { network: ['10.0.0.0/8'] } }] }
  ])
  t.same(g.effective([global('r'), global('s')], null, NOW).conditionsFor('posts:read'), [
    { attribute: 'status', equals: 'draft' },
    { network: ['10.0.0.0/8'] }
  ])
  t.equal(g.effective([global('r')], null, NOW).has('posts:read'), false, 'a conditional grant is not has()')
  t.equal(g.effective([global('r')], null, NOW).holds('posts:read'), true, 'but it is held')
})

t.test('expired assignments do not apply', async (t) => {
  const cases: Array<[string, Assignment[], string[], number | null]> = [
    ['expired', [global('moderator', NOW - 1)], [], null],
    ['expiring exactly now', [global('moderator', NOW)], [], null],
    ['not yet expired', [global('moderator', NOW + 1000)], ['posts:delete', 'posts:read', 'posts:update', 'users:read'], NOW + 1000],
    ['earliest of several', [global('user', NOW + 5000), global('reader', NOW + 2000), global('admin')], ['*', 'docs:read', 'posts:create', 'posts:read'], NOW + 2000],
    ['expired ones do not count for nextExpiry', [global('user', NOW - 5), global('reader', NOW + 9)], ['docs:read'], NOW + 9],
    ['no expiry', [global('user')], ['posts:create', 'posts:read'], null]
  ]
  for (const [label, assignments, permissions, nextExpiry] of cases) {
    const set = graph.effective(assignments, null, NOW)
    t.same(set.permissions(), permissions, label)
    t.equal(set.nextExpiry, nextExpiry, `${label}: nextExpiry`)
  }
  t.equal(graph.effective([global('moderator', Date.now() + 60_000)], null).has('users:read'), true, 'now defaults to Date.now()')
  t.equal(graph.effective([global('moderator', Date.now() - 1)], null).has('users:read'), false)
})

t.test('tenants: global assignments apply everywhere, tenant ones only in their tenant', async (t) => {
  const assignments = [global('user'), inTenant('moderator', 't1'), inTenant('admin', 't2')]
  const cases: Array<[string | null, string, boolean]> = [
    ['t1', 'posts:read', true],
    ['t1', 'users:read', true],
    ['t1', 'keys:rotate', false],
    ['t2', 'keys:rotate', true],
    ['t2', 'posts:read', true],
    ['t3', 'users:read', false],
    ['t3', 'posts:read', true],
    [null, 'users:read', false],
    [null, 'posts:create', true]
  ]
  for (const [tenant, permission, expected] of cases) {
    t.equal(graph.effective(assignments, tenant, NOW).has(permission), expected, `${tenant}: ${permission}`)
  }
  const explained = graph.effective([global('user'), inTenant('user', 't1', NOW + 10)], 't1', NOW).explain('posts:read')
  t.same(explained, [
    { path: ['user'], tenantId: null, expiresAt: null, condition: null, permission: 'posts:read' },
    { path: ['user'], tenantId: 't1', expiresAt: NOW + 10, condition: null, permission: 'posts:read' }
  ])
})

t.test('unknown roles in assignments are ignored', async (t) => {
  const set = graph.effective([global('ghost'), global('user')], null, NOW)
  t.same(set.permissions(), ['posts:create', 'posts:read'])
  t.same(graph.effective([global('ghost')], null, NOW).permissions(), [])
})

t.test('permissions() keeps wildcards as granted; explain() names the granted permission', async (t) => {
  const set = graph.effective([global('admin'), global('posts-admin'), global('user')], null, NOW)
  t.same(set.permissions(), ['*', 'posts:*', 'posts:create', 'posts:read'])
  t.same(set.explain('posts:read').map((e) => e.permission), ['*', 'posts:*', 'posts:read'])
  t.same(set.explain('posts:*').map((e) => e.permission), ['*', 'posts:*'])
  t.same(set.explain('not valid'), [])
  const copy = set.permissions()
  copy.push('mutated')
  t.same(set.permissions(), ['*', 'posts:*', 'posts:create', 'posts:read'], 'callers get a copy')
})

t.test('explainAll() lists each effective permission with every way it is granted', async (t) => {
  const set = graph.effective([global('editor'), inTenant('moderator', 't1')], 't1', NOW)
  const all = set.explainAll()
  t.same(all.map((p) => p.name), ['posts:create', 'posts:delete', 'posts:publish', 'posts:read', 'posts:update', 'users:read'])
  const update = all.find((p) => p.name === 'posts:update')
  t.same(update?.via, [
    { path: ['editor'], tenantId: null, expiresAt: null, condition: null },
    { path: ['editor', 'author'], tenantId: null, expiresAt: null, condition: { owner: true } },
    { path: ['moderator'], tenantId: 't1', expiresAt: null, condition: null }
  ])
})

t.test('an effective set is immutable', async (t) => {
  const set = graph.effective([global('user')], null, NOW)
  t.ok(Object.isFrozen(set))
  t.throws(() => { (set as unknown as { nextExpiry: number }).nextExpiry = 1 })
})

t.test('fromPermissions() for client tokens', async (t) => {
  const set = EffectiveSet.fromPermissions(['authz:check', 'posts:*', 'Invalid'])
  t.same(set.permissions(), ['authz:check', 'posts:*'])
  t.equal(set.has('posts:read'), true)
  t.equal(set.has('users:read'), false)
  t.equal(set.nextExpiry, null)
  t.same(set.explain('posts:read'), [{ path: ['client scope'], tenantId: null, expiresAt: null, condition: null, permission: 'posts:*' }])
  t.equal(EffectiveSet.EMPTY.has('posts:read'), false)
  t.same(EffectiveSet.EMPTY.permissions(), [])
})

import t from 'tap'
import {
  ALLOWED,
  allowsUnconditionally,
  checkRequirement,
  compileRequirement,
  compileRoleGraph,
  decide,
  EffectiveSet,
  InvalidPermissionError,
  ScopeSet
} from '../../src/authz/index.js'
import { global, roles } from './fixtures/roles.js'

const graph = compileRoleGraph(roles)
const NOW = Date.UTC(2024, 0, 1, 12)
const as = (...names: string[]) => graph.effective(names.map((n) => global(n)), null, NOW)

t.test('decide() says which role path granted it, or what is missing', async (t) => {
  const cases: Array<[string[], string, boolean, string, string]> = [
    [['chief'], 'posts:read', true, 'granted', 'granted by role chief via editor > author > user'],
    [['editor'], 'posts:update', true, 'granted', 'granted by role editor'],
    [['editor'], 'posts:publish', true, 'granted', 'granted by role editor'],
    [['admin'], 'keys:rotate', true, 'granted', 'granted by role admin (*)'],
    [['posts-admin'], 'posts:delete', true, 'granted', 'granted by role posts-admin (posts:*)'],
    [['top'], 'docs:read', true, 'granted', 'granted by role top via left > reader'],
    [['user'], 'posts:update', false, 'missing_permission', 'missing permission posts:update'],
    [['posts-admin'], 'users:read', false, 'missing_permission', 'missing permission users:read'],
    [[], 'posts:read', false, 'missing_permission', 'missing permission posts:read'],
    [['author'], 'posts:update', false, 'condition_not_met', 'condition not met for posts:update'],
    [['admin'], 'Posts:Read', false, 'invalid_permission', 'invalid permission name "Posts:Read"'],
    [['admin'], '', false, 'invalid_permission', 'invalid permission name ""']
  ]
  for (const [assigned, permission, allowed, code, reason] of cases) {
    const d = decide(as(...assigned), permission)
    t.same({ allowed: d.allowed, code: d.code, reason: d.reason }, { allowed, code, reason }, `${assigned.join('+')}: ${permission}`)
  }
  t.same(decide(as('user'), 'posts:update').missing, ['posts:update'])
})

t.test('decide() never throws on bad input', async (t) => {
  const set = as('admin')
  for (const bad of [undefined, null, 42, {}, 'x'.repeat(10_000)]) {
    const d = decide(set, bad as unknown as string)
    t.equal(d.allowed, false)
    t.equal(d.code, 'invalid_permission')
    t.ok(d.reason.length < 200)
  }
})

t.test('decide() with a catalog refuses unknown permissions, even to *', async (t) => {
  const g = compileRoleGraph(roles, { permissions: ['posts:read', 'users:read', '*'] })
  const admin = g.effective([global('admin')], null, NOW)
  t.same(decide(admin, 'posts:read'), { allowed: true, code: 'granted', reason: 'granted by role admin (*)' })
  t.same(decide(admin, 'made:up'), {
    allowed: false,
    code: 'unknown_permission',
    reason: 'unknown permission made:up',
    missing: ['made:up']
  })
  t.equal(decide(admin, 'posts:*').allowed, true, 'wildcard queries are not checked against the catalog')
  t.equal(admin.isKnown('made:up'), false)
  t.equal(as('admin').isKnown('made:up'), true, 'no catalog: every name is known')
})

t.test('decide() evaluates conditional grants with the context', async (t) => {
  const author = as('author')
  const owned = { subjectId: 'u1', resource: { type: 'post', id: 'p1', ownerId: 'u1' } }
  const foreign = { subjectId: 'u1', resource: { type: 'post', id: 'p2', ownerId: 'u2' } }
  t.same(decide(author, 'posts:update', owned), { allowed: true, code: 'granted', reason: 'granted by role author (condition met)' })
  t.equal(decide(author, 'posts:update', foreign).code, 'condition_not_met')
  t.equal(decide(as('editor'), 'posts:update', foreign).allowed, true, 'an unconditional grant wins')

  const g = compileRoleGraph([
    { name: 'office', grants: [{ permission: '*', condition: { network: ['10.0.0.0/8'] } }] },
    { name: 'drafts', grants: [{ permission: 'posts:*', condition: { attribute: 'status', equals: 'draft' } }] }
  ])
  const both = g.effective([global('office'), global('drafts')], null, NOW)
  const cases: Array<[string, { ip?: string, status?: string }, boolean, string]> = [
    ['posts:update', { ip: '10.1.2.3' }, true, 'granted by role office (*, condition met)'],
    ['posts:update', { status: 'draft' }, true, 'granted by role drafts (posts:*, condition met)'],
    ['users:read', { status: 'draft' }, false, 'condition not met for users:read'],
    ['users:read', { ip: '11.0.0.1' }, false, 'condition not met for users:read']
  ]
  for (const [permission, { ip, status }, allowed, reason] of cases) {
    const d = decide(both, permission, { subjectId: 'u1', request: { ip }, resource: { attributes: { status } } })
    t.same([d.allowed, d.reason], [allowed, reason], `${permission} ${ip ?? ''}${status ?? ''}`)
  }
})

t.test('decide() with token scopes', async (t) => {
  const admin = as('admin')
  t.equal(decide(admin, 'posts:read', undefined, ScopeSet.parse('posts:read')).allowed, true)
  t.same(decide(admin, 'users:read', undefined, ScopeSet.parse('posts:read')), {
    allowed: false,
    code: 'missing_scope',
    reason: 'token scope does not cover users:read',
    missing: ['users:read']
  })
})

t.test('compileRequirement validates and resolves once', async (t) => {
  const all = compileRequirement(['posts:read', 'posts:update', 'posts:read'])
  t.equal(all.anyOf, false)
  t.same(all.permissions, ['posts:read', 'posts:update'])
  t.ok(Object.isFrozen(all))
  const any = compileRequirement({ anyOf: ['posts:*', 'users:read'] })
  t.equal(any.anyOf, true)
  t.same(any.permissions, ['posts:*', 'users:read'])

  t.throws(() => compileRequirement(['posts:read', 'Posts:Update']), InvalidPermissionError)
  t.throws(() => compileRequirement({ anyOf: ['nope'] }), InvalidPermissionError)
  t.throws(() => compileRequirement([]), TypeError)
  t.throws(() => compileRequirement({ anyOf: [] }), TypeError)
  t.throws(() => compileRequirement({} as unknown as string[]), TypeError)
  t.throws(() => compileRequirement([7] as unknown as string[]), InvalidPermissionError)
})

t.test('checkRequirement: allOf and anyOf, permissions and scopes', async (t) => {
  const ALL = null
  type Case = [string, string[] | { anyOf: string[] }, string[], string | null, boolean, string, string[] | undefined]
  const cases: Case[] = [
    ['all held', ['posts:read', 'posts:create'], ['user'], ALL, true, 'granted', undefined],
    ['one of all missing', ['posts:read', 'posts:publish'], ['user'], ALL, false, 'missing permission posts:publish', ['posts:publish']],
    ['two of all missing', ['users:read', 'posts:read', 'posts:publish'], ['user'], ALL, false, 'missing permissions users:read, posts:publish', ['users:read', 'posts:publish']],
    ['single held: its reason', ['posts:read'], ['editor'], ALL, true, 'granted by role editor via author > user', undefined],
    ['anyOf first held', { anyOf: ['posts:publish', 'users:read'] }, ['editor'], ALL, true, 'granted by role editor', undefined],
    ['anyOf second held', { anyOf: ['users:read', 'posts:read'] }, ['user'], ALL, true, 'granted by role user', undefined],
    ['anyOf none held', { anyOf: ['users:read', 'keys:read'] }, ['user'], ALL, false, 'missing any of permissions users:read, keys:read', ['users:read', 'keys:read']],
    ['held but not in scope', ['posts:read'], ['user'], 'posts:create', false, 'token scope does not cover posts:read', ['posts:read']],
    ['in scope by wildcard', ['posts:read', 'posts:create'], ['user'], 'posts:*', true, 'granted', undefined],
    ['in scope by *', ['keys:rotate'], ['admin'], '*', true, 'granted by role admin (*)', undefined],
    ['missing permission beats missing scope', ['posts:read', 'users:read'], ['user'], 'users:read', false, 'missing permission users:read', ['users:read']],
    ['anyOf: one held but out of scope', { anyOf: ['posts:read', 'users:read'] }, ['user'], 'openid', false, 'token scope does not cover any of posts:read, users:read', ['posts:read', 'users:read']],
    ['anyOf: second held and in scope', { anyOf: ['posts:read', 'posts:create'] }, ['user'], 'posts:create', true, 'granted by role user', undefined],
    ['conditional grant without a resource', ['posts:update'], ['author'], ALL, false, 'condition not met for posts:update', ['posts:update']],
    ['anyOf: condition is nearer than a missing permission', { anyOf: ['users:read', 'posts:update'] }, ['author'], ALL, false, 'condition not met for any of users:read, posts:update', ['users:read', 'posts:update']]
  ]
  for (const [label, declaration, assigned, scope, allowed, reason, missing] of cases) {
    const requirement = compileRequirement(declaration)
    const d = checkRequirement(as(...assigned), scope === null ? null : ScopeSet.parse(scope), requirement)
    t.same([d.allowed, d.reason, d.missing], [allowed, reason, missing], label)
  }
})

t.test('checkRequirement evaluates conditional grants with a given context', async (t) => {
  const g = compileRoleGraph([
    { name: 'office', grants: [{ permission: 'posts:*', condition: { network: ['10.0.0.0/8', '::1'] } }] },
    { name: 'reader', grants: [{ permission: 'posts:read' }] }
  ])
  const set = g.effective([global('office'), global('reader')], null, NOW)
  const requirement = compileRequirement(['posts:read', 'posts:update'])
  t.equal(checkRequirement(set, null, requirement, { request: { ip: '10.9.9.9' } }), ALLOWED)
  t.equal(checkRequirement(set, null, requirement, { request: { ip: '::1' } }).allowed, true)
  t.same(checkRequirement(set, null, requirement, { request: { ip: '192.168.0.1' } }).missing, ['posts:update'])
  t.equal(checkRequirement(set, null, requirement).code, 'condition_not_met')
})

t.test('the allowed path returns shared, frozen answers', async (t) => {
  const editor = as('editor')
  const single = compileRequirement(['posts:publish'])
  const pair = compileRequirement(['posts:publish', 'posts:read'])
  const scopes = ScopeSet.parse('posts:*')
  const first = checkRequirement(editor, scopes, single)
  t.equal(checkRequirement(editor, scopes, single), first, 'same object every time')
  t.ok(Object.isFrozen(first))
  t.equal(checkRequirement(editor, scopes, pair), ALLOWED)
  t.equal(decide(editor, 'posts:publish'), first, 'decide() shares it too')
})

t.test('client tokens: fromPermissions with scopes', async (t) => {
  const client = EffectiveSet.fromPermissions(['authz:check'])
  const d = checkRequirement(client, ScopeSet.parse('authz:check'), compileRequirement(['authz:check']))
  t.same([d.allowed, d.reason], [true, 'granted by client scope'])
  t.equal(checkRequirement(client, null, compileRequirement(['users:read'])).allowed, false)
})

t.test('allowsUnconditionally() is true exactly when unconditional grants and the scopes allow the route', async (t) => {
  const req = (d: string[] | { anyOf: string[] }) => compileRequirement(d)
  const cases: Array<[string[], string[] | { anyOf: string[] }, ScopeSet | null, boolean]> = [
    [['chief'], ['posts:read'], null, true],
    [['chief'], ['posts:read'], new ScopeSet(['posts:read']), true],
    [['chief'], ['posts:read'], new ScopeSet(['users:read']), false],
    [['admin'], ['keys:rotate', 'users:read'], new ScopeSet(['*']), true],
    [['posts-admin'], ['posts:delete'], new ScopeSet(['posts:*']), true],
    [['posts-admin'], ['posts:delete', 'users:read'], null, false],
    [['posts-admin'], { anyOf: ['users:read', 'posts:delete'] }, null, true],
    [['user'], { anyOf: ['users:read', 'keys:rotate'] }, null, false],
    // a conditional grant (author: posts:update if owner) may allow a request, never for good
    [['author'], ['posts:update'], null, false],
    [[], ['posts:read'], null, false]
  ]
  for (const [assigned, declaration, scopes, expected] of cases) {
    const effective = as(...assigned)
    const requirement = req(declaration)
    t.equal(allowsUnconditionally(effective, scopes, requirement), expected, `${assigned.join('+') || 'nothing'}: ${JSON.stringify(declaration)}`)
    // whenever it says yes, the route's own check allows without any context
    if (expected) t.ok(checkRequirement(effective, scopes, requirement).allowed)
  }
  const owner = checkRequirement(as('author'), null, req(['posts:update']), { subjectId: 'u1', resource: { type: 'post', id: 'p1', ownerId: 'u1' } })
  t.ok(owner.allowed, 'the conditional grant allows the owner here')
})

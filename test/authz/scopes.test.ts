import t from 'tap'
import { compileRoleGraph, intersectScopes, ScopeSet } from '../../src/authz/index.js'
import { global, roles } from './fixtures/roles.js'

const graph = compileRoleGraph(roles)
const NOW = Date.UTC(2024, 0, 1, 12)

t.test('intersectScopes', async (t) => {
  const cases: Array<[string, string[], string[] | null, string[]]> = [
    ['no request: everything as granted', ['admin'], null, ['*']],
    ['no request: wildcards and names', ['posts-admin', 'moderator'], null, ['posts:*', 'posts:delete', 'posts:read', 'posts:update', 'users:read']],
    ['no request: conditional grants included', ['author'], null, ['posts:create', 'posts:read', 'posts:update']],
    ['held exactly', ['user'], ['posts:read'], ['posts:read']],
    ['some held', ['user'], ['posts:read', 'users:read', 'posts:create'], ['posts:read', 'posts:create']],
    ['none held', ['user'], ['users:read'], []],
    ['held through posts:*', ['posts-admin'], ['posts:read', 'posts:publish'], ['posts:read', 'posts:publish']],
    ['held through *', ['admin'], ['keys:rotate', 'posts:*', '*'], ['keys:rotate', 'posts:*', '*']],
    ['requested wildcard needs the wildcard', ['editor'], ['posts:*'], []],
    ['requested * needs *', ['posts-admin'], ['*', 'posts:*'], ['posts:*']],
    ['requested wildcard of another resource', ['posts-admin'], ['users:*'], []],
    ['duplicates and invalid names dropped', ['user'], ['posts:read', 'posts:read', 'openid', ''], ['posts:read']],
    ['conditional grant counts as held', ['author'], ['posts:update'], ['posts:update']],
    ['empty request', ['user'], [], []]
  ]
  for (const [label, assigned, requested, expected] of cases) {
    const effective = graph.effective(assigned.map((r) => global(r)), null, NOW)
    t.same(intersectScopes(effective, requested), expected, label)
  }
})

t.test('ScopeSet.covers', async (t) => {
  const cases: Array<[string, string, boolean]> = [
    ['posts:read', 'posts:read', true],
    ['posts:read', 'posts:update', false],
    ['posts:read', 'posts:*', false],
    ['posts:*', 'posts:update', true],
    ['posts:*', 'posts:*', true],
    ['posts:*', 'users:read', false],
    ['posts:*', '*', false],
    ['*', 'users:delete', true],
    ['*', '*', true],
    ['*', 'not valid', false],
    ['openid posts:read', 'openid', false],
    ['  posts:read   users:read ', 'users:read', true],
    ['', 'posts:read', false]
  ]
  for (const [scope, permission, expected] of cases) {
    t.equal(ScopeSet.parse(scope).covers(permission), expected, `"${scope}" covers ${permission}`)
  }
})

t.test('ScopeSet.parse is cached and immutable', async (t) => {
  const a = ScopeSet.parse('posts:read users:read')
  t.equal(ScopeSet.parse('posts:read users:read'), a)
  t.ok(Object.isFrozen(a))
  t.same(a.names(), ['posts:read', 'users:read'])
  t.equal(a.toString(), 'posts:read users:read')
  t.equal(new ScopeSet(['posts:*']).covers('posts:read'), true)
})

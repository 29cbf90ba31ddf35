import t from 'tap'
import {
  compileRoleGraph,
  DuplicateRoleError,
  InvalidConditionError,
  InvalidPermissionError,
  MAX_PATHS_PER_GRANT,
  RoleCycleError,
  type RoleInput,
  UnknownRoleError,
  wouldCreateCycle
} from '../../src/authz/index.js'
import { global, roles } from './fixtures/roles.js'

const graph = compileRoleGraph(roles)

t.test('inheritance is transitive (4 levels)', async (t) => {
  const cases: Array<[string, string[]]> = [
    ['user', ['posts:create', 'posts:read']],
    ['author', ['posts:create', 'posts:read', 'posts:update']],
    ['editor', ['posts:create', 'posts:publish', 'posts:read', 'posts:update']],
    ['chief', ['posts:create', 'posts:delete', 'posts:publish', 'posts:read', 'posts:update']],
    ['top', ['docs:comment', 'docs:read']]
  ]
  for (const [role, expected] of cases) {
    t.same(graph.permissionsOf(role), expected, role)
    t.same(graph.effective([global(role)], null).permissions(), expected, `${role} effective`)
  }
  t.equal(graph.permissionsOf('nobody'), null)
  t.equal(graph.hasRole('chief'), true)
  t.equal(graph.hasRole('nobody'), false)
  t.same(graph.roleNames().slice(0, 3), ['admin', 'author', 'chief'])
})

t.test('the role path runs from the assigned role down to the holder', async (t) => {
  const chief = graph.effective([global('chief')], null)
  t.same(chief.explain('posts:read').map((e) => e.path), [['chief', 'editor', 'author', 'user']])
  t.same(chief.explain('posts:delete').map((e) => e.path), [['chief']])
  const update = chief.explain('posts:update')
  t.same(update.map((e) => [e.path, e.condition]), [
    [['chief', 'editor'], null],
    [['chief', 'editor', 'author'], { owner: true }]
  ])
})

t.test('a diamond grants through both paths', async (t) => {
  const top = graph.effective([global('top')], null)
  t.equal(top.has('docs:read'), true)
  t.same(top.explain('docs:read').map((e) => e.path), [['top', 'left', 'reader'], ['top', 'right', 'reader']])
  const all = top.explainAll()
  t.same(all.map((p) => [p.name, p.via.length]), [['docs:comment', 1], ['docs:read', 2]])
})

t.test('paths to one grant are capped', async (t) => {
  // five layers of two roles, each inheriting both roles below: 2^5 paths to the base grant
  const layered: RoleInput[] = [{ name: 'base', parents: [], grants: [{ permission: 'x:y' }] }]
  let below = ['base']
  for (let layer = 1; layer <= 5; layer++) {
    const names = [`l${layer}a`, `l${layer}b`]
    for (const name of names) layered.push({ name, parents: below, grants: [] })
    below = names
  }
  const g = compileRoleGraph(layered)
  const explained = g.effective([global('l5a')], null).explain('x:y')
  t.equal(explained.length, MAX_PATHS_PER_GRANT)
  t.equal(explained[0].path.length, 6)
})

t.test('inheritance cycles are refused with the cycle', async (t) => {
  const cases: Array<[string, RoleInput[], string[]]> = [
    ['self', [{ name: 'a', parents: ['a'] }], ['a', 'a']],
    ['direct', [{ name: 'a', parents: ['b'] }, { name: 'b', parents: ['a'] }], ['a', 'b', 'a']],
    ['indirect', [
      { name: 'a', parents: ['b'] },
      { name: 'b', parents: ['c'] },
      { name: 'c', parents: ['a'] }
    ], ['a', 'b', 'c', 'a']],
    ['away from the first role', [
      { name: 'x', parents: [] },
      { name: 'y', parents: ['x', 'z'] },
      { name: 'z', parents: ['y'] }
    ], ['y', 'z', 'y']]
  ]
  for (const [label, input, cycle] of cases) {
    const err = t.throws(() => compileRoleGraph(input), RoleCycleError, label) as RoleCycleError
    t.same(err.cycle, cycle, label)
  }
  const err = t.throws(() => compileRoleGraph([{ name: 'a', parents: ['a'] }])) as RoleCycleError
  t.equal(err.code, 'ROLE_CYCLE')
  t.match(err.message, /a -> a/)
})

t.test('wouldCreateCycle', async (t) => {
  const existing = roles
  const cases: Array<[string, string[], string[] | null]> = [
    ['user', ['editor'], ['user', 'editor', 'author', 'user']],
    ['user', ['user'], ['user', 'user']],
    ['author', ['editor'], ['author', 'editor', 'author']],
    ['user', ['moderator', 'chief'], ['user', 'chief', 'editor', 'author', 'user']],
    ['reader', ['top'], ['reader', 'top', 'left', 'reader']],
    ['editor', ['user'], null],
    ['editor', [], null],
    ['newcomer', ['chief', 'top'], null],
    ['user', ['ghost'], null]
  ]
  for (const [role, parents, expected] of cases) {
    t.same(wouldCreateCycle(existing, role, parents), expected, `${role} <- ${parents.join(',')}`)
  }
})

t.test('invalid role data is refused', async (t) => {
  const unknown = t.throws(() => compileRoleGraph([{ name: 'a', parents: ['ghost'] }])) as UnknownRoleError
  t.ok(unknown instanceof UnknownRoleError)
  t.equal(unknown.role, 'ghost')
  t.equal(unknown.referencedBy, 'a')

  const lenient = compileRoleGraph([{ name: 'a', parents: ['ghost'], grants: [{ permission: 'a:b' }] }], { unknownParents: 'ignore' })
  t.same(lenient.permissionsOf('a'), ['a:b'])

  t.throws(() => compileRoleGraph([{ name: 'a' }, { name: 'a' }]), DuplicateRoleError)
  const invalid = t.throws(() => compileRoleGraph([{ name: 'a', grants: [{ permission: 'Posts:Read' }] }])) as InvalidPermissionError
  t.ok(invalid instanceof InvalidPermissionError)
  t.equal(invalid.permission, 'Posts:Read')

  const badCondition = t.throws(() => compileRoleGraph([
    { name: 'a', grants: [{ permission: 'a:b', condition: { network: ['10.0.0.0/33'] } }] }
  ])) as InvalidConditionError
  t.ok(badCondition instanceof InvalidConditionError)
  t.same(badCondition.errors.map((e) => e.path), ['/network/0'])
  t.match(badCondition.message, /role a, grant a:b/)
})

t.test('a parent listed twice counts once', async (t) => {
  const g = compileRoleGraph([
    { name: 'base', grants: [{ permission: 'a:b' }] },
    { name: 'child', parents: ['base', 'base'] }
  ])
  t.equal(g.effective([global('child')], null).explain('a:b').length, 1)
})

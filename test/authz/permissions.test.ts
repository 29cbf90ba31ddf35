import t from 'tap'
import { isValidPermissionName, isWildcard, permissionCovers, permissionRef } from '../../src/authz/index.js'

t.test('isValidPermissionName', async (t) => {
  const cases: Array<[unknown, boolean]> = [
    ['posts:read', true],
    ['user-profiles:read_all', true],
    ['a1:b2', true],
    ['posts:*', true],
    ['*', true],
    ['Posts:read', false],
    ['posts', false],
    ['posts:', false],
    [':read', false],
    ['posts:read:extra', false],
    ['posts:re ad', false],
    ['*:read', false],
    ['**', false],
    ['posts:**', false],
    ['', false],
    [`posts:${'a'.repeat(200)}`, false],
    [42, false],
    [null, false]
  ]
  for (const [name, valid] of cases) t.equal(isValidPermissionName(name), valid, String(name))
})

t.test('isWildcard', async (t) => {
  t.equal(isWildcard('*'), true)
  t.equal(isWildcard('posts:*'), true)
  t.equal(isWildcard('posts:read'), false)
})

t.test('permissionCovers', async (t) => {
  const cases: Array<[string, string, boolean]> = [
    ['*', 'posts:read', true],
    ['*', 'posts:*', true],
    ['*', '*', true],
    ['posts:*', 'posts:read', true],
    ['posts:*', 'posts:*', true],
    ['posts:*', 'users:read', false],
    ['posts:*', '*', false],
    ['posts:read', 'posts:read', true],
    ['posts:read', 'posts:update', false],
    ['posts:read', 'posts:*', false],
    ['post:*', 'posts:read', false],
    ['*', 'not a permission', false]
  ]
  for (const [held, required, covers] of cases) {
    t.equal(permissionCovers(held, required), covers, `${held} covers ${required}`)
  }
})

t.test('permissionRef is resolved once and cached', async (t) => {
  const ref = permissionRef('posts:read')
  t.same(ref, { name: 'posts:read', valid: true, wildcard: false, resourceWildcard: 'posts:*' })
  t.equal(permissionRef('posts:read'), ref, 'same object on the second call')
  t.ok(Object.isFrozen(ref))
  t.same(permissionRef('posts:*'), { name: 'posts:*', valid: true, wildcard: true, resourceWildcard: null })
  t.same(permissionRef('*'), { name: '*', valid: true, wildcard: true, resourceWildcard: null })
  t.equal(permissionRef('Nope').valid, false)
})

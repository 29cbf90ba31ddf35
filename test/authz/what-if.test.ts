import t from 'tap'
import {
  applyRoleChange,
  compileRoleGraph,
  concreteExpander,
  diffSubject,
  EffectTally,
  Holdings,
  rolesReaching,
  type Assignment,
  type Effect,
  type RoleChange
} from '../../src/authz/index.js'
import { global, inTenant, roles } from './fixtures/roles.js'

const CATALOG = [
  '*', 'posts:*', 'posts:read', 'posts:create', 'posts:update', 'posts:delete', 'posts:publish',
  'users:read', 'docs:read', 'docs:comment'
]
const expand = concreteExpander(CATALOG)
const NOW = Date.UTC(2026, 11, 3)
const T = '00000000-0000-4000-8000-00000000000a'
const U = '00000000-0000-4000-8000-00000000000b'

const holdings = (change?: RoleChange) =>
  new Holdings(compileRoleGraph(change === undefined ? roles : applyRoleChange(roles, change), { unknownParents: 'ignore' }), expand)
const was = holdings()
const show = (effects: readonly Effect[]) => effects.map(e => `${e.tenantId ?? 'global'} ${e.permission}`)

function diff (change: RoleChange | null, before: Assignment[], after = before, view: string | null = null) {
  const effects = diffSubject({ id: 'u1', before, after }, was, change === null ? was : holdings(change), view, NOW)
  return { gained: show(effects.gained), lost: show(effects.lost) }
}

t.test('applyRoleChange returns new inputs and leaves the given ones alone', async t => {
  const before = JSON.stringify(roles)
  const byName = (list: typeof roles, name: string) => list.find(r => r.name === name)!
  const granted = applyRoleChange(roles, { kind: 'grant', role: 'user', permission: 'posts:read', condition: { owner: true } })
  t.same(byName(granted, 'user').grants, [{ permission: 'posts:create' }, { permission: 'posts:read', condition: { owner: true } }], 'a grant replaces the condition')
  t.same(byName(applyRoleChange(roles, { kind: 'revoke', role: 'editor', permission: 'posts:update' }), 'editor').grants, [{ permission: 'posts:publish' }])
  t.same(byName(applyRoleChange(roles, { kind: 'inherit', role: 'reader', parent: 'user' }), 'reader').parents, ['user'])
  t.equal(byName(applyRoleChange(roles, { kind: 'inherit', role: 'author', parent: 'user' }), 'author'), byName(roles, 'author'), 'an existing parent: unchanged')
  t.same(byName(applyRoleChange(roles, { kind: 'uninherit', role: 'top', parent: 'left' }), 'top').parents, ['right'])
  t.notOk(applyRoleChange(roles, { kind: 'delete-role', role: 'chief' }).some(r => r.name === 'chief'))
  t.equal(JSON.stringify(roles), before)
})

t.test('rolesReaching: the role and everything inheriting from it, transitively', async t => {
  t.same([...rolesReaching(roles, 'user')].sort(), ['author', 'chief', 'editor', 'user'])
  t.same([...rolesReaching(roles, 'reader')].sort(), ['left', 'reader', 'right', 'top'], 'a diamond, each once')
  t.same([...rolesReaching(roles, 'chief')], ['chief'])
  t.same([...rolesReaching(roles, 'nobody')], ['nobody'])
})

t.test('concreteExpander: wildcards become the concrete catalog names they cover', async t => {
  t.same([...expand(['*'])], CATALOG.filter(n => !n.includes('*')).sort())
  t.same([...expand(['posts:*', 'docs:read'])].sort(), ['docs:read', 'posts:create', 'posts:delete', 'posts:publish', 'posts:read', 'posts:update'])
  t.same([...expand(['reports:read', 'reports:*'])], [], 'names outside the catalog are not held')
})

t.test('Holdings: conditional grants count, expired assignments do not, tenants apply only in themselves', async t => {
  t.same([...was.of([global('author')], null, NOW)].sort(), ['posts:create', 'posts:read', 'posts:update'], 'posts:update is conditional for author')
  t.same([...was.of([global('chief', NOW)], null, NOW)], [], 'expired at now')
  t.same([...was.of([global('chief', NOW + 1)], null, NOW)].length, 5)
  t.same([...was.of([inTenant('moderator', T)], null, NOW)], [], 'a tenant assignment is not global')
  t.same([...was.of([inTenant('moderator', T)], T, NOW)].sort(), ['posts:delete', 'posts:read', 'posts:update', 'users:read'])
  t.equal(was.of([global('user'), global('user')], null, NOW), was.of([global('user')], null, NOW), 'one computation per set of roles')
})

t.test('diffSubject: inheritance, several levels down', async t => {
  const change: RoleChange = { kind: 'grant', role: 'user', permission: 'docs:read', condition: null }
  t.same(diff(change, [global('chief')]), { gained: ['global docs:read'], lost: [] }, 'chief > editor > author > user')
  t.same(diff(change, [global('moderator')]), { gained: [], lost: [] })
  t.same(diff({ kind: 'revoke', role: 'user', permission: 'posts:read' }, [global('chief')]), { gained: [], lost: ['global posts:read'] })
  t.same(diff({ kind: 'revoke', role: 'user', permission: 'posts:read' }, [global('chief'), global('moderator')]), { gained: [], lost: [] }, 'still held another way')
  t.same(diff({ kind: 'uninherit', role: 'top', parent: 'left' }, [global('top')]), { gained: [], lost: ['global docs:comment'] }, 'docs:read stays through right')
  t.same(diff({ kind: 'inherit', role: 'reader', parent: 'moderator' }, [global('top')]).gained,
    ['global posts:delete', 'global posts:read', 'global posts:update', 'global users:read'])
})

t.test('diffSubject: wildcards expand to concrete names', async t => {
  t.same(diff({ kind: 'grant', role: 'reader', permission: 'posts:*', condition: null }, [global('reader'), global('user')]).gained,
    ['global posts:delete', 'global posts:publish', 'global posts:update'])
  t.same(diff({ kind: 'delete-role', role: 'admin' }, [global('admin'), global('editor')]).lost,
    ['global docs:comment', 'global docs:read', 'global posts:delete', 'global users:read'])
})

t.test('diffSubject: the broadest scope is reported', async t => {
  const change: RoleChange = { kind: 'grant', role: 'user', permission: 'users:read', condition: null }
  t.same(diff(change, [global('user'), inTenant('editor', T)]), { gained: ['global users:read'], lost: [] }, 'gained globally: not again for the tenant')
  t.same(diff(change, [inTenant('author', T), inTenant('user', U)]), { gained: [`${T} users:read`, `${U} users:read`], lost: [] })
  const revoke: RoleChange = { kind: 'revoke', role: 'moderator', permission: 'users:read' }
  t.same(diff(revoke, [global('moderator'), inTenant('moderator', T)]), { gained: [], lost: ['global users:read'] })
  t.same(diff(revoke, [global('user'), inTenant('moderator', T)]), { gained: [], lost: [`${T} users:read`] })
  // lost globally, still held in T through T's own assignment: one global loss
  t.same(diff({ kind: 'delete-role', role: 'reader' }, [global('top'), inTenant('left', T)]), {
    gained: [],
    lost: ['global docs:read']
  }, 'a parent that goes: its grants go from every role inheriting it')
})

t.test('diffSubject: assignments change for one subject', async t => {
  t.same(diff(null, [global('user')], [global('user'), inTenant('moderator', T)]), {
    gained: [`${T} posts:delete`, `${T} posts:update`, `${T} users:read`], lost: []
  }, 'posts:read is held globally already')
  t.same(diff(null, [global('user'), inTenant('moderator', T)], [inTenant('moderator', T)]), {
    gained: [], lost: ['global posts:create', 'global posts:read']
  }, 'posts:read stays in T through moderator, and was global before: not a tenant loss')
  t.same(diff(null, [global('chief', NOW - 1)], [global('chief', NOW + 1000)]).gained.length, 5, 'an expired assignment renewed')
  t.same(diff(null, [global('chief')], [global('chief', NOW + 1000)]), { gained: [], lost: [] }, 'a new expiry still ahead: nothing changes now')
})

t.test('diffSubject with a tenant view: that tenant only, global holdings count there', async t => {
  const change: RoleChange = { kind: 'grant', role: 'user', permission: 'users:read', condition: null }
  t.same(diff(change, [global('user'), inTenant('editor', U)], undefined, T), { gained: [`${T} users:read`], lost: [] })
  t.same(diff(change, [inTenant('user', U)], undefined, T), { gained: [], lost: [] }, 'another tenant\'s assignment')
  t.same(diff({ kind: 'revoke', role: 'moderator', permission: 'users:read' }, [inTenant('moderator', T), global('moderator')], undefined, T).lost, [`${T} users:read`])
})

t.test('EffectTally: exact count, items capped', async t => {
  const tally = new EffectTally(2)
  const effect = (permission: string): Effect => ({ subjectId: 's', tenantId: null, permission })
  tally.add([effect('a:a'), effect('a:b'), effect('a:c')])
  tally.add([effect('a:d')])
  t.equal(tally.count, 4)
  t.same(tally.items.map(e => e.permission), ['a:a', 'a:b'])
  const none = new EffectTally(0)
  none.add([effect('a:a')])
  t.same([none.count, none.items.length], [1, 0])
})

/**
 * Scenario H: the decision engine alone, in process, against node-casbin and a bare precomputed
 * Map<user, Set<permission>>, on one RBAC-with-hierarchy policy: 1,000 users, 100 roles in a
 * hierarchy five deep, 50 resources x 4 actions. Every contender answers the same queries and
 * must agree on every answer.
 *
 * Run by bench/run.ts in its own process: `node node_modules/.cache/warden-bench/bench/scenarios/engine.js [seconds]`.
 */
import { fileURLToPath } from 'node:url'
import { newEnforcer, newModelFromString, StringAdapter } from 'casbin'
import {
  checkRequirement, compileRequirement, compileRoleGraph, decide,
  type EffectiveSet, type Requirement, type RoleInput
} from '../../src/authz/index.js'
import { median } from '../lib/load.js'

export interface EngineResult {
  /** decisions per second */
  rates: Record<string, number>
  /** per query set, Warden checkRequirement's rate over the bare Map's: the median of interleaved rounds' ratios */
  routeOverBare: Record<string, number>
  allowedShare: number
  setupMs: Record<string, number>
  policy: Record<string, number>
}

const USERS = 1000
const LEVELS = 5
const ROLES_PER_LEVEL = 20
const RESOURCES = 50
const ACTIONS = ['read', 'write', 'delete', 'admin']
const QUERIES = 1 << 16

/** mulberry32: a seeded PRNG, so every run (and every contender) sees the same policy and queries */
function prng (seed: number) {
  return () => {
    seed = (seed + 0x6D2B79F5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export function makePolicy () {
  const random = prng(42)
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]
  const permissions = Array.from({ length: RESOURCES }, (_, r) => ACTIONS.map(a => `res${r}:${a}`)).flat()
  // level 0 inherits level 1, ..., level 3 inherits level 4: each role has two parents one level down
  const roles: Array<Required<Pick<RoleInput, 'name' | 'parents'>> & { grants: Array<{ permission: string }> }> = []
  for (let level = 0; level < LEVELS; level++) {
    for (let i = 0; i < ROLES_PER_LEVEL; i++) {
      const parents = level + 1 < LEVELS ? [`l${level + 1}-${i}`, `l${level + 1}-${(i + 7) % ROLES_PER_LEVEL}`] : []
      const grants = new Set<string>()
      while (grants.size < 2) grants.add(pick(permissions))
      roles.push({ name: `l${level}-${i}`, parents, grants: [...grants].map(permission => ({ permission })) })
    }
  }
  const users = Array.from({ length: USERS }, (_, u) => {
    const count = 1 + Math.floor(random() * 2)
    const assigned = new Set<string>()
    while (assigned.size < count) assigned.add(`l${Math.floor(random() * 3)}-${Math.floor(random() * ROLES_PER_LEVEL)}`)
    return { id: `user-${u}`, roles: [...assigned] }
  })
  const queries = Array.from({ length: QUERIES }, () => ({ user: Math.floor(random() * USERS), permission: Math.floor(random() * permissions.length) }))
  return { permissions, roles, users, queries }
}

/** Runs `batch` (one pass over the queries) until `seconds` have passed: passes and milliseconds. */
function timed (seconds: number, batch: () => number, expectAllowed: number, name: string): { passes: number, ms: number } {
  let passes = 0
  const t0 = performance.now()
  let elapsed = 0
  do {
    const allowed = batch()
    if (allowed !== expectAllowed) throw new Error(`${name} allowed ${allowed} of ${QUERIES}, expected ${expectAllowed}`)
    passes++
    elapsed = performance.now() - t0
  } while (elapsed < seconds * 1000)
  return { passes, ms: elapsed }
}

const ROUNDS = 10

/**
 * Decisions per second of each contender, measured interleaved: ROUNDS rounds, each contender
 * running `seconds / ROUNDS` per round, so that the machine's drift from second to second hits
 * them alike. Rates are over all rounds; `overFirst` gives each contender's per-round rate over
 * the first contender's (the bare Map), whose median is the figure to compare.
 */
function interleaved (seconds: number, contenders: Array<{ name: string, batch: () => number }>, expectAllowed: number): { rates: Record<string, number>, overFirst: Record<string, number[]> } {
  for (const c of contenders) for (let i = 0; i < 3; i++) c.batch()
  const totals = contenders.map(() => ({ passes: 0, ms: 0 }))
  const overFirst: Record<string, number[]> = Object.fromEntries(contenders.map(c => [c.name, []]))
  for (let round = 0; round < ROUNDS; round++) {
    const perRound = contenders.map((c, i) => {
      const r = timed(seconds / ROUNDS, c.batch, expectAllowed, c.name)
      totals[i].passes += r.passes
      totals[i].ms += r.ms
      return r.passes / r.ms
    })
    contenders.forEach((c, i) => overFirst[c.name].push(perRound[i] / perRound[0]))
  }
  const rates = Object.fromEntries(contenders.map((c, i) => [c.name, totals[i].passes * QUERIES / (totals[i].ms / 1000)]))
  return { rates, overFirst }
}

export async function runEngine (seconds: number): Promise<EngineResult> {
  const { permissions, roles, users, queries } = makePolicy()
  const setupMs: Record<string, number> = {}

  // Warden: compile the graph once, one EffectiveSet per user (what the access state caches),
  // requirements resolved once (what a route does at registration)
  let t0 = performance.now()
  const graph = compileRoleGraph(roles, { permissions })
  const sets = new Map<string, EffectiveSet>()
  for (const u of users) sets.set(u.id, graph.effective(u.roles.map(role => ({ role, tenantId: null, expiresAt: null })), null))
  const requirements: Requirement[] = permissions.map(p => compileRequirement([p]))
  setupMs.warden = performance.now() - t0

  // the bare baseline: every user's permissions precomputed into a Set
  t0 = performance.now()
  const bare = new Map<string, Set<string>>()
  for (const u of users) bare.set(u.id, new Set(sets.get(u.id)!.permissions()))
  setupMs.bareMap = performance.now() - t0

  // node-casbin: RBAC with role hierarchy (g(child, parent): the child has the parent's grants)
  t0 = performance.now()
  const model = newModelFromString(`
[request_definition]
r = sub, obj, act
[policy_definition]
p = sub, obj, act
[role_definition]
g = _, _
[policy_effect]
e = some(where (p.eft == allow))
[matchers]
m = g(r.sub, p.sub) && r.obj == p.obj && r.act == p.act
`)
  const lines: string[] = []
  for (const role of roles) {
    for (const g of role.grants) lines.push(`p, ${role.name}, ${g.permission.split(':')[0]}, ${g.permission.split(':')[1]}`)
    for (const parent of role.parents) lines.push(`g, ${role.name}, ${parent}`)
  }
  for (const u of users) for (const r of u.roles) lines.push(`g, ${u.id}, ${r}`)
  const enforcer = await newEnforcer(model, new StringAdapter(lines.join('\n')))
  setupMs.casbin = performance.now() - t0

  const rates: Record<string, number> = {}
  const routeOverBare: Record<string, number> = {}
  // two query sets: random (user, permission) pairs, mostly denials; and only pairs that are
  // allowed (a healthy API's traffic, where denials are the exception)
  const random = queries
  const allowedOnly = queries.map((q, i) => {
    const held = [...bare.get(users[q.user].id)!]
    return held.length === 0 ? q : { user: q.user, permission: permissions.indexOf(held[i % held.length]) }
  })
  let expected = 0
  for (const [label, set] of [['random pairs', random], ['allowed pairs', allowedOnly]] as const) {
    const userIds = set.map(q => users[q.user].id)
    const names = set.map(q => permissions[q.permission])
    const reqs = set.map(q => requirements[q.permission])
    const bareBatch = () => {
      let allowed = 0
      for (let i = 0; i < QUERIES; i++) if (bare.get(userIds[i])!.has(names[i])) allowed++
      return allowed
    }
    const want = bareBatch()
    if (label === 'random pairs') expected = want
    const measured = interleaved(seconds, [
      { name: `bare Map<user, Set<permission>>, ${label}`, batch: bareBatch },
      {
        name: `Warden checkRequirement (route check), ${label}`,
        batch: () => {
          let allowed = 0
          for (let i = 0; i < QUERIES; i++) if (checkRequirement(sets.get(userIds[i])!, null, reqs[i]).allowed) allowed++
          return allowed
        }
      },
      {
        name: `Warden EffectiveSet.has, ${label}`,
        batch: () => {
          let allowed = 0
          for (let i = 0; i < QUERIES; i++) if (sets.get(userIds[i])!.has(names[i])) allowed++
          return allowed
        }
      },
      {
        name: `Warden decide (check API, with reasons), ${label}`,
        batch: () => {
          let allowed = 0
          for (let i = 0; i < QUERIES; i++) if (decide(sets.get(userIds[i])!, names[i]).allowed) allowed++
          return allowed
        }
      }
    ], want)
    Object.assign(rates, measured.rates)
    routeOverBare[label] = median(measured.overFirst[`Warden checkRequirement (route check), ${label}`])
  }

  const userIds = queries.map(q => users[q.user].id)
  const names = queries.map(q => permissions[q.permission])
  const objects = names.map(n => n.split(':')[0])
  const actions = names.map(n => n.split(':')[1])

  // casbin is ~4 orders of magnitude slower: time a slice of the queries, check them all once
  const casbinSlice = 2000
  let casbinAllowed = 0
  for (let i = 0; i < casbinSlice; i++) if (enforcer.enforceSync(userIds[i], objects[i], actions[i])) casbinAllowed++
  let bareSlice = 0
  for (let i = 0; i < casbinSlice; i++) if (bare.get(userIds[i])!.has(names[i])) bareSlice++
  if (casbinAllowed !== bareSlice) throw new Error(`casbin allowed ${casbinAllowed} of ${casbinSlice}, the others ${bareSlice}`)
  let done = 0
  t0 = performance.now()
  while (performance.now() - t0 < seconds * 1000) {
    const i = done++ % casbinSlice
    enforcer.enforceSync(userIds[i], objects[i], actions[i])
  }
  rates['node-casbin enforceSync, random pairs'] = done / ((performance.now() - t0) / 1000)

  return {
    rates,
    routeOverBare,
    allowedShare: expected / QUERIES,
    setupMs,
    policy: { users: USERS, roles: roles.length, depth: LEVELS, permissions: permissions.length, grants: roles.reduce((n, r) => n + r.grants.length, 0) }
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = await runEngine(Number(process.argv[2] ?? 2))
  process.stdout.write(JSON.stringify(result) + '\n')
}

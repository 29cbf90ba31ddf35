import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import {
  allowsUnconditionally, compileRequirement, decide, isValidPermissionName, isWildcard, permissionCovers,
  type EffectiveSet, type RoleGraph
} from '../../authz/index.js'
import { BadRequest, Forbidden, NotFound } from '../../errors.js'
import { decodeCursor, encodeCursor } from '../../lib/cursor.js'
import type { PrincipalView, SubjectState } from '../../access/index.js'
import { DEFAULT_PAGE_LIMIT, errorResponses, protectedErrors } from '../../schemas/common.js'
import { ref } from '../../schemas/registry.js'
import {
  CheckBatchResultSchema, CheckBatchSchema, CheckSchema, DecisionSchema, SubjectPageSchema, SubjectsQuerySchema,
  type Check, type DecisionAnswer
} from '../../schemas/authz.js'
import whatIfRoutes from './what-if.js'

const TAGS = ['authz']
const CHECK_OTHERS = 'authz:check'
/** OpenAPI note: authz:check is needed only to ask about another subject. */
const ABOUT_OTHERS = { all: [CHECK_OTHERS], when: 'a check names a subject' }

/** allowed answers kept per caller view (a service asks about a handful of permissions) */
const MAX_KEPT_ALLOWS = 32
const JSON_TYPE = 'application/json; charset=utf-8'

const deny = (reason: string): DecisionAnswer => ({ allowed: false, reason })

/**
 * The decision API: the same engine as Warden's own routes, asked by other services.
 * A check without `subject` answers for the caller (its effective permissions in the token's
 * tenant, limited by the token's scopes). A check about another user needs authz:check and
 * evaluates that user's effective permissions in `tenant` (the token's by default); callers whose
 * authz:check comes from a tenant role, and clients, may ask only about their own tenant.
 * Unknown permissions, subjects and tenants are answers (`allowed: false` with a reason), not
 * errors. Denials are audited as `authz.check`.
 */
const authzRoutes: FastifyPluginAsyncTypebox = async app => {
  // The permission catalog, reloaded with the role graph: every write to permissions publishes
  // 'graph', which gives getGraph() a new object. Kept resolved beside the graph, so a warm
  // check reads it without waiting.
  const catalogs = new WeakMap<RoleGraph, Promise<ReadonlySet<string>>>()
  const loadedCatalogs = new WeakMap<RoleGraph, ReadonlySet<string>>()
  async function catalog (): Promise<ReadonlySet<string>> {
    const graph = await app.access.getGraph()
    let names = catalogs.get(graph)
    if (names === undefined) {
      names = app.permissionsRepository.catalog()
      names.then(loaded => loadedCatalogs.set(graph, loaded), () => catalogs.delete(graph))
      catalogs.set(graph, names)
    }
    return names
  }
  function catalogNow (): ReadonlySet<string> | undefined {
    const graph = app.access.graphNow()
    return graph === null ? undefined : loadedCatalogs.get(graph)
  }

  const aboutCallerOnly = (check: Check) => check.subject === undefined && check.tenant === undefined

  /**
   * Checks about the caller in its own tenant (what services ask on every request): decisions on
   * the effective set authn's view already holds, no lookup. Denials are audited.
   */
  function answerForCaller (request: FastifyRequest, checks: readonly Check[], caller: EffectiveSet, known: ReadonlySet<string>): DecisionAnswer[] {
    const principal = request.principal!
    const scopes = app.access.scopesOf(principal)
    const context = { ip: request.ip, now: Date.now(), amr: principal.amr }
    const results: DecisionAnswer[] = new Array(checks.length)
    for (let i = 0; i < checks.length; i++) {
      const { permission, resource } = checks[i]
      const decision = isValidPermissionName(permission) && !isWildcard(permission) && !known.has(permission)
        ? deny(`unknown permission ${permission}`)
        : decide(caller, permission, { subjectId: principal.sub, resource, request: context }, scopes)
      results[i] = { allowed: decision.allowed, reason: decision.reason }
      if (!decision.allowed) auditDenial(request, checks[i], results[i].reason)
    }
    return results
  }

  function auditDenial (request: FastifyRequest, check: Check, reason: string): void {
    const principal = request.principal!
    app.audit.record(request, {
      action: 'authz.check',
      outcome: 'denied',
      targetType: check.subject === undefined ? principal.kind : 'user',
      targetId: check.subject ?? principal.sub,
      detail: `${check.permission}: ${reason}`.slice(0, 500)
    })
  }

  /**
   * Allowed answers to resource-less checks about the caller, kept as bytes with the caller's
   * view (as /me's answer is) when unconditional grants decided them: such an answer depends on
   * nothing in the request, and any change anywhere, or an expiry, ends the view and these with
   * it. Denials are never kept (each is audited).
   */
  const keptAllows = new WeakMap<PrincipalView, Map<string, Buffer>>()
  function keepAllow (view: PrincipalView, permission: string, body: string): void {
    const caller = view.effective
    if (caller === null || !app.access.current(view, Date.now())) return
    if (!allowsUnconditionally(caller, app.access.scopesOf(view.principal), compileRequirement([permission]))) return
    let kept = keptAllows.get(view)
    if (kept === undefined) keptAllows.set(view, kept = new Map())
    if (kept.size < MAX_KEPT_ALLOWS) kept.set(permission, Buffer.from(body))
  }

  /** Answers checks: without waiting when they are all about the caller and its state is warm. */
  function answer (request: FastifyRequest, checks: readonly Check[]): DecisionAnswer[] | Promise<DecisionAnswer[]> {
    const known = catalogNow()
    const view = request.accessView
    const caller = known === undefined || view === null ? undefined : app.access.effectiveOf(view)
    if (known !== undefined && caller !== undefined && !(caller instanceof Promise) && checks.every(aboutCallerOnly)) {
      return answerForCaller(request, checks, caller, known)
    }
    return answerAll(request, checks)
  }

  /** Answers checks in order: loads each distinct subject, tenant and the catalog once. */
  async function answerAll (request: FastifyRequest, checks: readonly Check[]): Promise<DecisionAnswer[]> {
    const principal = request.principal!
    const scopes = app.access.scopesOf(principal)
    const caller = await request.effectivePermissions()
    const now = Date.now()

    const aboutOthers = checks.some(c => c.subject !== undefined)
    if (aboutOthers && !decide(caller, CHECK_OTHERS, { subjectId: principal.sub }, scopes).allowed) {
      app.metrics.denied.inc()
      app.audit.record(request, { action: 'authz.check', outcome: 'denied', detail: 'checking another subject needs authz:check' })
      throw new Forbidden('checking another subject needs authz:check')
    }

    const subjectIds = new Set(checks.flatMap(c => c.subject === undefined ? [] : [c.subject.toLowerCase()]))
    const [known, tenantIds, global, states] = await Promise.all([
      catalog(),
      app.tenantsRepository.resolve(checks.flatMap(c => c.tenant === undefined ? [] : [c.tenant])),
      aboutOthers ? app.access.holdsGlobally(principal, CHECK_OTHERS) : false,
      Promise.all([...subjectIds].map(async id => [id, await app.access.subject(id)] as const))
    ])
    const subjects = new Map<string, SubjectState | null>(states)

    const results: DecisionAnswer[] = []
    for (const check of checks) {
      const { permission, resource } = check
      let tenantId = principal.tid
      if (check.tenant !== undefined) {
        const resolved = tenantIds.get(check.tenant)
        if (check.subject === undefined && resolved !== principal.tid) {
          results.push(deny('the caller\'s token applies only in its own tenant'))
          continue
        }
        // a tenant outside the caller's reach answers like one that does not exist
        if (resolved === undefined || (!global && resolved !== principal.tid)) {
          results.push(deny('unknown tenant'))
          continue
        }
        tenantId = resolved
      }
      if (isValidPermissionName(permission) && !isWildcard(permission) && !known.has(permission)) {
        results.push(deny(`unknown permission ${permission}`))
        continue
      }
      let effective: EffectiveSet
      let subjectId = principal.sub
      if (check.subject === undefined) {
        effective = caller
      } else {
        subjectId = check.subject.toLowerCase()
        const state = subjects.get(subjectId)
        if (state == null) {
          results.push(deny('unknown subject'))
          continue
        }
        if (!state.active) {
          results.push(deny('subject is disabled'))
          continue
        }
        effective = await app.access.effectiveFor(state, tenantId, now)
      }
      const decision = check.subject === undefined
        ? decide(effective, permission, { subjectId, resource, request: { ip: request.ip, now, amr: principal.amr } }, scopes)
        : decide(effective, permission, { subjectId, resource, request: { now } })
      results.push({ allowed: decision.allowed, reason: decision.reason })
    }

    checks.forEach((check, i) => {
      if (!results[i].allowed) auditDenial(request, check, results[i].reason)
    })
    return results
  }

  /**
   * Each answered check is a decision, allowed or not, as Warden's own route checks are; the
   * authz:check gate counts only when it refuses (its pass is not what the caller asked about).
   */
  function tallied (results: DecisionAnswer[]): DecisionAnswer[] {
    for (const r of results) {
      if (r.allowed) app.metrics.allowed.inc()
      else app.metrics.denied.inc()
    }
    return results
  }

  app.post('/check', {
    config: { authenticated: true },
    schema: {
      tags: TAGS,
      operationId: 'checkPermission',
      'x-permissions': ABOUT_OTHERS,
      summary: 'May this subject do this?',
      description: 'Without `subject`, answers for the caller (token tenant and scopes). With `subject` (a user id) the caller needs authz:check. Unknown permissions, subjects and tenants answer `allowed: false` with a reason.',
      body: ref(CheckSchema),
      response: { 200: ref(DecisionSchema), ...protectedErrors }
    }
  }, (request, reply) => {
    // Not an async function: a warm check about the caller is answered in this call, without a
    // promise and a microtask before Fastify sends it (it sends a handler's non-promise value).
    const check = request.body
    const view = request.accessView
    const keepable = view !== null && aboutCallerOnly(check) && check.resource === undefined && !isWildcard(check.permission)
    if (keepable) {
      const kept = keptAllows.get(view)?.get(check.permission)
      if (kept !== undefined && app.access.current(view, Date.now())) {
        app.metrics.allowed.inc()
        reply.type(JSON_TYPE).send(kept)
        return
      }
    }
    const results = answer(request, [check])
    if (results instanceof Promise) return results.then(tallied).then(([result]) => result)
    const [result] = tallied(results)
    if (keepable && result.allowed) keepAllow(view, check.permission, reply.serialize(result) as string)
    return result
  })

  app.post('/check-batch', {
    config: { authenticated: true },
    schema: {
      tags: TAGS,
      operationId: 'checkPermissions',
      'x-permissions': ABOUT_OTHERS,
      summary: 'Several decisions at once',
      description: 'Up to 100 checks, answered in order. Any check with a `subject` makes the call need authz:check.',
      body: ref(CheckBatchSchema),
      response: { 200: ref(CheckBatchResultSchema), ...protectedErrors }
    }
  }, request => {
    const results = answer(request, request.body.checks)
    if (results instanceof Promise) return results.then(tallied).then(done => ({ results: done }))
    return { results: tallied(results) }
  })

  app.get('/subjects', {
    config: { permissions: [CHECK_OTHERS] },
    schema: {
      tags: TAGS,
      operationId: 'listPermissionSubjects',
      summary: 'Who holds this permission?',
      description: 'Active users holding the permission in the tenant (the token\'s by default), through global or tenant assignments that have not expired, role inheritance and wildcards included. `via` lists the assigned roles. Holders of conditional grants only (e.g. authors, owner-only) are listed with `includeConditional=true`.',
      querystring: SubjectsQuerySchema,
      response: { 200: ref(SubjectPageSchema), ...protectedErrors, 404: errorResponses[404] }
    }
  }, async request => {
    const principal = request.principal!
    const { permission, tenant, includeConditional, limit = DEFAULT_PAGE_LIMIT, cursor } = request.query
    if (!isValidPermissionName(permission)) throw new BadRequest(`invalid permission name ${JSON.stringify(permission)}`)
    // keyset on the user id alone; the cursor's time part is unused
    const after = cursor === undefined ? null : decodeCursor(cursor, 'uuid').id

    let tenantId = principal.tid
    if (tenant !== undefined) {
      const [resolved, global] = await Promise.all([
        app.tenantsRepository.resolve([tenant]).then(m => m.get(tenant)),
        app.access.holdsGlobally(principal, CHECK_OTHERS)
      ])
      if (resolved === undefined || (!global && resolved !== principal.tid)) throw new NotFound('tenant not found')
      tenantId = resolved
    }
    if (!isWildcard(permission) && !(await catalog()).has(permission)) return { items: [], nextCursor: null }

    const graph = await app.access.getGraph()
    const covering = graph.roleNames().filter(role => includeConditional === true
      ? (graph.permissionsOf(role) ?? []).some(held => permissionCovers(held, permission))
      : graph.effective([{ role, tenantId: null, expiresAt: null }], null).has(permission))
    if (covering.length === 0) return { items: [], nextCursor: null }

    const rows = await app.usersRepository.holders({ roleNames: covering, tenantId, after, limit: limit + 1 })
    const items = rows.slice(0, limit).map(row => ({ ...row, via: [...row.via].sort() }))
    const last = items[items.length - 1]
    return { items, nextCursor: rows.length > limit && last !== undefined ? encodeCursor(new Date(0), last.id) : null }
  })

  await app.register(whatIfRoutes)
}

export default authzRoutes

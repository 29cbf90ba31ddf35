import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import {
  allowsUnconditionally, checkRequirement, compileRequirement, decide, EffectiveSet, ScopeSet,
  type Requirement, type ResourceContext
} from '../authz/index.js'
import { Forbidden, InsufficientScope, InvalidToken, NotFound } from '../errors.js'
import { DEFAULT_PERMISSIONS } from '../db/seed.js'
import type { Principal } from './tokens.js'

export type PermissionDeclaration = string[] | { anyOf: string[] }

/** routes remembered as allowed per principal view (a principal uses a handful) */
const MAX_REMEMBERED_ROUTES = 32

declare module 'fastify' {
  interface FastifyContextConfig {
    /** no principal needed */
    public?: boolean
    /** any valid principal */
    authenticated?: boolean
    /** all of these permissions, or any of `anyOf` */
    permissions?: PermissionDeclaration
    /**
     * the route acts on a global resource (signing keys, the permission catalog, role
     * definitions, tenants themselves): its permissions count only from global assignments, so
     * an administrator of one tenant, or a client (which belongs to one), is refused
     */
    global?: boolean
    /** which principals may call; both when unset */
    principal?: 'user' | 'client'
    /** OAuth endpoint: errors in RFC 6749 shape */
    oauth?: boolean
  }
  interface FastifyRequest {
    /**
     * Resource-level check through the decision engine. Throws 403, or 404 when `hide` is set
     * (the caller may not learn that the object exists).
     */
    authorize: (permission: string, resource?: ResourceContext, opts?: { hide?: boolean }) => Promise<void>
    /** The caller's effective permissions for the token's tenant (loaded by the authz hook or on demand). */
    effectivePermissions: () => Promise<EffectiveSet>
  }
}

export class AccessDeclarationError extends Error {}

interface CompiledRoute { requirement: Requirement, names: string[], global: boolean }

/**
 * Authorization: every route must declare `public`, `authenticated` or `permissions` (the app
 * refuses to boot otherwise). Permission routes get a preHandler that checks the caller's
 * effective permissions for the token's tenant intersected with the token's scopes: set and
 * map lookups on state that authn already loaded.
 * @see ../authz/index.ts for the engine
 */
export default fp(async function authzPlugin (app: FastifyInstance) {
  const known = new Set(Object.keys(DEFAULT_PERMISSIONS))

  // kept with the principal (which the verified-token cache shares between requests), so that a
  // request does not look its scope string up by content: with many users' tokens in rotation
  // that compared a cold kilobyte-long string per request
  const scopeSets = new WeakMap<Principal, ScopeSet>()
  function scopesOf (principal: Principal): ScopeSet {
    let set = scopeSets.get(principal)
    if (set === undefined) {
      set = ScopeSet.parse(principal.scope)
      scopeSets.set(principal, set)
    }
    return set
  }

  function effectiveOf (principal: Principal): EffectiveSet | Promise<EffectiveSet> {
    // kept with the principal's view (see authn) until anything changes or expires
    const view = app.access.view(principal, Date.now())
    if (view !== undefined && view.effective !== null) return view.effective
    const since = app.access.epoch()
    const keep = (set: EffectiveSet) => {
      app.access.rememberEffective(principal, since, set)
      return set
    }
    if (principal.kind === 'client') {
      const client = app.access.client(principal.sub)
      const pick = (c: Awaited<typeof client>) => {
        if (c === null) throw new InvalidToken('client no longer exists')
        return keep(c.effective)
      }
      return client instanceof Promise ? client.then(pick) : pick(client)
    }
    const subject = app.access.subject(principal.sub)
    const pick = (s: Awaited<typeof subject>) => {
      if (s === null) throw new InvalidToken('user no longer exists')
      const set = app.access.effectiveFor(s, principal.tid)
      return set instanceof Promise ? set.then(keep) : keep(set)
    }
    return subject instanceof Promise ? subject.then(pick) : pick(subject)
  }

  app.decorateRequest('authorize', async function (this: FastifyRequest, permission: string, resource?: ResourceContext, opts?: { hide?: boolean }) {
    const principal = this.principal
    if (principal === null) throw new Forbidden('not allowed')
    const effective = await effectiveOf(principal)
    const decision = decide(effective, permission, {
      subjectId: principal.sub,
      resource,
      request: { ip: this.ip, now: Date.now() }
    }, scopesOf(principal))
    if (decision.allowed) {
      app.metrics.allowed.inc()
      return
    }
    app.metrics.denied.inc()
    app.audit.record(this, { action: 'authz.deny', outcome: 'denied', targetType: resource?.type ?? null, targetId: resource?.id ?? null, detail: `${permission}: ${decision.reason}` })
    if (opts?.hide) throw new NotFound('not found')
    if (decision.code === 'missing_scope') throw new InsufficientScope(decision.reason)
    throw new Forbidden(decision.reason)
  })
  app.decorateRequest('effectivePermissions', async function (this: FastifyRequest) {
    if (this.principal === null) throw new Forbidden('not allowed')
    return effectiveOf(this.principal)
  })

  function finish (request: FastifyRequest, reply: FastifyReply, compiled: CompiledRoute, set: EffectiveSet, done: HookHandlerDoneFunction) {
    const principal = request.principal!
    const scopes = scopesOf(principal)
    const decision = checkRequirement(set, scopes, compiled.requirement, { subjectId: principal.sub, request: { ip: request.ip } })
    if (decision.allowed) {
      app.metrics.allowed.inc()
      // Remember the route with the principal's view when the set decided with is the view's own
      // and unconditional grants allowed it: the next request then skips the effective set and
      // the scopes (cold memory when many users' tokens are in rotation). Any change anywhere, or
      // an expiry, ends the view and with it this memo.
      const view = app.access.view(principal, Date.now())
      if (view !== undefined && view.effective === set && view.allowedRoutes.length < MAX_REMEMBERED_ROUTES &&
        allowsUnconditionally(set, scopes, compiled.requirement)) {
        view.allowedRoutes.push(compiled)
      }
      return done()
    }
    app.metrics.denied.inc()
    app.audit.record(request, { action: 'authz.deny', outcome: 'denied', targetType: 'route', targetId: `${request.method} ${request.routeOptions.url}`, detail: decision.reason })
    if (decision.code === 'missing_scope') {
      reply.header('www-authenticate', `Bearer realm="warden", error="insufficient_scope", scope="${compiled.names.join(' ')}"`)
      return done(new InsufficientScope(`token scope does not include ${compiled.names.join(', ')}`))
    }
    done(new Forbidden(decision.reason))
  }

  /** The principal's rights from global assignments only; none for a client. */
  function globalEffectiveOf (principal: Principal): EffectiveSet | Promise<EffectiveSet> {
    if (principal.kind === 'client') return EffectiveSet.EMPTY
    const subject = app.access.subject(principal.sub)
    const pick = (s: Awaited<typeof subject>) => {
      if (s === null) throw new InvalidToken('user no longer exists')
      return app.access.effectiveFor(s, null)
    }
    return subject instanceof Promise ? subject.then(pick) : pick(subject)
  }

  function enforceGlobal (compiled: CompiledRoute) {
    return function checkGlobalPermissions (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) {
      const effective = globalEffectiveOf(request.principal!)
      if (effective instanceof Promise) {
        effective.then(set => finish(request, reply, compiled, set, done), done)
      } else {
        finish(request, reply, compiled, effective, done)
      }
    }
  }

  function enforce (compiled: CompiledRoute) {
    if (compiled.global) return enforceGlobal(compiled)
    return function checkPermissions (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) {
      const view = app.access.view(request.principal!, Date.now())
      if (view !== undefined && view.allowedRoutes.includes(compiled)) {
        app.metrics.allowed.inc()
        return done()
      }
      const effective = effectiveOf(request.principal!)
      if (effective instanceof Promise) {
        effective.then(set => finish(request, reply, compiled, set, done), done)
      } else {
        finish(request, reply, compiled, effective, done)
      }
    }
  }

  function onlyKind (kind: 'user' | 'client') {
    return function checkPrincipalKind (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) {
      if (request.principal!.kind !== kind) return done(new Forbidden(`this endpoint is for ${kind} tokens only`))
      done()
    }
  }

  app.addHook('onRoute', route => {
    const config = route.config ?? {}
    const declared = [config.public === true, config.authenticated === true, config.permissions !== undefined].filter(Boolean).length
    const where = `${String(route.method)} ${route.url}`
    if (declared !== 1) {
      throw new AccessDeclarationError(`route ${where} must declare exactly one of config.public, config.authenticated, config.permissions`)
    }
    if (config.global === true && config.permissions === undefined) {
      throw new AccessDeclarationError(`route ${where}: config.global qualifies config.permissions`)
    }
    const preHandlers = route.preHandler === undefined ? [] : Array.isArray(route.preHandler) ? route.preHandler : [route.preHandler]
    const added = []
    if (config.principal && !config.public) added.push(onlyKind(config.principal))
    if (config.permissions !== undefined) {
      const decl = config.permissions
      const names = Array.isArray(decl) ? decl : decl.anyOf
      for (const name of names) {
        if (!known.has(name)) throw new AccessDeclarationError(`route ${where} requires unknown permission ${name}`)
      }
      const requirement = compileRequirement(decl)
      const global = config.global === true
      added.push(enforce({ requirement, names, global }))
      if (route.schema) {
        // `all`/`any`, not JSON Schema's allOf/anyOf, which SDK generators read as schemas
        (route.schema as Record<string, unknown>)['x-permissions'] = {
          ...(Array.isArray(decl) ? { all: names } : { any: names }),
          ...(global ? { global: true } : {})
        }
      }
    }
    if (route.schema) {
      const schema = route.schema as Record<string, unknown>
      // public operations say so (`[]`), or generators and linters assume the global default
      if (!config.public) schema.security = [{ bearerAuth: [] }, { oauth2: [] }]
      else if (schema.security === undefined) schema.security = []
    }
    route.preHandler = [...added, ...preHandlers]
  })
}, { name: 'authz', dependencies: ['authn'] })

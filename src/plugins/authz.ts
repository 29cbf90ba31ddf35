import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import {
  allowsUnconditionally, checkRequirement, compileRequirement, decide, type EffectiveSet,
  type Requirement, type ResourceContext
} from '../authz/index.js'
import { Forbidden, InsufficientScope, InsufficientUserAuthentication, NotFound } from '../errors.js'
import { DEFAULT_PERMISSIONS } from '../db/seed.js'
import { AccessDeclarationError, routeAccess, type PermissionDeclaration } from '../access/declaration.js'
import type { PrincipalView } from '../access/index.js'

export { AccessDeclarationError, type PermissionDeclaration }

/** routes remembered as allowed per principal view (a principal uses a handful) */
const MAX_REMEMBERED_ROUTES = 32

declare module 'fastify' {
  // public, authenticated, permissions and principal: ../access/declaration.ts
  interface FastifyContextConfig {
    /**
     * the route acts on a global resource (signing keys, the permission catalog, role
     * definitions, tenants themselves): its permissions count only from global assignments, so
     * an administrator of one tenant, or a client (which belongs to one), is refused
     */
    global?: boolean
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
  const { access } = app

  /** The request's view (authn made it); a route reached without one has no caller to judge. */
  function viewOf (request: FastifyRequest): PrincipalView {
    const view = request.accessView
    if (view === null) throw new Forbidden('not allowed')
    return view
  }

  app.decorateRequest('authorize', async function (this: FastifyRequest, permission: string, resource?: ResourceContext, opts?: { hide?: boolean }) {
    const view = viewOf(this)
    const effective = await access.effectiveOf(view)
    const context = { subjectId: view.principal.sub, resource, request: { ip: this.ip, now: Date.now(), amr: view.principal.amr } }
    const scopes = access.scopesOf(view.principal)
    const decision = decide(effective, permission, context, scopes)
    if (decision.allowed) {
      app.metrics.allowed.inc()
      return
    }
    app.metrics.denied.inc()
    app.audit.record(this, { action: 'authz.deny', outcome: 'denied', targetType: resource?.type ?? null, targetId: resource?.id ?? null, detail: `${permission}: ${decision.reason}` })
    if (opts?.hide) throw new NotFound('not found')
    if (decision.code === 'missing_scope') throw new InsufficientScope(decision.reason)
    if (withSecondFactor(context, c => decide(effective, permission, c, scopes).allowed)) {
      throw new InsufficientUserAuthentication(`${permission} needs a sign-in with a second factor`)
    }
    throw new Forbidden(decision.reason)
  })
  app.decorateRequest('effectivePermissions', async function (this: FastifyRequest) {
    return access.effectiveOf(viewOf(this))
  })

  /**
   * Whether a denial is one a second factor would turn (RFC 9470 step-up): the caller signed in
   * without one, and the same decision with `otp` in `amr` allows. Only denials pay for it.
   */
  function withSecondFactor<C extends { request: { amr: readonly string[] } }> (context: C, allowed: (c: C) => boolean): boolean {
    if (context.request.amr.includes('otp')) return false
    return allowed({ ...context, request: { ...context.request, amr: [...context.request.amr, 'otp'] } })
  }

  function finish (request: FastifyRequest, reply: FastifyReply, compiled: CompiledRoute, set: EffectiveSet, done: HookHandlerDoneFunction) {
    const view = request.accessView!
    const scopes = access.scopesOf(view.principal)
    const context = { subjectId: view.principal.sub, request: { ip: request.ip, amr: view.principal.amr } }
    const decision = checkRequirement(set, scopes, compiled.requirement, context)
    if (decision.allowed) {
      app.metrics.allowed.inc()
      // Remember the route with the principal's view when the set decided with is the view's own
      // and unconditional grants allowed it: the next request then skips the effective set and
      // the scopes (cold memory when many users' tokens are in rotation). Any change anywhere, or
      // an expiry, ends the view and with it this memo.
      if (view.effective === set && access.current(view, Date.now()) && view.allowedRoutes.length < MAX_REMEMBERED_ROUTES &&
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
    if (withSecondFactor(context, c => checkRequirement(set, scopes, compiled.requirement, c).allowed)) {
      return done(new InsufficientUserAuthentication(`${compiled.names.join(', ')} needs a sign-in with a second factor`))
    }
    done(new Forbidden(decision.reason))
  }

  function enforceGlobal (compiled: CompiledRoute) {
    return function checkGlobalPermissions (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) {
      const effective = access.globalEffectiveOf(request.principal!)
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
      const view = request.accessView!
      if (view.allowedRoutes.includes(compiled) && access.current(view, Date.now())) {
        app.metrics.allowed.inc()
        return done()
      }
      const effective = access.effectiveOf(view)
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
    const where = `${String(route.method)} ${route.url}`
    const declared = routeAccess(config, where)
    if (config.global === true && declared.kind !== 'permissions') {
      throw new AccessDeclarationError(`route ${where}: config.global qualifies config.permissions`)
    }
    const preHandlers = route.preHandler === undefined ? [] : Array.isArray(route.preHandler) ? route.preHandler : [route.preHandler]
    const added = []
    if (declared.kind !== 'public' && declared.principal) added.push(onlyKind(declared.principal))
    if (declared.kind === 'permissions') {
      const { declaration: decl, names } = declared
      for (const name of names) {
        if (!known.has(name)) throw new AccessDeclarationError(`route ${where} requires unknown permission ${name}`)
      }
      const requirement = compileRequirement(decl)
      const global = config.global === true
      added.push(enforce({ requirement, names, global }))
      if (route.schema) {
        // `all`/`any`, not JSON Schema's allOf/anyOf, which SDK generators read as schemas
        (route.schema as Record<string, unknown>)['x-permissions'] = {
          ...(declared.anyOf ? { any: names } : { all: names }),
          ...(global ? { global: true } : {})
        }
      }
    }
    if (route.schema) {
      const schema = route.schema as Record<string, unknown>
      // public operations say so (`[]`), or generators and linters assume the global default
      if (declared.kind !== 'public') schema.security = [{ bearerAuth: [] }, { oauth2: [] }]
      else if (schema.security === undefined) schema.security = []
    }
    route.preHandler = [...added, ...preHandlers]
  })
}, { name: 'authz', dependencies: ['authn', 'metrics', 'audit'] })

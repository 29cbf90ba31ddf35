import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { BadRequest, Conflict } from '../../errors.js'
import { isUniqueViolation } from '../../lib/db-errors.js'
import {
  CreateTenantBodySchema, TenantParamsSchema, TenantSchema, UpdateTenantBodySchema, type TenantView, TenantPageSchema, MemberPageSchema
} from '../../schemas/admin.js'
import { DEFAULT_PAGE_LIMIT, errorResponses, PageQuerySchema, protectedErrors, withNotFound } from '../../schemas/common.js'
import { adminScope, visibleTenant, type AdminScope } from '../../services/admin/scope.js'
import { userView } from '../../services/admin/users.js'
import type { Tenant } from '../../repositories/tenants.js'
import { ref } from '../../schemas/registry.js'
import { changed } from '../../access/changes.js'

const TAGS = ['tenants']
const UUID_SHAPED = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** Beyond this many affected cache entries a tenant delete resets every instance's caches instead. */
const MAX_TARGETED_INVALIDATIONS = 1000

const tenantView = (t: Tenant): TenantView => ({
  id: t.id,
  slug: t.slug,
  name: t.name,
  isDefault: t.isDefault,
  createdAt: t.createdAt.toISOString(),
  updatedAt: t.updatedAt.toISOString()
})

function assertSlug (slug: string | undefined) {
  // a slug shaped like an id would make "id or slug" ambiguous
  if (slug !== undefined && UUID_SHAPED.test(slug)) throw new BadRequest('a tenant slug must not look like a UUID')
}

function conflictOnTaken (slug: string | undefined) {
  return (err: unknown): never => {
    if (isUniqueViolation(err)) throw new Conflict(`tenant slug ${slug ?? ''} is already taken`)
    throw err
  }
}

/**
 * Tenants, named by id or slug. A tenant-scoped administrator sees only their own tenant (others
 * answer 404) and may rename it, but creating and deleting tenants needs tenants:write from a
 * global assignment.
 */
const tenantsRoutes: FastifyPluginAsyncTypebox = async app => {
  // creating and deleting tenants are global operations (`global: true`): the caller's reach is every tenant
  const GLOBAL: AdminScope = { tenantId: null }

  app.get('/', {
    config: { permissions: ['tenants:read'] },
    schema: {
      tags: TAGS,
      operationId: 'listTenants',
      summary: 'List tenants',
      description: 'Oldest first. A tenant-scoped caller sees only their own tenant.',
      querystring: PageQuerySchema,
      response: { 200: ref(TenantPageSchema), ...protectedErrors }
    }
  }, async request => {
    const { limit = DEFAULT_PAGE_LIMIT, cursor } = request.query
    const scope = await adminScope(app, request, 'tenants:read')
    const result = await app.tenantsRepository.list({ only: scope.tenantId, limit, cursor })
    return { items: result.items.map(tenantView), nextCursor: result.nextCursor }
  })

  app.post('/', {
    config: { permissions: ['tenants:write'], global: true },
    schema: {
      tags: TAGS,
      operationId: 'createTenant',
      summary: 'Create a tenant',
      description: 'Needs tenants:write from a global role. 409 if the slug is taken.',
      body: ref(CreateTenantBodySchema),
      response: { 201: ref(TenantSchema), ...protectedErrors, 409: errorResponses[409] }
    }
  }, async (request, reply) => {
    const { slug, name } = request.body
    assertSlug(slug)
    const row = await app.tenantsRepository.create(slug, name).catch(conflictOnTaken(slug))
    app.audit.record(request, { action: 'tenant.create', outcome: 'success', targetType: 'tenant', targetId: row.id, tenantId: row.id, after: tenantView(row) })
    return reply.code(201).send(tenantView(row))
  })

  app.get('/:id', {
    config: { permissions: ['tenants:read'] },
    schema: {
      tags: TAGS,
      operationId: 'getTenant',
      summary: 'Get a tenant by id or slug',
      description: 'By id or slug. A tenant-scoped caller sees only its own tenant (others answer 404).',
      params: TenantParamsSchema,
      response: { 200: ref(TenantSchema), ...withNotFound }
    }
  }, async request => {
    const scope = await adminScope(app, request, 'tenants:read')
    return tenantView(await visibleTenant(app.db, scope, request.params.id))
  })

  app.patch('/:id', {
    config: { permissions: ['tenants:write'] },
    schema: {
      tags: TAGS,
      operationId: 'updateTenant',
      summary: 'Change a tenant\'s slug or name',
      description: 'By id or slug. A tenant-scoped administrator may rename its own tenant; 409 for a taken slug.',
      params: TenantParamsSchema,
      body: ref(UpdateTenantBodySchema),
      response: { 200: ref(TenantSchema), ...withNotFound, 409: errorResponses[409] }
    }
  }, async request => {
    const { slug, name } = request.body
    assertSlug(slug)
    const scope = await adminScope(app, request, 'tenants:write')
    const before = await visibleTenant(app.db, scope, request.params.id)
    const row = await app.tenantsRepository.update(before, { slug, name }).catch(conflictOnTaken(slug))
    await app.changes.publish(changed.tenant(row.id))
    app.audit.record(request, { action: 'tenant.update', outcome: 'success', targetType: 'tenant', targetId: row.id, tenantId: row.id, before: tenantView(before), after: tenantView(row) })
    return tenantView(row)
  })

  app.delete('/:id', {
    config: { permissions: ['tenants:write'], global: true },
    schema: {
      tags: TAGS,
      operationId: 'deleteTenant',
      summary: 'Delete a tenant',
      description: 'Deletes its assignments, sessions, clients and posts; tokens of the tenant stop working at once. The default tenant cannot be deleted (409). Needs tenants:write from a global role.',
      params: TenantParamsSchema,
      response: { 204: Type.Null(), ...withNotFound, 409: errorResponses[409] }
    }
  }, async (request, reply) => {
    const tenant = await visibleTenant(app.db, GLOBAL, request.params.id)
    if (tenant.isDefault) throw new Conflict('the default tenant cannot be deleted')
    const deleted = await app.tenantsRepository.remove(tenant)
    const affected = [
      ...deleted.members.map(changed.user),
      ...deleted.sessions.map(changed.session),
      ...deleted.clients.map(changed.client)
    ]
    await app.changes.publish(changed.tenant(tenant.id), ...(affected.length > MAX_TARGETED_INVALIDATIONS ? [changed.reset] : affected))
    app.audit.record(request, { action: 'tenant.delete', outcome: 'success', targetType: 'tenant', targetId: tenant.id, tenantId: tenant.id, before: tenantView(tenant) })
    return reply.code(204).send(null)
  })

  app.get('/:id/members', {
    config: { permissions: ['tenants:read'] },
    schema: {
      tags: TAGS,
      operationId: 'listTenantMembers',
      summary: 'List a tenant\'s members',
      description: 'The users holding a role assignment in the tenant (global assignments do not make members), oldest first, each with their roles there.',
      params: TenantParamsSchema,
      querystring: PageQuerySchema,
      response: { 200: ref(MemberPageSchema), ...withNotFound }
    }
  }, async request => {
    const { limit = DEFAULT_PAGE_LIMIT, cursor } = request.query
    const scope = await adminScope(app, request, 'tenants:read')
    const tenant = await visibleTenant(app.db, scope, request.params.id)
    const result = await app.tenantsRepository.members(tenant, { limit, cursor })
    return {
      items: result.items.map(({ user, roles }) => ({ ...userView(user), roles })),
      nextCursor: result.nextCursor
    }
  })
}

export default tenantsRoutes

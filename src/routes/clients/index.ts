import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { isWildcard } from '../../authz/index.js'
import { NotFound } from '../../errors.js'
import { DEFAULT_PAGE_LIMIT, IdParamsSchema, withNotFound } from '../../schemas/common.js'
import { assertMayGrant } from '../../services/admin/escalation.js'
import { refuseUnknownPermissions } from '../../services/admin/roles.js'
import { adminScope, heldIn, visibleTenant, type AdminScope } from '../../services/admin/scope.js'
import { clientView, newClientSecret, type ClientRow } from '../../services/clients.js'
import { ClientListQuerySchema, ClientPageSchema, ClientSchema, ClientSecretSchema, CreateClientBodySchema, CreatedClientSchema } from './schemas.js'
import { ref } from '../../schemas/registry.js'
import { changed } from '../../access/changes.js'

const TAGS = ['clients']

/**
 * Service clients (service accounts) for the client_credentials grant. A client belongs to one
 * tenant (its tokens' `tid`) and holds a fixed list of scopes, which are its permissions on
 * Warden's routes. No escalation: a caller can give a client only scopes they hold themselves
 * in the client's tenant. A tenant-scoped caller sees and manages only their tenant's clients.
 * Secrets are shown once and stored as SHA-256 hashes.
 */
const clientsRoutes: FastifyPluginAsyncTypebox = async app => {
  async function visibleClient (scope: AdminScope, id: string): Promise<ClientRow> {
    const row = await app.clientsRepository.find(id, scope.tenantId)
    if (row === null) throw new NotFound('client not found')
    return row
  }

  async function assertPermissionsExist (names: readonly string[]) {
    refuseUnknownPermissions(await app.permissionsRepository.unknown(names.filter(n => !isWildcard(n))))
  }

  app.get('/', {
    config: { permissions: ['clients:read'] },
    schema: {
      tags: TAGS,
      operationId: 'listClients',
      summary: 'List service clients',
      description: 'Oldest first. A tenant-scoped caller sees only their tenant\'s clients; `tenant` narrows the list to one tenant.',
      querystring: ClientListQuerySchema,
      response: { 200: ref(ClientPageSchema), ...withNotFound }
    }
  }, async request => {
    const { limit = DEFAULT_PAGE_LIMIT, cursor, tenant } = request.query
    const scope = await adminScope(app, request, 'clients:read')
    const tenantId = tenant === undefined ? scope.tenantId : (await visibleTenant(app.db, scope, tenant)).id
    const result = await app.clientsRepository.list({ tenantId, limit, cursor })
    return { items: result.items.map(clientView), nextCursor: result.nextCursor }
  })

  app.post('/', {
    config: { permissions: ['clients:write'] },
    schema: {
      tags: TAGS,
      operationId: 'createClient',
      summary: 'Create a service client',
      description: 'The client belongs to `tenant` (id or slug; default: the caller\'s tenant). Every scope must be a known permission (or a wildcard) that the caller holds in that tenant, else 403. The secret appears only in this answer.',
      body: ref(CreateClientBodySchema),
      response: { 201: ref(CreatedClientSchema), ...withNotFound }
    }
  }, async (request, reply) => {
    const { name, scopes, tenant } = request.body
    const scope = await adminScope(app, request, 'clients:write')
    const target = await visibleTenant(app.db, scope, tenant ?? request.principal!.tid)
    await assertPermissionsExist(scopes)
    const held = await heldIn(app, request, target.id)
    assertMayGrant(app, request, held, scopes.map(permission => ({ permission, condition: null })), {
      action: 'client.create', targetType: 'client', targetId: name, tenantId: target.id
    })
    const { secret, hash } = newClientSecret()
    const row = await app.clientsRepository.create({ name, scopes, tenantId: target.id, secretHash: hash, createdBy: request.principal!.sub })
    app.audit.record(request, { action: 'client.create', outcome: 'success', targetType: 'client', targetId: row.id, tenantId: row.tenantId, after: clientView(row) })
    reply.header('cache-control', 'no-store')
    return reply.code(201).send({ ...clientView(row), clientSecret: secret })
  })

  app.get('/:id', {
    config: { permissions: ['clients:read'] },
    schema: {
      tags: TAGS,
      operationId: 'getClient',
      summary: 'Get a service client',
      description: 'Never the secret. 404 for a client outside a tenant-scoped caller\'s tenant.',
      params: IdParamsSchema,
      response: { 200: ref(ClientSchema), ...withNotFound }
    }
  }, async request => {
    const scope = await adminScope(app, request, 'clients:read')
    return clientView(await visibleClient(scope, request.params.id))
  })

  app.delete('/:id', {
    config: { permissions: ['clients:write'] },
    schema: {
      tags: TAGS,
      operationId: 'deleteClient',
      summary: 'Delete a service client',
      description: 'Its tokens stop working on Warden\'s routes and introspect inactive at once; services that verify offline see it at token expiry.',
      params: IdParamsSchema,
      response: { 204: { type: 'null' }, ...withNotFound }
    }
  }, async (request, reply) => {
    const scope = await adminScope(app, request, 'clients:write')
    const row = await visibleClient(scope, request.params.id)
    await app.clientsRepository.remove(row)
    await app.changes.publish(changed.client(row.id))
    app.audit.record(request, { action: 'client.delete', outcome: 'success', targetType: 'client', targetId: row.id, tenantId: row.tenantId, before: clientView(row) })
    return reply.code(204).send()
  })

  app.post('/:id/secret', {
    config: { permissions: ['clients:write'] },
    schema: {
      tags: TAGS,
      operationId: 'rotateClientSecret',
      summary: 'Rotate a client\'s secret',
      description: 'The new secret appears only in this answer; the old one stops working at once, and so do the access tokens issued under it (on Warden\'s own routes and in introspection; offline verifiers see it at their expiry).',
      params: IdParamsSchema,
      response: { 200: ref(ClientSecretSchema), ...withNotFound }
    }
  }, async (request, reply) => {
    const scope = await adminScope(app, request, 'clients:write')
    const row = await visibleClient(scope, request.params.id)
    const { secret, hash } = newClientSecret()
    const updated = await app.clientsRepository.rotateSecret(row, hash)
    if (updated === null) throw new NotFound('client not found')
    await app.changes.publish(changed.client(row.id))
    app.audit.record(request, { action: 'client.rotate_secret', outcome: 'success', targetType: 'client', targetId: row.id, tenantId: row.tenantId })
    reply.header('cache-control', 'no-store')
    return { clientSecret: secret }
  })
}

export default clientsRoutes

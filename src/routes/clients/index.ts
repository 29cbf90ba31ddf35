import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { isWildcard } from '../../authz/index.js'
import { Conflict, NotFound, ValidationFailed } from '../../errors.js'
import { DEFAULT_PAGE_LIMIT, IdParamsSchema, withConflict, withNotFound } from '../../schemas/common.js'
import { addedGrants, assertMayGrant } from '../../services/admin/escalation.js'
import { refuseUnknownPermissions } from '../../services/admin/roles.js'
import { adminScope, heldIn, visibleTenant, type AdminScope } from '../../services/admin/scope.js'
import { clientView, isConfidential, newClientSecret, type ClientRow, type ClientType, type GrantType } from '../../services/clients.js'
import { redirectUriProblem } from '../../oauth/redirect-uris.js'
import {
  ClientListQuerySchema, ClientPageSchema, ClientSchema, ClientSecretSchema, CreateClientBodySchema, CreatedClientSchema, UpdateClientBodySchema
} from './schemas.js'
import { ref } from '../../schemas/registry.js'
import { changed } from '../../access/changes.js'

const TAGS = ['clients']

/** A client's OAuth settings, as they will be once the request is done. */
interface OAuthSettings {
  type: ClientType
  redirectUris: readonly string[]
  postLogoutRedirectUris: readonly string[]
  grantTypes: readonly GrantType[]
}

type SettingsField = 'redirectUris' | 'postLogoutRedirectUris' | 'grantTypes'

interface FieldError { path: string, message: string }

/**
 * What is wrong with the settings (API.md "Browser sign-in": clients): each redirect URI the
 * request gives (the stored ones passed when they were stored), a public client with
 * client_credentials, refresh_token without authorization_code, authorization_code without a
 * redirect URI. `given` are the fields in the request body: a rule about two fields points at
 * the one the request gave.
 */
function settingsErrors (settings: OAuthSettings, given: ReadonlySet<SettingsField>): FieldError[] {
  const errors: FieldError[] = []
  for (const field of ['redirectUris', 'postLogoutRedirectUris'] as const) {
    if (!given.has(field)) continue
    settings[field].forEach((uri, i) => {
      const problem = redirectUriProblem(uri)
      if (problem !== null) errors.push({ path: `body/${field}/${i}`, message: problem })
    })
  }
  const grants = new Set(settings.grantTypes)
  if (settings.type === 'public' && grants.has('client_credentials')) {
    errors.push({ path: given.has('grantTypes') ? 'body/grantTypes' : 'body/type', message: 'a public client cannot use client_credentials: it has no secret to authenticate with' })
  }
  if (grants.has('refresh_token') && !grants.has('authorization_code')) {
    errors.push({ path: 'body/grantTypes', message: 'refresh_token is only allowed together with authorization_code' })
  }
  if (grants.has('authorization_code') && settings.redirectUris.length === 0) {
    errors.push({
      path: given.has('redirectUris') || !given.has('grantTypes') ? 'body/redirectUris' : 'body/grantTypes',
      message: 'the authorization_code grant needs at least one redirect URI'
    })
  }
  return errors
}

/** 400 VALIDATION_FAILED with every error, like a schema validation failure. */
function assertValidSettings (settings: OAuthSettings, given: ReadonlySet<SettingsField>): void {
  const errors = settingsErrors(settings, given)
  if (errors.length === 0) return
  const detail = errors.map(e => `${e.path.replace(/^body\//, '')}: ${e.message}`).join('; ')
  throw Object.assign(new ValidationFailed(`invalid client: ${detail}`), { errors })
}

function givenFields (body: Partial<Record<SettingsField, unknown>>): Set<SettingsField> {
  return new Set((['redirectUris', 'postLogoutRedirectUris', 'grantTypes'] as const).filter(f => body[f] !== undefined))
}

/**
 * OAuth clients: service accounts for the client_credentials grant and applications that sign
 * people in with the authorization code flow. A client belongs to one tenant (its tokens' `tid`)
 * and holds a fixed list of scopes, which are its permissions on Warden's routes (and cap what
 * the code flow may ask for). No escalation: a caller can give a client only scopes they hold
 * themselves in the client's tenant, at creation and by PATCH. A tenant-scoped caller sees and
 * manages only their tenant's clients. A confidential client's secret is shown once and stored
 * as a SHA-256 hash; a public client has none.
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
      summary: 'Create a client',
      description: 'The client belongs to `tenant` (id or slug; default: the caller\'s tenant). Every scope must be a known permission (or a wildcard) that the caller holds in that tenant, else 403. Without `type`, `redirectUris` and `grantTypes` it is a confidential client for the client_credentials grant. A public client may not have `client_credentials`; `refresh_token` needs `authorization_code`, which needs at least one redirect URI; every redirect URI must be absolute, without fragment or user information, `https` or loopback `http` (400 VALIDATION_FAILED, with `errors`). A confidential client\'s secret appears only in this answer; a public client\'s `clientSecret` is null.',
      body: ref(CreateClientBodySchema),
      response: { 201: ref(CreatedClientSchema), ...withNotFound }
    }
  }, async (request, reply) => {
    const { name, scopes, tenant, redirectUris = [], postLogoutRedirectUris = [], firstParty = false } = request.body
    const type = request.body.type ?? 'confidential'
    const grantTypes = request.body.grantTypes ?? (type === 'public' ? ['authorization_code'] : ['client_credentials'])
    assertValidSettings({ type, redirectUris, postLogoutRedirectUris, grantTypes }, givenFields(request.body))
    const scope = await adminScope(app, request, 'clients:write')
    const target = await visibleTenant(app.db, scope, tenant ?? request.principal!.tid)
    await assertPermissionsExist(scopes)
    const held = await heldIn(app, request, target.id)
    assertMayGrant(app, request, held, scopes.map(permission => ({ permission, condition: null })), {
      action: 'client.create', targetType: 'client', targetId: name, tenantId: target.id
    })
    const { secret, hash } = type === 'confidential' ? newClientSecret() : { secret: null, hash: null }
    const row = await app.clientsRepository.create({
      name, scopes, tenantId: target.id, secretHash: hash, createdBy: request.principal!.sub, type, redirectUris, postLogoutRedirectUris, grantTypes, firstParty
    })
    app.audit.record(request, { action: 'client.create', outcome: 'success', targetType: 'client', targetId: row.id, tenantId: row.tenantId, after: clientView(row) })
    reply.header('cache-control', 'no-store')
    return reply.code(201).send({ ...clientView(row), clientSecret: secret })
  })

  app.get('/:id', {
    config: { permissions: ['clients:read'] },
    schema: {
      tags: TAGS,
      operationId: 'getClient',
      summary: 'Get a client',
      description: 'Never the secret. 404 for a client outside a tenant-scoped caller\'s tenant.',
      params: IdParamsSchema,
      response: { 200: ref(ClientSchema), ...withNotFound }
    }
  }, async request => {
    const scope = await adminScope(app, request, 'clients:read')
    return clientView(await visibleClient(scope, request.params.id))
  })

  app.patch('/:id', {
    config: { permissions: ['clients:write'] },
    schema: {
      tags: TAGS,
      operationId: 'updateClient',
      summary: 'Change a client',
      description: 'Changes `name`, `scopes`, `redirectUris`, `postLogoutRedirectUris`, `grantTypes` and `firstParty` (never `type`, the tenant or the secret). The changed client must satisfy the rules of a new one (400 VALIDATION_FAILED). Every scope added must be a known permission (or a wildcard) that the caller holds in the client\'s tenant, else 403. 404 for a client outside a tenant-scoped caller\'s tenant.',
      params: IdParamsSchema,
      body: ref(UpdateClientBodySchema),
      response: { 200: ref(ClientSchema), ...withNotFound }
    }
  }, async request => {
    const scope = await adminScope(app, request, 'clients:write')
    const before = await visibleClient(scope, request.params.id)
    const { name, scopes, redirectUris, postLogoutRedirectUris, grantTypes, firstParty } = request.body
    assertValidSettings({
      type: before.type as ClientType,
      redirectUris: redirectUris ?? before.redirectUris,
      postLogoutRedirectUris: postLogoutRedirectUris ?? before.postLogoutRedirectUris,
      grantTypes: grantTypes ?? before.grantTypes as GrantType[]
    }, givenFields(request.body))
    if (scopes !== undefined) {
      const added = addedGrants(
        scopes.map(permission => ({ permission, condition: null })),
        before.scopes.map(permission => ({ permission, condition: null }))
      )
      await assertPermissionsExist(added.map(g => g.permission))
      const held = await heldIn(app, request, before.tenantId)
      assertMayGrant(app, request, held, added, { action: 'client.update', targetType: 'client', targetId: before.id, tenantId: before.tenantId })
    }
    const row = await app.clientsRepository.update(before, { name, scopes, redirectUris, postLogoutRedirectUris, grantTypes, firstParty })
    if (row === null) throw new NotFound('client not found')
    // its tokens' permissions are its scopes now
    await app.changes.publish(changed.client(row.id))
    app.audit.record(request, {
      action: 'client.update', outcome: 'success', targetType: 'client', targetId: row.id, tenantId: row.tenantId, before: clientView(before), after: clientView(row)
    })
    return clientView(row)
  })

  app.delete('/:id', {
    config: { permissions: ['clients:write'] },
    schema: {
      tags: TAGS,
      operationId: 'deleteClient',
      summary: 'Delete a client',
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
      description: 'The new secret appears only in this answer; the old one stops working at once, and so do the access tokens issued under it (on Warden\'s own routes and in introspection; offline verifiers see it at their expiry). 409 for a public client, which has no secret.',
      params: IdParamsSchema,
      response: { 200: ref(ClientSecretSchema), ...withConflict }
    }
  }, async (request, reply) => {
    const scope = await adminScope(app, request, 'clients:write')
    const row = await visibleClient(scope, request.params.id)
    if (!isConfidential(row)) throw new Conflict('a public client has no secret to rotate')
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

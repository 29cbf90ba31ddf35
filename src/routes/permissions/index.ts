import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { isValidPermissionName } from '../../authz/index.js'
import { DEFAULT_PERMISSIONS } from '../../db/seed.js'
import { BadRequest, Conflict, NotFound } from '../../errors.js'
import { isForeignKeyViolation, isUniqueViolation } from '../../lib/db-errors.js'
import { CreatePermissionBodySchema, PermissionPageSchema, PermissionParamsSchema, PermissionSchema } from '../../schemas/admin.js'
import { DEFAULT_PAGE_LIMIT, errorResponses, PageQuerySchema, protectedErrors } from '../../schemas/common.js'
import { ref } from '../../schemas/registry.js'
import { changed } from '../../access/changes.js'

const TAGS = ['permissions']

const permissionView = (row: { name: string, description: string }) => ({ name: row.name, description: row.description })

/**
 * The permission catalog: the names roles may grant. Warden's own permissions (the seeded ones,
 * which its routes require) cannot be deleted.
 */
const permissionsRoutes: FastifyPluginAsyncTypebox = async app => {
  app.get('/', {
    config: { permissions: ['permissions:read'] },
    schema: {
      tags: TAGS,
      operationId: 'listPermissions',
      summary: 'List permissions',
      description: 'Oldest first.',
      querystring: PageQuerySchema,
      response: { 200: ref(PermissionPageSchema), ...protectedErrors }
    }
  }, async request => {
    const { limit = DEFAULT_PAGE_LIMIT, cursor } = request.query
    const result = await app.permissionsRepository.list({ limit, cursor })
    return { items: result.items.map(permissionView), nextCursor: result.nextCursor }
  })

  app.post('/', {
    config: { permissions: ['permissions:write'], global: true },
    schema: {
      tags: TAGS,
      operationId: 'createPermission',
      summary: 'Create a permission',
      description: 'A name is `resource:action` (lower case letters, digits, `_`, `-`); `resource:*` and `*` are wildcards. 409 if it exists.',
      body: ref(CreatePermissionBodySchema),
      response: { 201: ref(PermissionSchema), ...protectedErrors, 409: errorResponses[409] }
    }
  }, async (request, reply) => {
    const { name, description = '' } = request.body
    if (!isValidPermissionName(name)) throw new BadRequest(`invalid permission name ${name}`)
    const row = await app.permissionsRepository.create(name, description)
      .catch(err => {
        if (isUniqueViolation(err)) throw new Conflict(`permission ${name} already exists`)
        throw err
      })
    await app.changes.publish(changed.graph)
    app.audit.record(request, { action: 'permission.create', outcome: 'success', targetType: 'permission', targetId: name, after: permissionView(row) })
    return reply.code(201).send(permissionView(row))
  })

  app.delete('/:name', {
    config: { permissions: ['permissions:write'], global: true },
    schema: {
      tags: TAGS,
      operationId: 'deletePermission',
      summary: 'Delete a permission',
      description: 'URL-encode the name (`posts%3Aread`, `posts%3A%2A`). 409 while a role grants it, or for one of Warden\'s own permissions.',
      params: PermissionParamsSchema,
      response: { 204: Type.Null(), ...protectedErrors, 404: errorResponses[404], 409: errorResponses[409] }
    }
  }, async (request, reply) => {
    const { name } = request.params
    const existing = await app.permissionsRepository.find(name)
    if (existing === null) throw new NotFound(`permission ${name} not found`)
    if (Object.hasOwn(DEFAULT_PERMISSIONS, name)) throw new Conflict(`permission ${name} is one of Warden's own and cannot be deleted`)
    const grantedBy = await app.permissionsRepository.grantedBy(name, 10)
    if (grantedBy.length > 0) throw new Conflict(`permission ${name} is granted by role ${grantedBy.join(', ')}`)
    await app.permissionsRepository.remove(name).catch(err => {
      // a grant added since the check above: role_permissions restricts the delete
      if (isForeignKeyViolation(err)) throw new Conflict(`permission ${name} is granted by a role`)
      throw err
    })
    await app.changes.publish(changed.graph)
    app.audit.record(request, { action: 'permission.delete', outcome: 'success', targetType: 'permission', targetId: name, before: permissionView(existing) })
    return reply.code(204).send(null)
  })
}

export default permissionsRoutes

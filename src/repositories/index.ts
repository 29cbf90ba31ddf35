import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import auditRepository from './audit.js'
import clientsRepository from './clients.js'
import keysRepository from './keys.js'
import permissionsRepository from './permissions.js'
import postsRepository from './posts.js'
import rolesRepository from './roles.js'
import tenantsRepository from './tenants.js'
import usersRepository from './users.js'

/**
 * The repositories: one plugin per table group, each decorating the instance
 * (`app.rolesRepository`, ...). SQL, locks and transactions live there; routes map HTTP onto them.
 */
export default fp(async function repositories (app: FastifyInstance) {
  await app.register(tenantsRepository)
  await app.register(usersRepository)
  await app.register(permissionsRepository)
  await app.register(rolesRepository)
  await app.register(postsRepository)
  await app.register(clientsRepository)
  await app.register(auditRepository)
  await app.register(keysRepository)
}, { name: 'repositories', dependencies: ['db'] })

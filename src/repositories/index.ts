import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import auditRepository from './audit.js'
import browserRepository from './browser.js'
import clientsRepository from './clients.js'
import keysRepository from './keys.js'
import mfaRepository from './mfa.js'
import permissionsRepository from './permissions.js'
import postsRepository from './posts.js'
import rolesRepository from './roles.js'
import sessionsRepository from './sessions.js'
import tenantsRepository from './tenants.js'
import usersRepository from './users.js'

/**
 * The repositories: one plugin per table group, each decorating the instance
 * (`app.rolesRepository`, ...). SQL, locks and transactions live there; routes map HTTP onto them.
 */
const all = [
  tenantsRepository, usersRepository, permissionsRepository, rolesRepository, postsRepository, clientsRepository, auditRepository, keysRepository,
  sessionsRepository, browserRepository, mfaRepository
]

export default fp(async function repositories (app: FastifyInstance) {
  for (const repository of all) await app.register(repository)
}, { name: 'repositories', dependencies: ['db'] })

import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { ensureBuiltInClients, seedDatabase, type SeedResult } from '../db/seed.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** what this start seeded; server.ts prints a generated admin password once */
    seedResult: SeedResult
  }
}

/** First-start seeding: the default tenant, roles, permissions and the admin account; Warden's own clients at every start. */
export default fp(async function seedPlugin (app: FastifyInstance) {
  const { passwords } = app
  const result = await seedDatabase(app.db, {
    adminEmail: app.config.adminEmail,
    adminPassword: app.config.adminPassword,
    hashPassword: pw => passwords.hash(pw)
  })
  await ensureBuiltInClients(app.db, app.config.issuer)
  app.decorate('seedResult', result)
  if (result.seeded) app.log.info({ admin: result.admin?.email }, 'seeded an empty database')
}, { name: 'seed', dependencies: ['config', 'db', 'passwords'] })

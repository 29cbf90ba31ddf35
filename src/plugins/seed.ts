import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { seedDatabase, type SeedResult } from '../db/seed.js'
import { createPasswordHasher, type PasswordHasher } from '../security/passwords.js'

declare module 'fastify' {
  interface FastifyInstance {
    passwords: PasswordHasher
    /** what this start seeded; server.ts prints a generated admin password once */
    seedResult: SeedResult
  }
}

/** The password hasher (argon2id, configured cost) and first-start seeding. */
export default fp(async function seedPlugin (app: FastifyInstance) {
  const passwords = createPasswordHasher(app.config.argon2, { maxConcurrent: app.config.argon2MaxConcurrency })
  app.decorate('passwords', passwords)
  const result = await seedDatabase(app.db, {
    adminEmail: app.config.adminEmail,
    adminPassword: app.config.adminPassword,
    hashPassword: pw => passwords.hash(pw)
  })
  app.decorate('seedResult', result)
  if (result.seeded) app.log.info({ admin: result.admin?.email }, 'seeded an empty database')
}, { name: 'seed', dependencies: ['config', 'db'] })

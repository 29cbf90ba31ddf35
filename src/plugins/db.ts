import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { openDatabase, runMigrations, type DatabaseHandle, type Db } from '../db/client.js'

declare module 'fastify' {
  interface FastifyInstance {
    db: Db
    database: DatabaseHandle
  }
}

export interface DbPluginOptions {
  /** A handle opened by the caller (shared between app instances); it is not closed with the app. */
  database?: DatabaseHandle
  migrate?: boolean
}

/**
 * Opens the database (PGlite or PostgreSQL) and applies migrations. The change bus
 * (plugins/changes.ts) listens on it.
 * @see ../db/client.ts
 */
export default fp<DbPluginOptions>(async function dbPlugin (app: FastifyInstance, opts) {
  const { config } = app
  const owned = !opts.database
  const handle = opts.database ?? await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, timeoutMs: config.dbTimeoutMs })
  try {
    if (opts.migrate !== false) await runMigrations(handle, config.databaseUrl)
  } catch (err) {
    if (owned) await handle.close().catch(() => {})
    throw err
  }

  app.decorate('db', handle.db)
  app.decorate('database', handle)

  app.addHook('onClose', async () => {
    if (owned) await handle.close()
  })
}, { name: 'db', dependencies: ['config'] })

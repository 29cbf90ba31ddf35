import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { openDatabase, runMigrations, type DatabaseHandle, type Db } from '../db/client.js'

export const CHANNEL = 'warden_authz'

export type ChangeListener = (payload: string) => void

declare module 'fastify' {
  interface FastifyInstance {
    db: Db
    database: DatabaseHandle
    /** Cache-coherence bus: NOTIFY warden_authz payloads, plus 'reset' when the listener reconnected. */
    changes: { subscribe: (listener: ChangeListener) => void }
  }
}

export interface DbPluginOptions {
  /** A handle opened by the caller (shared between app instances); it is not closed with the app. */
  database?: DatabaseHandle
  migrate?: boolean
}

/**
 * Opens the database (PGlite or PostgreSQL), applies migrations, and listens on the
 * invalidation channel so every instance hears every committed change.
 * @see ../db/client.ts
 */
export default fp<DbPluginOptions>(async function dbPlugin (app: FastifyInstance, opts) {
  const { config } = app
  const owned = !opts.database
  const handle = opts.database ?? await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir })
  if (opts.migrate !== false) await runMigrations(handle, config.databaseUrl)

  const listeners: ChangeListener[] = []
  const dispatch = (payload: string) => {
    for (const listener of listeners) {
      try {
        listener(payload)
      } catch (err) {
        app.log.error({ err }, 'change listener failed')
      }
    }
  }
  const unlisten = await handle.listen(CHANNEL, dispatch, () => {
    app.log.warn('invalidation listener reconnected; clearing caches')
    dispatch('reset')
  })

  app.decorate('db', handle.db)
  app.decorate('database', handle)
  app.decorate('changes', { subscribe: (listener: ChangeListener) => { listeners.push(listener) } })

  app.addHook('onClose', async () => {
    await unlisten().catch(() => {})
    if (owned) await handle.close()
  })
}, { name: 'db', dependencies: ['config'] })

import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { openDatabase, runMigrations, type DatabaseHandle, type Db } from '../db/client.js'

export const CHANNEL = 'warden_authz'

export type ChangeListener = (payload: string) => void

declare module 'fastify' {
  interface FastifyInstance {
    db: Db
    database: DatabaseHandle
    /**
     * Cache-coherence bus: NOTIFY warden_authz payloads, plus 'listener:down' when the listening
     * connection was lost (notifications may be missed: trust no cache) and 'listener:up' when
     * it is back (anything may have changed meanwhile: drop every cache).
     */
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
  const handle = opts.database ?? await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, timeoutMs: config.dbTimeoutMs })
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
  let unlisten: () => Promise<void>
  try {
    if (opts.migrate !== false) await runMigrations(handle, config.databaseUrl)
    unlisten = await handle.listen(CHANNEL, dispatch, {
      onDown () {
        app.log.warn('invalidation listener lost; reading through the caches until it is back')
        dispatch('listener:down')
      },
      onUp () {
        app.log.warn('invalidation listener reconnected; clearing caches')
        dispatch('listener:up')
      }
    })
  } catch (err) {
    if (owned) await handle.close().catch(() => {})
    throw err
  }

  app.decorate('db', handle.db)
  app.decorate('database', handle)
  app.decorate('changes', { subscribe: (listener: ChangeListener) => { listeners.push(listener) } })

  app.addHook('onClose', async () => {
    await unlisten().catch(() => {})
    if (owned) await handle.close()
  })
}, { name: 'db', dependencies: ['config'] })

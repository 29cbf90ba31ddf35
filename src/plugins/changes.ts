import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { announce, CHANNEL, changed, decodeChange, type Change } from '../access/changes.js'

export type ChangeListener = (change: Change) => void

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * The cache-coherence bus: every committed change a cache depends on, announced to every
     * instance. Subscribers also hear this instance's own listener going down (notifications
     * may be missed: trust no cache) and coming back (anything may have changed meanwhile).
     */
    changes: {
      /** Applies the changes here at once and announces them to every instance (after the caller's commit). */
      publish: (...changes: Change[]) => Promise<void>
      subscribe: (listener: ChangeListener) => void
    }
  }
}

/**
 * The change bus: owns the channel (LISTEN through the database handle, which watches and
 * reconnects the listening connection, and NOTIFY), decodes payloads into `Change`s and hands
 * them to every cache (access state in authn, signing keys in tokens).
 * @see ../access/changes.ts for the union and its wire form
 */
export default fp(async function changesPlugin (app: FastifyInstance) {
  const listeners: ChangeListener[] = []
  const dispatch = (change: Change) => {
    for (const listener of listeners) {
      try {
        listener(change)
      } catch (err) {
        app.log.error({ err }, 'change listener failed')
      }
    }
  }
  // a payload this version cannot read (a newer instance's) means something changed: drop everything
  const unlisten = await app.database.listen(CHANNEL, payload => dispatch(decodeChange(payload) ?? changed.reset), {
    onDown () {
      app.log.warn('invalidation listener lost; reading through the caches until it is back')
      dispatch(changed.listener(false))
    },
    onUp () {
      app.log.warn('invalidation listener reconnected; clearing caches')
      dispatch(changed.listener(true))
    }
  })

  app.decorate('changes', {
    async publish (...changes: Change[]) {
      for (const change of changes) dispatch(change)
      await Promise.all(changes.map(change => announce(app.db, change)))
    },
    subscribe (listener: ChangeListener) { listeners.push(listener) }
  })

  app.addHook('onClose', async () => {
    await unlisten().catch(() => {})
  })
}, { name: 'changes', dependencies: ['db'] })

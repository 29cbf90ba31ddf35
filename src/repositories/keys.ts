import type { Db } from '../db/client.js'
import { listKeys } from '../tokens/key-store.js'
import { repositoryPlugin } from './plugin.js'

/**
 * The signing keys as the admin routes see them. Their SQL (with the key lock, insertion and
 * rotation, which the tokens plugin drives) stays in tokens/key-store.ts, the keys' store.
 */
export function createKeysRepository (db: Db) {
  return {
    /** Every key, newest first, never a private part. */
    async list () {
      return listKeys(db)
    }
  }
}

export type KeysRepository = ReturnType<typeof createKeysRepository>

declare module 'fastify' {
  interface FastifyInstance {
    keysRepository: KeysRepository
  }
}

export default repositoryPlugin('keysRepository', createKeysRepository)

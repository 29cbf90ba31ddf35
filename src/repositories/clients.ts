import { and, eq, sql } from 'drizzle-orm'
import type { Db, DbOrTx } from '../db/client.js'
import { clients } from '../db/schema/index.js'
import { keyset, pageByCreation, type Page, type PageRequest } from './paging.js'
import { repositoryPlugin } from './plugin.js'

export type ClientRow = typeof clients.$inferSelect

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** The client with this id; null for none (and for an id that is no UUID, without a query). */
export async function findClient (db: DbOrTx, id: string): Promise<ClientRow | null> {
  if (!UUID.test(id)) return null
  const [row] = await db.select().from(clients).where(eq(clients.id, id.toLowerCase()))
  return row ?? null
}

/** Reads confined to one tenant when `tenantId` is not null. */
const inTenant = (tenantId: string | null) => tenantId === null ? undefined : eq(clients.tenantId, tenantId)

export function createClientsRepository (db: Db) {
  return {
    /** Oldest first; of one tenant unless `tenantId` is null. */
    async list ({ tenantId, limit, cursor }: PageRequest & { tenantId: string | null }): Promise<Page<ClientRow>> {
      const keys = keyset(clients.createdAt, clients.id, cursor)
      const rows = await db.select().from(clients)
        .where(and(keys.where, inTenant(tenantId)))
        .orderBy(...keys.orderBy)
        .limit(limit + 1)
      return pageByCreation(rows, limit)
    },

    /** The client if it is in the tenant (any tenant: null). */
    async find (id: string, tenantId: string | null): Promise<ClientRow | null> {
      const [row] = await db.select().from(clients).where(and(eq(clients.id, id), inTenant(tenantId)))
      return row ?? null
    },

    async create (client: Pick<ClientRow, 'name' | 'scopes' | 'tenantId' | 'secretHash' | 'createdBy'>): Promise<ClientRow> {
      const [row] = await db.insert(clients).values({ ...client, createdAt: new Date() }).returning()
      return row
    },

    async remove (client: Pick<ClientRow, 'id'>): Promise<void> {
      await db.delete(clients).where(eq(clients.id, client.id))
    },

    /** Replaces the secret and moves to the next token generation; null when the client is gone. */
    async rotateSecret (client: Pick<ClientRow, 'id'>, secretHash: string): Promise<ClientRow | null> {
      const [row] = await db.update(clients)
        .set({ secretHash, secretRotatedAt: new Date(), tokenVersion: sql`${clients.tokenVersion} + 1` })
        .where(eq(clients.id, client.id)).returning()
      return row ?? null
    }
  }
}

export type ClientsRepository = ReturnType<typeof createClientsRepository>

declare module 'fastify' {
  interface FastifyInstance {
    clientsRepository: ClientsRepository
  }
}

export default repositoryPlugin('clientsRepository', createClientsRepository)

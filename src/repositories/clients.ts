import { and, eq, sql } from 'drizzle-orm'
import type { Db, DbOrTx } from '../db/client.js'
import { clients } from '../db/schema/index.js'
import { keyset, pageByCreation, type Page, type PageRequest } from './paging.js'
import { repositoryPlugin } from './plugin.js'

export type ClientRow = typeof clients.$inferSelect

/** The grant types a client may be registered for (the `grant_types` column's values). */
export const GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials'] as const
export type GrantType = typeof GRANT_TYPES[number]
/** The `type` column's values: a public client has no secret. */
export const CLIENT_TYPES = ['confidential', 'public'] as const
export type ClientType = typeof CLIENT_TYPES[number]

/** What PATCH /v1/clients/{id} may change (never `type`, the secret or the tenant). */
export type ClientSettings = Pick<ClientRow, 'name' | 'scopes' | 'redirectUris' | 'postLogoutRedirectUris' | 'grantTypes' | 'firstParty'>

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

    /** The OAuth fields left out take the column defaults: a confidential client_credentials client. */
    async create (client: Pick<ClientRow, 'name' | 'scopes' | 'tenantId' | 'secretHash' | 'createdBy'> & Partial<ClientSettings & Pick<ClientRow, 'type'>>): Promise<ClientRow> {
      const [row] = await db.insert(clients).values({ ...client, createdAt: new Date() }).returning()
      return row
    },

    /** Changes the given settings; null when the client is gone. */
    async update (client: Pick<ClientRow, 'id'>, changes: Partial<ClientSettings>): Promise<ClientRow | null> {
      const set = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined)) as Partial<ClientSettings>
      if (Object.keys(set).length === 0) return findClient(db, client.id)
      const [row] = await db.update(clients).set(set).where(eq(clients.id, client.id)).returning()
      return row ?? null
    },

    async remove (client: Pick<ClientRow, 'id'>): Promise<void> {
      await db.delete(clients).where(eq(clients.id, client.id))
    },

    /** Replaces a confidential client's secret and moves to the next token generation; null when the client is gone (or public). */
    async rotateSecret (client: Pick<ClientRow, 'id'>, secretHash: string): Promise<ClientRow | null> {
      const [row] = await db.update(clients)
        .set({ secretHash, secretRotatedAt: new Date(), tokenVersion: sql`${clients.tokenVersion} + 1` })
        // a public client never gets a secret
        .where(and(eq(clients.id, client.id), eq(clients.type, 'confidential'))).returning()
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

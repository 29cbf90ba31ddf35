import { desc, isNull, and, lte, isNotNull, gt, or, sql } from 'drizzle-orm'
import type { JsonWebKey } from 'node:crypto'
import { signingKeys } from '../db/schema/index.js'
import { notify, type Db, type DbOrTx } from '../db/client.js'
import { decryptPrivateKey, encryptPrivateKey, generateSigningKey, type SigningAlg } from './keys.js'

export interface StoredKey {
  kid: string
  alg: SigningAlg
  publicJwk: JsonWebKey
  /** null for keys that only verify (published or retired) when the private part is not needed */
  privatePem: string | null
  createdAt: Date
  activatedAt: Date | null
  retiresAt: Date | null
  retiredAt: Date | null
}

export type KeyStatus = 'active' | 'published' | 'retired'

export function keyStatus (key: Pick<StoredKey, 'retiresAt' | 'retiredAt'>, now = Date.now()): KeyStatus {
  if (key.retiredAt || (key.retiresAt && key.retiresAt.getTime() <= now)) return 'retired'
  return key.retiresAt ? 'published' : 'active'
}

/** Serializes key creation across instances (first start, rotation), so only one key is ever active. */
const KEY_LOCK = 4_242_020

async function lockKeys (tx: DbOrTx) {
  await tx.execute(sql`select pg_advisory_xact_lock(${KEY_LOCK})`)
}

export class KeyDecryptionError extends Error {}

function privatePart (row: typeof signingKeys.$inferSelect, secret: string | null): string {
  if (!row.encrypted) return row.privateKey
  if (secret === null) throw new KeyDecryptionError(`signing key ${row.kid} is encrypted: set KEY_ENCRYPTION_SECRET to the secret it was encrypted with`)
  try {
    return decryptPrivateKey(row.privateKey, secret, row.kid)
  } catch {
    throw new KeyDecryptionError(`signing key ${row.kid} cannot be decrypted: KEY_ENCRYPTION_SECRET is not the secret it was encrypted with`)
  }
}

async function insertKey (db: DbOrTx, alg: SigningAlg, secret: string | null) {
  const key = generateSigningKey(alg)
  const [row] = await db.insert(signingKeys).values({
    kid: key.kid,
    alg,
    publicJwk: key.publicJwk,
    privateKey: secret ? encryptPrivateKey(key.privatePem, secret, key.kid) : key.privatePem,
    encrypted: secret !== null,
    activatedAt: new Date()
  }).returning()
  return row
}

/**
 * Makes sure an active signing key exists (first start). Instances starting together on an
 * empty database create one key between them, not one each.
 */
export async function ensureSigningKey (db: DbOrTx, alg: SigningAlg, secret: string | null): Promise<boolean> {
  return db.transaction(async tx => {
    await lockKeys(tx)
    const active = await tx.select({ kid: signingKeys.kid }).from(signingKeys)
      .where(and(isNull(signingKeys.retiresAt), isNull(signingKeys.retiredAt))).limit(1)
    if (active.length > 0) return false
    await insertKey(tx, alg, secret)
    await notify(tx, 'warden_authz', 'keys')
    return true
  })
}

/**
 * Loads every key that may still have live tokens: the active one(s) and the published ones.
 * Only active keys sign, so only their private parts are decrypted and kept in memory.
 * Throws KeyDecryptionError when an active key cannot be decrypted.
 */
export async function loadLiveKeys (db: Db, secret: string | null, now = new Date()): Promise<StoredKey[]> {
  const rows = await db.select().from(signingKeys)
    .where(and(isNull(signingKeys.retiredAt), or(isNull(signingKeys.retiresAt), gt(signingKeys.retiresAt, now))))
    .orderBy(desc(signingKeys.activatedAt))
  return rows.map(row => ({
    kid: row.kid,
    alg: row.alg as SigningAlg,
    publicJwk: row.publicJwk as JsonWebKey,
    privatePem: row.retiresAt === null ? privatePart(row, secret) : null,
    createdAt: row.createdAt,
    activatedAt: row.activatedAt,
    retiresAt: row.retiresAt,
    retiredAt: row.retiredAt
  }))
}

export async function listKeys (db: Db) {
  return db.select({
    kid: signingKeys.kid,
    alg: signingKeys.alg,
    createdAt: signingKeys.createdAt,
    retiresAt: signingKeys.retiresAt,
    retiredAt: signingKeys.retiredAt
  }).from(signingKeys).orderBy(desc(signingKeys.createdAt))
}

/**
 * Makes a new key the signer. The previous signers stay published until the last token they
 * can have signed has expired (now + access token TTL + skew), then retire.
 */
export async function rotateSigningKey (db: Db, alg: SigningAlg, secret: string | null, accessTokenTtl: number) {
  return db.transaction(async tx => {
    await lockKeys(tx)
    const retiresAt = new Date(Date.now() + (accessTokenTtl + 60) * 1000)
    await tx.update(signingKeys).set({ retiresAt })
      .where(and(isNull(signingKeys.retiresAt), isNull(signingKeys.retiredAt)))
    // a retired key verifies nothing any more: its private part is erased, its public part kept for the record
    await tx.update(signingKeys).set({ retiredAt: new Date(), privateKey: '', encrypted: false })
      .where(and(isNull(signingKeys.retiredAt), isNotNull(signingKeys.retiresAt), lte(signingKeys.retiresAt, new Date())))
    const row = await insertKey(tx, alg, secret)
    await notify(tx, 'warden_authz', 'keys')
    return row
  })
}

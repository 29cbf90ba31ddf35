import { desc, eq, isNull, and, lte, isNotNull, gt, or, sql } from 'drizzle-orm'
import type { JsonWebKey } from 'node:crypto'
import { signingKeys } from '../db/schema/index.js'
import type { Db, DbOrTx } from '../db/client.js'
import { announce, changed } from '../access/changes.js'
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

/**
 * `next`: announced by a rotation, in the JWKS, signs from `activatedAt` on; `active`: signs now;
 * `published`: no longer signs, in the JWKS until `retiresAt`; `retired`: gone.
 */
export type KeyStatus = 'next' | 'active' | 'published' | 'retired'

type KeyTimes = Pick<StoredKey, 'kid' | 'createdAt' | 'activatedAt' | 'retiresAt' | 'retiredAt'>

/** When a key starts signing: `activated_at`, set at insertion (in the future for an announced key). */
export const activatesAt = (key: Pick<StoredKey, 'createdAt' | 'activatedAt'>): Date => key.activatedAt ?? key.createdAt

export function isRetired (key: Pick<StoredKey, 'retiresAt' | 'retiredAt'>, now = Date.now()): boolean {
  return key.retiredAt !== null || (key.retiresAt !== null && key.retiresAt.getTime() <= now)
}

/**
 * The key that signs at `now`: of the keys not retired, the one activated last, not after `now`.
 * Every instance derives it from the stored times and its clock, so an announced key takes over
 * at its activation everywhere without a notification at that moment.
 */
export function signerAt<K extends KeyTimes> (keys: readonly K[], now = Date.now()): K | null {
  let signer: K | null = null
  for (const key of keys) {
    const from = activatesAt(key).getTime()
    if (isRetired(key, now) || from > now) continue
    if (signer === null) {
      signer = key
      continue
    }
    const best = activatesAt(signer).getTime()
    if (from > best || (from === best && key.createdAt > signer.createdAt)) signer = key
  }
  return signer
}

/** A key's status at `now`; `signer` is signerAt() of the same keys and time. */
export function keyStatus (key: KeyTimes, signer: KeyTimes | null, now = Date.now()): KeyStatus {
  if (isRetired(key, now)) return 'retired'
  if (activatesAt(key).getTime() > now) return 'next'
  return signer !== null && signer.kid === key.kid ? 'active' : 'published'
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

async function insertKey (db: DbOrTx, alg: SigningAlg, secret: string | null, createdAt = new Date(), activatesAt = createdAt) {
  const key = generateSigningKey(alg)
  const [row] = await db.insert(signingKeys).values({
    kid: key.kid,
    alg,
    publicJwk: key.publicJwk,
    privateKey: secret ? encryptPrivateKey(key.privatePem, secret, key.kid) : key.privatePem,
    encrypted: secret !== null,
    createdAt,
    activatedAt: activatesAt
  }).returning()
  return row
}

/**
 * Makes sure a key that signs, or will sign, exists (first start). Instances starting together
 * on an empty database create one key between them, not one each.
 */
export async function ensureSigningKey (db: DbOrTx, alg: SigningAlg, secret: string | null): Promise<boolean> {
  return db.transaction(async tx => {
    await lockKeys(tx)
    const active = await tx.select({ kid: signingKeys.kid }).from(signingKeys)
      .where(and(isNull(signingKeys.retiresAt), isNull(signingKeys.retiredAt))).limit(1)
    if (active.length > 0) return false
    await insertKey(tx, alg, secret)
    await announce(tx, changed.keys)
    return true
  })
}

/**
 * Loads every key that may still have live tokens, and the announced ones. Only the key that
 * signs now and the announced ones can sign from now on, so only their private parts are
 * decrypted and kept in memory. Throws KeyDecryptionError when one of those cannot be decrypted.
 */
export async function loadLiveKeys (db: Db, secret: string | null, now = new Date()): Promise<StoredKey[]> {
  const rows = await db.select().from(signingKeys)
    .where(and(isNull(signingKeys.retiredAt), or(isNull(signingKeys.retiresAt), gt(signingKeys.retiresAt, now))))
    .orderBy(desc(signingKeys.activatedAt))
  const signer = signerAt(rows, now.getTime())
  return rows.map(row => ({
    kid: row.kid,
    alg: row.alg as SigningAlg,
    publicJwk: row.publicJwk as JsonWebKey,
    privatePem: row === signer || activatesAt(row) > now ? privatePart(row, secret) : null,
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
    activatedAt: signingKeys.activatedAt,
    retiresAt: signingKeys.retiresAt,
    retiredAt: signingKeys.retiredAt
  }).from(signingKeys).orderBy(desc(signingKeys.createdAt))
}

export interface RotateOptions {
  accessTokenTtl: number
  /** seconds between announcing the new key (JWKS) and signing with it; 0 signs at once */
  activationDelay: number
}

/**
 * Announces a new key: it is published at once and signs from now + activationDelay. Until
 * then the current signer keeps signing; it stays published until the last token it can have
 * signed has expired (activation + access token TTL + skew), then retires. A key announced
 * before and not yet active never signed anything: it retires at once, so the new key is the
 * only one waiting (and `activationDelay` 0 cannot be overtaken by an older announcement).
 */
export async function rotateSigningKey (db: Db, alg: SigningAlg, secret: string | null, opts: RotateOptions) {
  return db.transaction(async tx => {
    await lockKeys(tx)
    const now = new Date()
    const live = await tx.select({
      kid: signingKeys.kid,
      createdAt: signingKeys.createdAt,
      activatedAt: signingKeys.activatedAt,
      retiresAt: signingKeys.retiresAt,
      retiredAt: signingKeys.retiredAt
    }).from(signingKeys).where(isNull(signingKeys.retiredAt))
    const signer = signerAt(live, now.getTime())
    // with no key signing now (all retired by hand), waiting would leave nothing to sign with
    const activates = signer === null ? now : new Date(now.getTime() + opts.activationDelay * 1000)
    const retiresAt = new Date(activates.getTime() + (opts.accessTokenTtl + 60) * 1000)
    // a retired key verifies nothing any more: its private part is erased, its public part kept for the record
    await tx.update(signingKeys).set({ retiredAt: now, privateKey: '', encrypted: false })
      .where(and(isNull(signingKeys.retiredAt), or(
        and(isNotNull(signingKeys.retiresAt), lte(signingKeys.retiresAt, now)),
        gt(signingKeys.activatedAt, now)
      )))
    if (signer !== null) await tx.update(signingKeys).set({ retiresAt }).where(eq(signingKeys.kid, signer.kid))
    // none normally: a key that neither signs nor waits but has no end yet
    await tx.update(signingKeys).set({ retiresAt })
      .where(and(isNull(signingKeys.retiredAt), isNull(signingKeys.retiresAt)))
    const row = await insertKey(tx, alg, secret, now, activates)
    await announce(tx, changed.keys)
    return row
  })
}

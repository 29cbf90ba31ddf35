import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto'

/**
 * Secrets at rest (signing keys, TOTP secrets) under KEY_ENCRYPTION_SECRET: AES-256-GCM with a
 * key derived by HKDF-SHA256 per purpose (`info`), the row's id bound as additional data so a
 * ciphertext cannot be moved to another row. Stored as base64url(iv).base64url(tag).base64url(data).
 */

function derive (secret: string, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, info, 'aes-256-gcm', 32))
}

export function seal (plaintext: string, secret: string, info: string, aad: string): string {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', derive(secret, info), iv)
  cipher.setAAD(Buffer.from(aad))
  const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
  return [iv, cipher.getAuthTag(), data].map(b => b.toString('base64url')).join('.')
}

/** Throws when the ciphertext is malformed, was sealed under another secret or for another row. */
export function unseal (stored: string, secret: string, info: string, aad: string): string {
  const [iv, tag, data] = stored.split('.').map(p => Buffer.from(p, 'base64url'))
  if (!iv || !tag || !data) throw new Error('malformed ciphertext')
  const decipher = createDecipheriv('aes-256-gcm', derive(secret, info), iv)
  decipher.setAAD(Buffer.from(aad))
  decipher.setAuthTag(tag)
  return Buffer.concat([decipher.update(data), decipher.final()]).toString('utf8')
}

import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type JsonWebKey } from 'node:crypto'
import { seal, unseal } from '../lib/sealed.js'

export type SigningAlg = 'EdDSA' | 'RS256' | 'ES256'
export const SUPPORTED_ALGS: readonly SigningAlg[] = ['EdDSA', 'RS256', 'ES256']

export interface GeneratedKey {
  kid: string
  alg: SigningAlg
  publicJwk: JsonWebKey
  privatePem: string
}

/** Generates a signing key; its kid is the RFC 7638 JWK thumbprint of the public key. */
export function generateSigningKey (alg: SigningAlg): GeneratedKey {
  const pair = alg === 'EdDSA'
    ? generateKeyPairSync('ed25519')
    : alg === 'ES256'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : generateKeyPairSync('rsa', { modulusLength: 2048 })
  const jwk = pair.publicKey.export({ format: 'jwk' })
  const kid = thumbprint(jwk)
  return {
    kid,
    alg,
    publicJwk: { ...jwk, kid, alg, use: 'sig' },
    privatePem: pair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()
  }
}

function thumbprint (jwk: JsonWebKey): string {
  const members = jwk.kty === 'OKP'
    ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x }
    : jwk.kty === 'EC'
      ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }
      : { e: jwk.e, kty: jwk.kty, n: jwk.n }
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url')
}

export function publicPemFromJwk (jwk: JsonWebKey): string {
  const { kid: _kid, alg: _alg, use: _use, ...material } = jwk as JsonWebKey & { kid?: string, alg?: string, use?: string }
  return createPublicKey({ key: material, format: 'jwk' }).export({ format: 'pem', type: 'spki' }).toString()
}

/** The JWKS view of a stored public key: only public members. */
export function publicJwkView (jwk: JsonWebKey): JsonWebKey {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = jwk
  return pub
}

const KEY_INFO = 'warden-signing-keys'

/** AES-256-GCM (lib/sealed.ts); the kid is bound as AAD. */
export function encryptPrivateKey (pem: string, secret: string, kid: string): string {
  return seal(pem, secret, KEY_INFO, kid)
}

export function decryptPrivateKey (stored: string, secret: string, kid: string): string {
  try {
    return unseal(stored, secret, KEY_INFO, kid)
  } catch (err) {
    if ((err as Error).message === 'malformed ciphertext') throw new Error(`signing key ${kid}: malformed ciphertext`)
    throw err
  }
}

/** Fails fast if a PEM does not parse (wrong KEY_ENCRYPTION_SECRET, corrupt row). */
export function assertPrivateKey (pem: string): void {
  createPrivateKey(pem)
}

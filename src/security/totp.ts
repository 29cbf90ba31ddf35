import { randomInt } from 'node:crypto'
import * as OTPAuth from 'otpauth'

/**
 * TOTP (RFC 6238) with `otpauth`, QR codes with `qrcode`: 6 digits, 30-second steps, SHA-1 (what
 * every authenticator app reads from an otpauth:// URI), one step of clock skew either way.
 */

export const TOTP_PERIOD = 30
const DIGITS = 6
const ISSUER = 'Warden'

const totpOf = (secret: string, label = 'user') => new OTPAuth.TOTP({
  issuer: ISSUER, label, algorithm: 'SHA1', digits: DIGITS, period: TOTP_PERIOD, secret: OTPAuth.Secret.fromBase32(secret)
})

/** A new secret: 160 random bits (RFC 4226 section 4), base32. */
export function newTotpSecret (): string {
  return new OTPAuth.Secret({ size: 20 }).base32
}

/** The otpauth:// URI authenticator apps import, and its QR code as SVG. */
export async function enrolment (secret: string, label: string): Promise<{ otpauthUri: string, qrSvg: string }> {
  const otpauthUri = totpOf(secret, label).toString()
  // loaded on the first enrolment: most processes never draw a QR code
  const { default: QRCode } = await import('qrcode')
  const qrSvg = await QRCode.toString(otpauthUri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 })
  return { otpauthUri, qrSvg }
}

const CODE = /^\d{6}$/

/** The time step of a code that is right at `now` (within one step either way), or null. */
export function totpStep (secret: string, code: string, now = Date.now()): number | null {
  const token = code.replace(/\s/g, '')
  if (!CODE.test(token)) return null
  const delta = totpOf(secret).validate({ token, timestamp: now, window: 1 })
  if (delta === null) return null
  return Math.floor(now / 1000 / TOTP_PERIOD) + delta
}

/** The code of a step (for tests and for nothing else in the service). */
export function totpCode (secret: string, now = Date.now()): string {
  return totpOf(secret).generate({ timestamp: now })
}

// no 0/O, 1/l/I: codes are read off paper
const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789'

/** Ten recovery codes of 10 characters (about 49 bits each), shown as xxxxx-xxxxx. */
export function newRecoveryCodes (n = 10): string[] {
  return Array.from({ length: n }, () => {
    const chars = Array.from({ length: 10 }, () => ALPHABET[randomInt(ALPHABET.length)]).join('')
    return `${chars.slice(0, 5)}-${chars.slice(5)}`
  })
}

/** A recovery code as stored: lower case, without the separator and spaces. */
export function normalizeRecoveryCode (code: string): string | null {
  const bare = code.toLowerCase().replace(/[\s-]/g, '')
  return /^[a-z0-9]{10}$/.test(bare) ? bare : null
}

/** Whether the input looks like a TOTP code rather than a recovery code. */
export const isTotpCode = (code: string) => CODE.test(code.replace(/\s/g, ''))

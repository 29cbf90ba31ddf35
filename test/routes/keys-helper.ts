import { decodeProtectedHeader, type JSONWebKeySet } from 'jose'
import { bearer } from '../helper.js'
import type { App } from '../../src/app.js'

/** Shared by the keys*.test.ts files (split so that each stays well inside tap's timeout). */
export interface KeyItem { kid: string, alg: string, status: string, createdAt: string, activatesAt: string, retiresAt: string | null }
export interface Rotated { kid: string, alg: string, createdAt: string, activatesAt: string }

/** ACCESS_TOKEN_TTL (default 900 s) and the skew a published key outlives its last token by */
export const TTL_MS = 900_000
export const SKEW_MS = 60_000

export async function keyList (app: App, token: string): Promise<KeyItem[]> {
  const res = await app.inject({ method: 'GET', url: '/v1/keys', headers: bearer(token) })
  if (res.statusCode !== 200) throw new Error(`GET /v1/keys: ${res.statusCode} ${res.body}`)
  return res.json().items
}

export const keyOf = async (app: App, token: string, kid: string) => (await keyList(app, token)).find(k => k.kid === kid)!

export async function jwks (app: App): Promise<JSONWebKeySet> {
  return (await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json()
}

export const kids = async (app: App) => (await jwks(app)).keys.map(k => k.kid!)

export async function rotate (app: App, token: string, query = '') {
  const res = await app.inject({ method: 'POST', url: '/v1/keys/rotate' + query, headers: bearer(token) })
  if (res.statusCode !== 201) throw new Error(`rotate: ${res.statusCode} ${res.body}`)
  return res.json() as Rotated
}

export const me = (app: App, token: string) => app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(token) })
export const kidOf = (token: string) => decodeProtectedHeader(token).kid
const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

/** Polls until `check` holds; the deadline only stops a hung test, it asserts nothing about speed. */
export async function until (what: string, check: () => Promise<boolean>, ms = 10_000) {
  const deadline = Date.now() + ms
  while (!await check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

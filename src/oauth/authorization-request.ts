import { ScopeSet } from '../authz/index.js'
import type { ClientRow } from '../repositories/clients.js'
import { redirectUriRegistered } from './redirect-uris.js'

/**
 * An authorization request (GET /v1/auth/authorize, RFC 6749 section 4.1.1, RFC 7636, OIDC Core
 * section 3.1.2.1), parsed and checked. Until the client and its redirect URI are known to be
 * registered, a problem is shown as a page and never redirected to; after that, problems go
 * back to the client's redirect URI (RFC 6749 section 4.1.2.1).
 */

/** The scopes of OpenID Connect: always allowed to a client with the authorization_code grant. */
export const IDENTITY_SCOPES = ['openid', 'profile', 'email'] as const
const IDENTITY = new Set<string>(IDENTITY_SCOPES)
export const isIdentityScope = (scope: string) => IDENTITY.has(scope)

const PARAMETERS = ['response_type', 'client_id', 'redirect_uri', 'scope', 'state', 'nonce', 'code_challenge', 'code_challenge_method', 'prompt', 'max_age', 'login_hint', 'tenant', 'response_mode'] as const
type Parameter = typeof PARAMETERS[number]

const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/
/** RFC 7636 section 4.2: BASE64URL(SHA256(verifier)) is 43 characters */
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/
const PROMPTS = new Set(['none', 'login', 'consent'])
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const LIMITS: Partial<Record<Parameter, number>> = { state: 1024, nonce: 512, login_hint: 320, tenant: 100, scope: 4000, max_age: 10 }

export interface AuthorizationRequest {
  client: ClientRow
  redirectUri: string
  state: string | null
  nonce: string | null
  codeChallenge: string
  /** identity scopes asked for (openid, profile, email) */
  identity: string[]
  /** permission names asked for; null: none named, the client's defaults apply */
  permissions: string[] | null
  prompt: ReadonlySet<string>
  maxAge: number | null
  loginHint: string | null
  tenant: string | null
  /** the request's parameters as a query string, to carry through the sign-in and consent forms */
  query: string
}

export type Parsed =
  | { ok: true, request: AuthorizationRequest }
  /** shown as a page: the client or its redirect URI is unknown */
  | { ok: false, page: true, message: string }
  /** sent back to the redirect URI */
  | { ok: false, page: false, redirectUri: string, state: string | null, error: string, description: string }

type Query = Record<string, unknown>

/**
 * Parses the authorize parameters. `findClient` looks the client up (null: unknown).
 * Parameters may not repeat (RFC 6749 section 3.1); unknown ones are ignored.
 */
export async function parseAuthorizationRequest (query: Query, findClient: (id: string) => Promise<ClientRow | null>): Promise<Parsed> {
  const repeated = PARAMETERS.filter(p => Array.isArray(query[p]))
  const one = (p: Parameter): string | null => {
    const v = query[p]
    return typeof v === 'string' && v !== '' ? v : null
  }
  const clientId = Array.isArray(query.client_id) ? null : one('client_id')
  if (clientId === null) return { ok: false, page: true, message: 'The request names no client (client_id).' }
  const client = UUID.test(clientId) ? await findClient(clientId) : null
  if (client === null) return { ok: false, page: true, message: 'The application that sent you here is not registered.' }
  const redirectUri = Array.isArray(query.redirect_uri) ? null : one('redirect_uri')
  if (redirectUri === null) return { ok: false, page: true, message: 'The request names no redirect URI (redirect_uri).' }
  if (!redirectUriRegistered(client.redirectUris, redirectUri)) {
    return { ok: false, page: true, message: 'The redirect URI of the request is not registered for this application.' }
  }

  const state = Array.isArray(query.state) ? null : one('state')
  const fail = (error: string, description: string): Parsed => ({ ok: false, page: false, redirectUri, state, error, description })
  if (repeated.length > 0) return fail('invalid_request', `parameter ${repeated[0]} is repeated`)
  for (const [p, max] of Object.entries(LIMITS) as Array<[Parameter, number]>) {
    const v = one(p)
    if (v !== null && v.length > max) return fail('invalid_request', `${p} is longer than ${max} characters`)
  }
  for (const p of PARAMETERS) {
    const v = query[p]
    if (v !== undefined && typeof v !== 'string') return fail('invalid_request', `${p} must be a string`)
  }
  if (one('response_type') !== 'code') return fail('unsupported_response_type', 'response_type must be code')
  const mode = one('response_mode')
  if (mode !== null && mode !== 'query') return fail('invalid_request', 'response_mode must be query')
  if (!client.grantTypes.includes('authorization_code')) return fail('unauthorized_client', 'this client may not use the authorization code flow')

  const challenge = one('code_challenge')
  if (challenge === null) return fail('invalid_request', 'code_challenge is required (PKCE, S256)')
  if (one('code_challenge_method') !== 'S256') return fail('invalid_request', 'code_challenge_method must be S256')
  if (!S256_CHALLENGE.test(challenge)) return fail('invalid_request', 'code_challenge must be 43 base64url characters')

  const scope = one('scope')
  const identity: string[] = []
  let permissions: string[] | null = null
  if (scope !== null) {
    const parts = [...new Set(scope.split(' ').filter(Boolean))]
    if (parts.length > 200 || parts.some(s => !SCOPE_TOKEN.test(s))) return fail('invalid_scope', 'malformed scope')
    const cap = new ScopeSet(client.scopes)
    permissions = []
    for (const s of parts) {
      if (isIdentityScope(s)) identity.push(s)
      else if (cap.covers(s)) permissions.push(s)
      else return fail('invalid_scope', `this client may not ask for ${s.slice(0, 100)}`)
    }
  } else {
    identity.push('openid')
  }

  const prompt = new Set((one('prompt') ?? '').split(' ').filter(Boolean))
  if ([...prompt].some(p => !PROMPTS.has(p))) return fail('invalid_request', 'prompt must be none, login or consent')
  if (prompt.has('none') && prompt.size > 1) return fail('invalid_request', 'prompt=none cannot be combined with other values')
  const maxAgeText = one('max_age')
  let maxAge: number | null = null
  if (maxAgeText !== null) {
    if (!/^\d{1,10}$/.test(maxAgeText)) return fail('invalid_request', 'max_age must be a number of seconds')
    maxAge = Number(maxAgeText)
  }

  const carried = new URLSearchParams()
  for (const p of PARAMETERS) {
    const v = one(p)
    if (v !== null) carried.set(p, v)
  }
  return {
    ok: true,
    request: {
      client,
      redirectUri,
      state,
      nonce: one('nonce'),
      codeChallenge: challenge,
      identity,
      permissions,
      prompt,
      maxAge,
      loginHint: one('login_hint'),
      tenant: one('tenant'),
      query: carried.toString()
    }
  }
}

/** The redirect URI with the answer's parameters added to its own query (RFC 6749 section 3.1.2). */
export function redirectWith (redirectUri: string, params: Record<string, string | null>): string {
  const url = new URL(redirectUri)
  for (const [name, value] of Object.entries(params)) if (value !== null) url.searchParams.append(name, value)
  return url.toString()
}

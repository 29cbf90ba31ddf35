import createClient, { type Client, type Middleware } from 'openapi-fetch'
import type { components, paths } from './openapi.js'

/**
 * `warden/client`: Warden's typed TypeScript client. Every operation comes from the OpenAPI
 * document (openapi-typescript types, openapi-fetch calls: `client.api.GET('/v1/users', ...)`);
 * written by hand is only what generation cannot do: the token endpoint's form encoding,
 * keeping the tokens (in memory) and sending them, and refreshing them before they expire.
 */
export type { components, paths }
export type Schemas = components['schemas']
export type TokenResponse = Schemas['TokenResponse']

export interface WardenClientOptions {
  /** Warden's base URL (its issuer), e.g. `https://auth.example.com` */
  baseUrl: string
  /** a fetch implementation (default: the global one) */
  fetch?: typeof fetch
  /** refresh the access token this many seconds before it expires (default 30) */
  refreshMarginSeconds?: number
}

/** An error answer: problem+json (`problem`) or, on the OAuth endpoints, RFC 6749 (`oauth`). */
export class WardenError extends Error {
  constructor (
    readonly status: number,
    readonly problem: Schemas['Problem'] | null,
    readonly oauth: Schemas['OAuthError'] | null
  ) {
    super(problem ? `${status} ${problem.code}: ${problem.detail}` : oauth ? `${status} ${oauth.error}: ${oauth.error_description ?? ''}` : `HTTP ${status}`)
    this.name = 'WardenError'
  }
}

/**
 * RFC 6749 form encoding of a token request (the document gives one schema per grant, which
 * generic form encoders cannot serialize): every defined field once, booleans as "true"/"false".
 */
export function formUrlEncoded (body: object): URLSearchParams {
  const form = new URLSearchParams()
  for (const [name, value] of Object.entries(body)) {
    if (value !== undefined && value !== null) form.append(name, String(value))
  }
  return form
}

/** formUrlEncoded under a name orval's generated code does not shadow: its `override.formUrlEncoded` function. */
export const toFormUrlEncoded = formUrlEncoded

interface Tokens { access: string, refresh: string | null, expiresAt: number }

export interface WardenClient {
  /** every operation of the API, typed from the document; sends the current access token */
  api: Client<paths>
  /** the password grant (first-party scripts and tools) */
  login: (username: string, password: string, extra?: { scope?: string, tenant?: string }) => Promise<TokenResponse>
  /** the client-credentials grant (service accounts) */
  clientCredentials: (clientId: string, clientSecret: string, scope?: string) => Promise<TokenResponse>
  /** exchanges the refresh token for new tokens (the old refresh token stops working) */
  refresh: (scope?: string) => Promise<TokenResponse>
  /** ends the session (`all`: every session of the user) and forgets the tokens */
  logout: (opts?: { all?: boolean }) => Promise<void>
  /** the current access token, or null */
  accessToken: () => string | null
  /** uses tokens obtained elsewhere (e.g. the authorization code flow) */
  setTokens: (tokens: { accessToken: string, refreshToken?: string | null, expiresIn: number }) => void
  /**
   * The authorization code grant with PKCE (a public client: its client_id, no secret): exchanges
   * the code that came back to `redirectUri` for tokens and keeps them (without the refresh token
   * when `keepRefreshToken` is false).
   */
  exchangeCode: (code: string, request: Pick<AuthorizationRequest, 'clientId' | 'redirectUri' | 'codeVerifier'>, opts?: { keepRefreshToken?: boolean }) => Promise<TokenResponse>
  /** forgets the tokens without calling Warden */
  forget: () => void
}

/** What an authorization request needs to be finished: keep it (in memory) until the redirect comes back. */
export interface AuthorizationRequest {
  /** the URL to send the browser (or a hidden frame, with prompt=none) to */
  url: string
  clientId: string
  redirectUri: string
  state: string
  nonce: string
  codeVerifier: string
}

const base64url = (bytes: Uint8Array) => {
  let text = ''
  for (const b of bytes) text += String.fromCharCode(b)
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}
const randomToken = (bytes = 32) => base64url(globalThis.crypto.getRandomValues(new Uint8Array(bytes)))

/**
 * Starts the authorization code flow with PKCE (RFC 7636, S256) at `/v1/auth/authorize`: a fresh
 * verifier, state and nonce from the platform's CSPRNG (Web Crypto).
 */
export async function startAuthorization (opts: {
  baseUrl: string
  clientId: string
  redirectUri: string
  /** space-separated; absent: `openid` and every permission the user holds that the client may have */
  scope?: string
  prompt?: 'none' | 'login' | 'consent'
  loginHint?: string
  tenant?: string
}): Promise<AuthorizationRequest> {
  const codeVerifier = randomToken(48)
  const state = randomToken(24)
  const nonce = randomToken(24)
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', new TextEncoder().encode(codeVerifier)))
  const url = new URL(opts.baseUrl.replace(/\/$/, '') + '/v1/auth/authorize')
  const q = url.searchParams
  q.set('response_type', 'code')
  q.set('client_id', opts.clientId)
  q.set('redirect_uri', opts.redirectUri)
  // without scope Warden grants openid and every permission the user holds that the client may have
  if (opts.scope !== undefined) q.set('scope', opts.scope)
  q.set('state', state)
  q.set('nonce', nonce)
  q.set('code_challenge', base64url(digest))
  q.set('code_challenge_method', 'S256')
  if (opts.prompt !== undefined) q.set('prompt', opts.prompt)
  if (opts.loginHint !== undefined) q.set('login_hint', opts.loginHint)
  if (opts.tenant !== undefined) q.set('tenant', opts.tenant)
  return { url: url.toString(), clientId: opts.clientId, redirectUri: opts.redirectUri, state, nonce, codeVerifier }
}

/**
 * The authorization response at the redirect URI: the code, once its `state` matches the request's
 * and its `iss` (RFC 9207) is Warden's; an error answer (e.g. `login_required` after prompt=none)
 * is thrown as a WardenError with the OAuth error.
 */
export function authorizationResponse (location: string | URL, request: Pick<AuthorizationRequest, 'state'>, issuer: string): string {
  const q = new URL(location).searchParams
  if (q.get('state') !== request.state) throw new WardenError(400, null, { error: 'invalid_request', error_description: 'the state does not match the request' } as Schemas['OAuthError'])
  const iss = q.get('iss')
  if (iss !== null && iss !== issuer.replace(/\/$/, '')) throw new WardenError(400, null, { error: 'invalid_request', error_description: 'the response comes from another issuer' } as Schemas['OAuthError'])
  const error = q.get('error')
  if (error !== null) throw new WardenError(400, null, { error, error_description: q.get('error_description') ?? undefined } as Schemas['OAuthError'])
  const code = q.get('code')
  if (code === null || code === '') throw new WardenError(400, null, { error: 'invalid_request', error_description: 'no code in the response' } as Schemas['OAuthError'])
  return code
}

export function createWardenClient (opts: WardenClientOptions): WardenClient {
  const margin = (opts.refreshMarginSeconds ?? 30) * 1000
  const api = createClient<paths>({ baseUrl: opts.baseUrl.replace(/\/$/, ''), ...(opts.fetch ? { fetch: opts.fetch } : {}) })
  let tokens: Tokens | null = null
  let refreshing: Promise<TokenResponse> | null = null

  const keep = (answer: TokenResponse, previousRefresh: string | null = null) => {
    tokens = { access: answer.access_token, refresh: answer.refresh_token ?? previousRefresh, expiresAt: Date.now() + answer.expires_in * 1000 }
    return answer
  }

  async function tokenRequest (body: components['schemas']['PasswordGrant'] | components['schemas']['RefreshTokenGrant'] | components['schemas']['ClientCredentialsGrant'] | components['schemas']['AuthorizationCodeGrant']): Promise<TokenResponse> {
    const { data, error, response } = await api.POST('/v1/auth/token', {
      body,
      bodySerializer: formUrlEncoded,
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: '' }
    })
    if (data === undefined) throw new WardenError(response.status, null, (error as Schemas['OAuthError'] | undefined) ?? null)
    return data
  }

  function refresh (scope?: string): Promise<TokenResponse> {
    const current = tokens?.refresh
    if (current === undefined || current === null) return Promise.reject(new Error('no refresh token: log in first'))
    refreshing ??= tokenRequest({ grant_type: 'refresh_token', refresh_token: current, ...(scope !== undefined ? { scope } : {}) })
      .then(answer => keep(answer, current))
      .finally(() => { refreshing = null })
    return refreshing
  }

  const auth: Middleware = {
    async onRequest ({ request }) {
      if (request.headers.has('authorization')) {
        // the token endpoint's own calls ask for no bearer token
        if (request.headers.get('authorization') === '') request.headers.delete('authorization')
        return request
      }
      if (tokens === null) return request
      if (tokens.refresh !== null && tokens.expiresAt - Date.now() < margin) await refresh()
      request.headers.set('authorization', `Bearer ${tokens.access}`)
      return request
    }
  }
  api.use(auth)

  return {
    api,
    async login (username, password, extra = {}) {
      return keep(await tokenRequest({ grant_type: 'password', username, password, ...extra }))
    },
    async clientCredentials (clientId, clientSecret, scope) {
      return keep(await tokenRequest({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, ...(scope !== undefined ? { scope } : {}) }))
    },
    refresh,
    async logout ({ all } = {}) {
      if (tokens === null) return
      const { response, error } = await api.POST('/v1/auth/logout', { params: { query: all === true ? { all: true } : {} } })
      tokens = null
      if (!response.ok) throw new WardenError(response.status, (error as Schemas['Problem'] | undefined) ?? null, null)
    },
    async exchangeCode (code, request, { keepRefreshToken = true } = {}) {
      const answer = await tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: request.redirectUri, code_verifier: request.codeVerifier, client_id: request.clientId })
      keep(keepRefreshToken ? answer : { ...answer, refresh_token: undefined })
      return answer
    },
    forget () { tokens = null },
    accessToken: () => tokens?.access ?? null,
    setTokens ({ accessToken, refreshToken, expiresIn }) {
      tokens = { access: accessToken, refresh: refreshToken ?? null, expiresAt: Date.now() + expiresIn * 1000 }
    }
  }
}

/**
 * Signing the console in: the authorization code flow with PKCE as the public client
 * warden-console, through warden/client. The tokens live in this module's memory only; a reload
 * signs in again silently (`prompt=none` in a hidden frame, which rides on the browser session at
 * Warden), and the same silent request renews the access token before it expires. Nothing of the
 * tokens is written to localStorage or sessionStorage; only a top-level redirect's PKCE verifier
 * and state wait in sessionStorage until the browser comes back (a verifier is useless without
 * the code, and is removed when the code is exchanged).
 */
import { authorizationResponse, createWardenClient, startAuthorization, type AuthorizationRequest, WardenError } from 'warden/client'
import { config, postLogoutRedirectUri, redirectUri } from './config'

export const warden = createWardenClient({ baseUrl: config.issuer })

const PENDING = 'warden-console:pending'
/** the tenant the administrator signed in to (a slug or id they typed; not a secret), for the silent renewals */
const TENANT = 'warden-console:tenant'
export const chosenTenant = () => sessionStorage.getItem(TENANT) ?? undefined
const SILENT_TIMEOUT_MS = 15_000

export interface Session {
  idToken: string | null
  expiresAt: number
  /** the access token's claims (decoded, not verified: Warden verifies it on every call) */
  claims: { sub: string, tid?: string, scope?: string, permissions?: string[], [k: string]: unknown }
}

let session: Session | null = null
let renewTimer: ReturnType<typeof setTimeout> | undefined
const listeners = new Set<(s: Session | null) => void>()

export const currentSession = () => session
export function onSession (fn: (s: Session | null) => void): () => void {
  listeners.add(fn)
  return () => listeners.delete(fn)
}
function publish (s: Session | null) {
  session = s
  for (const fn of listeners) fn(s)
}

function decodeClaims (jwt: string): Session['claims'] {
  const part = jwt.split('.')[1] ?? ''
  const text = atob(part.replace(/-/g, '+').replace(/_/g, '/'))
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(text, c => c.charCodeAt(0))))
}

async function finish (location: string, request: AuthorizationRequest): Promise<Session> {
  const code = authorizationResponse(location, request, config.issuer)
  // renewal is prompt=none's work: the refresh token is not kept
  const answer = await warden.exchangeCode(code, request, { keepRefreshToken: false })
  const s: Session = { idToken: answer.id_token ?? session?.idToken ?? null, expiresAt: Date.now() + answer.expires_in * 1000, claims: decodeClaims(answer.access_token) }
  scheduleRenewal(answer.expires_in)
  publish(s)
  return s
}

function scheduleRenewal (expiresIn: number) {
  clearTimeout(renewTimer)
  const lead = Math.min(60, Math.max(5, expiresIn / 5))
  renewTimer = setTimeout(() => {
    silentSignIn().catch(() => publish(null))
  }, Math.max(1, expiresIn - lead) * 1000)
}

/** A top-level redirect to Warden's sign-in page; comes back to /console/callback. */
export async function signIn (returnTo = location.pathname + location.search, tenant?: string): Promise<never> {
  if (tenant !== undefined && tenant !== '') sessionStorage.setItem(TENANT, tenant)
  else sessionStorage.removeItem(TENANT)
  const request = await startAuthorization({ baseUrl: config.issuer, clientId: config.clientId, redirectUri, ...(tenant !== undefined && tenant !== '' ? { tenant } : {}) })
  sessionStorage.setItem(PENDING, JSON.stringify({ request, returnTo }))
  location.assign(request.url)
  return await new Promise<never>(() => {})
}

/** The top-level callback: exchanges the code and answers where to go back to. */
export async function completeSignIn (): Promise<string> {
  const raw = sessionStorage.getItem(PENDING)
  sessionStorage.removeItem(PENDING)
  if (raw === null) throw new Error('no sign-in was started from this tab')
  const { request, returnTo } = JSON.parse(raw) as { request: AuthorizationRequest, returnTo: string }
  await finish(location.href, request)
  return typeof returnTo === 'string' && returnTo.startsWith('/console') && !returnTo.startsWith('/console/callback') ? returnTo : '/console/'
}

/**
 * Signs in (or renews) without showing anything: /authorize with prompt=none in a hidden frame.
 * Rejects with WardenError `login_required` when the browser has no session at Warden.
 */
export async function silentSignIn (): Promise<Session> {
  const tenant = chosenTenant()
  const request = await startAuthorization({ baseUrl: config.issuer, clientId: config.clientId, redirectUri, prompt: 'none', ...(tenant !== undefined ? { tenant } : {}) })
  const frame = document.createElement('iframe')
  frame.title = 'silent sign-in'
  frame.hidden = true
  frame.setAttribute('aria-hidden', 'true')
  try {
    const location = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => { cleanup(); reject(new Error('silent sign-in timed out')) }, SILENT_TIMEOUT_MS)
      const onMessage = (event: MessageEvent) => {
        if (event.origin !== window.location.origin || event.source !== frame.contentWindow) return
        const data = event.data as { type?: string, href?: string }
        if (data?.type !== 'warden-console:callback' || typeof data.href !== 'string') return
        cleanup()
        resolve(data.href)
      }
      const cleanup = () => { clearTimeout(timer); window.removeEventListener('message', onMessage) }
      window.addEventListener('message', onMessage)
      frame.src = request.url
      document.body.appendChild(frame)
    })
    return await finish(location, request)
  } finally {
    frame.remove()
  }
}

/** In the hidden frame: hands the callback URL to the console that opened it (same origin only). */
export function answerParentIfSilentCallback (): boolean {
  if (window.parent === window || !location.pathname.startsWith('/console/callback')) return false
  window.parent.postMessage({ type: 'warden-console:callback', href: location.href }, window.location.origin)
  return true
}

export const isLoginRequired = (e: unknown) => e instanceof WardenError && e.oauth !== null && ['login_required', 'interaction_required', 'consent_required'].includes(e.oauth.error)

/** Ends the session at Warden (RP-initiated logout) and comes back to the console's start. */
export function signOut (): void {
  const hint = session?.idToken
  clearTimeout(renewTimer)
  warden.forget()
  publish(null)
  const url = new URL(config.issuer + '/v1/auth/end-session')
  if (hint !== null && hint !== undefined) url.searchParams.set('id_token_hint', hint)
  url.searchParams.set('post_logout_redirect_uri', postLogoutRedirectUri)
  url.searchParams.set('client_id', config.clientId)
  location.assign(url.toString())
}

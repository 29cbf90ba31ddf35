import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { intersectScopes, ScopeSet } from '../authz/index.js'
import { csrfToken, originOf, sendMessage, sendPage, SESSION_COOKIE } from '../browser/pages.js'
import type { BrowserSessionRow } from '../repositories/browser.js'
import { parseAuthorizationRequest, redirectWith, type AuthorizationRequest } from './authorization-request.js'

/**
 * The authorization code flow's steps after the request is parsed: sign-in when the browser has
 * no (fresh enough) session, consent for a third-party client, then the code. The sign-in and
 * consent forms carry the request's parameters and come back here.
 */

/** seconds an authorization code lives (API.md) */
export const CODE_SECONDS = 60

const IDENTITY_DESCRIPTIONS: Record<string, string> = {
  openid: 'know who you are (your user id)',
  profile: 'see your name and username',
  email: 'see your e-mail address'
}

/** Parses the request, answering its problems: a page for an unknown client or redirect URI, else a redirect. */
export async function parseOrAnswer (app: FastifyInstance, query: Record<string, unknown>, reply: FastifyReply): Promise<AuthorizationRequest | null> {
  const parsed = await parseAuthorizationRequest(query, id => app.clientsRepository.find(id, null))
  if (parsed.ok) return parsed.request
  if (parsed.page) {
    sendMessage(reply, 400, 'This sign-in link does not work', parsed.message)
    return null
  }
  reply.redirect(redirectWith(parsed.redirectUri, { error: parsed.error, error_description: parsed.description, state: parsed.state, iss: app.config.issuer }), 303)
  return null
}

/** Sends the browser back to the client with an error (RFC 6749 section 4.1.2.1, RFC 9207 `iss`). */
export function redirectError (app: FastifyInstance, reply: FastifyReply, ar: AuthorizationRequest, error: string, description: string): FastifyReply {
  return reply.redirect(redirectWith(ar.redirectUri, { error, error_description: description, state: ar.state, iss: app.config.issuer }), 303)
}

/** The browser session of the request's cookie, or null. */
export async function browserSessionOf (app: FastifyInstance, request: FastifyRequest): Promise<BrowserSessionRow | null> {
  const token = request.cookies[SESSION_COOKIE]
  if (token === undefined || token.length > 100) return null
  return app.browserRepository.findSession(token)
}

/** Sends the browser to the sign-in page, carrying the request. */
export function toSignIn (reply: FastifyReply, ar: AuthorizationRequest): FastifyReply {
  return reply.redirect('/signin?' + new URLSearchParams({ request: ar.query }).toString(), 303)
}

/** The carried request without what asks for a new sign-in (prompt=login, max_age). */
function withoutReauthentication (query: string): string {
  const params = new URLSearchParams(query)
  params.delete('max_age')
  const prompt = (params.get('prompt') ?? '').split(' ').filter(p => p !== '' && p !== 'login')
  if (prompt.length === 0) params.delete('prompt')
  else params.set('prompt', prompt.join(' '))
  return params.toString()
}

export interface Continuation {
  browser: BrowserSessionRow | null
  /** the user signed in just now (prompt=login and max_age are satisfied) */
  fresh: boolean
  /** the user allowed the consent page just now */
  consented: boolean
}

/** What the client gets: the identity scopes asked for, and the permission names the user holds. */
function grantedScopes (ar: AuthorizationRequest, effective: Parameters<typeof intersectScopes>[0]): string[] {
  if (ar.permissions !== null) return [...ar.identity, ...intersectScopes(effective, ar.permissions)]
  // no scope named: openid and the permissions of the client's scopes that the user holds
  const held = new Set<string>()
  for (const cap of ar.client.scopes) {
    if (effective.holds(cap)) held.add(cap)
    else {
      const one = new ScopeSet([cap])
      for (const p of effective.permissions()) if (one.covers(p)) held.add(p)
    }
  }
  return [...ar.identity, ...held]
}

/** Sign-in, consent or the code, whichever comes next. */
export async function continueAuthorization (app: FastifyInstance, request: FastifyRequest, reply: FastifyReply, ar: AuthorizationRequest, step: Continuation): Promise<FastifyReply> {
  const { browser } = step
  const now = Date.now()
  const stale = browser === null ||
    (!step.fresh && ar.prompt.has('login')) ||
    (!step.fresh && ar.maxAge !== null && now - browser.authTime.getTime() > ar.maxAge * 1000)
  if (stale) {
    if (ar.prompt.has('none')) return redirectError(app, reply, ar, 'login_required', 'the user is not signed in')
    return toSignIn(reply, ar)
  }

  const user = await app.usersRepository.find(browser.userId)
  if (user === null || !user.isActive) return toSignIn(reply, ar)
  const tenant = await app.usersRepository.loginTenant(user.id, ar.tenant ?? undefined)
  if (tenant === null) return redirectError(app, reply, ar, 'access_denied', 'the user is not a member of that tenant')
  const subject = await app.access.userEffective(user.id, tenant.id)
  if (subject === null || !subject.active) return toSignIn(reply, ar)
  const scopes = grantedScopes(ar, subject.effective)

  if (!ar.client.firstParty && !step.consented) {
    const remembered = new Set(await app.browserRepository.consentOf(user.id, ar.client.id) ?? [])
    const asked = scopes.filter(s => !remembered.has(s))
    if (asked.length > 0 || ar.prompt.has('consent')) {
      if (ar.prompt.has('none')) return redirectError(app, reply, ar, 'consent_required', 'the user has not allowed this client')
      return sendPage(reply, 200, 'consent', {
        title: `Allow ${ar.client.name}?`,
        clientName: ar.client.name,
        userName: user.fullName ?? user.username,
        tenant: tenant.isDefault ? null : tenant.name,
        scopes: await Promise.all(scopes.map(async name => ({
          name,
          description: IDENTITY_DESCRIPTIONS[name] ?? (await app.permissionsRepository.find(name))?.description ?? null
        }))),
        csrf: csrfToken(request, reply),
        // the user has just signed in: the consent form must not send them round again
        query: step.fresh ? withoutReauthentication(ar.query) : ar.query
      }, [originOf(ar.redirectUri)])
    }
  }
  if (step.consented) await app.browserRepository.remember(user.id, ar.client.id, scopes)

  const code = await app.browserRepository.createCode({
    clientId: ar.client.id,
    userId: user.id,
    tenantId: tenant.id,
    browserSessionId: browser.id,
    redirectUri: ar.redirectUri,
    codeChallenge: ar.codeChallenge,
    scopes,
    nonce: ar.nonce,
    authTime: browser.authTime,
    amr: browser.amr,
    credentialsVersion: browser.credentialsVersion,
    ttlSeconds: CODE_SECONDS
  })
  app.audit.record(request, { action: 'auth.authorize', outcome: 'success', targetType: 'client', targetId: ar.client.id, tenantId: tenant.id, detail: `code issued to ${user.id}` })
  return reply.redirect(redirectWith(ar.redirectUri, { code, state: ar.state, iss: app.config.issuer }), 303)
}

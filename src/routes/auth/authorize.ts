import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { changed } from '../../access/changes.js'
import { csrfToken, csrfValid, sendMessage, sendPage, SESSION_COOKIE } from '../../browser/pages.js'
import { InsufficientScope, NotFound } from '../../errors.js'
import { userClaims } from '../../oauth/id-token.js'
import { browserSessionOf, continueAuthorization, parseOrAnswer } from '../../oauth/flow.js'
import { redirectUriRegistered } from '../../oauth/redirect-uris.js'
import { redirectWith } from '../../oauth/authorization-request.js'
import { protectedErrors, withNotFound } from '../../schemas/common.js'
import { ref } from '../../schemas/registry.js'
import { ConsentListSchema, UserInfoSchema } from '../../schemas/oidc.js'

const Text = (maxLength: number, description: string) => Type.Optional(Type.String({ maxLength, description }))

/** The authorize parameters, as documented; the handler parses them itself so that every problem is answered as RFC 6749 says. */
const AuthorizeQuery = Type.Object({
  response_type: Type.String({ description: 'code' }),
  client_id: Type.String({ format: 'uuid' }),
  redirect_uri: Type.String({ maxLength: 2000, description: 'one of the client\'s registered redirect URIs, exactly' }),
  scope: Text(4000, 'openid, profile, email and permission names; absent: openid and the client\'s scopes the user holds'),
  state: Text(1024, 'returned unchanged'),
  nonce: Text(512, 'returned in the ID token'),
  code_challenge: Type.String({ description: 'BASE64URL(SHA256(code_verifier)), 43 characters' }),
  code_challenge_method: Type.String({ description: 'S256 (plain is refused)' }),
  prompt: Text(30, 'none, login or consent'),
  max_age: Text(10, 'seconds since the last sign-in after which the user signs in again'),
  login_hint: Text(320, 'username or e-mail to pre-fill'),
  tenant: Text(100, 'tenant id or slug; absent: the user\'s first tenant')
})

const EndSessionFields = Type.Object({
  id_token_hint: Text(8192, 'an ID token Warden issued to the client (may have expired)'),
  post_logout_redirect_uri: Text(2000, 'one of the client\'s registered post-logout redirect URIs'),
  state: Text(1024, 'returned unchanged'),
  client_id: Text(64, 'the client, when there is no id_token_hint'),
  csrf: Text(64, 'the confirmation form\'s token')
})

/**
 * /v1/auth: the authorization endpoint (authorization code + PKCE), OpenID Connect userinfo and
 * RP-Initiated Logout, and the user's remembered consents.
 */
const authorizeRoutes: FastifyPluginAsyncTypebox = async app => {
  app.get('/authorize', {
    config: { public: true },
    attachValidation: true,
    schema: {
      tags: ['auth'],
      operationId: 'authorize',
      summary: 'Authorization endpoint (OAuth 2.1 authorization code with PKCE, OpenID Connect)',
      description: 'A browser navigation, not an API call. An unknown client or an unregistered redirect_uri gets an HTML error page and is never redirected to; other errors go back to redirect_uri with error, error_description, state and iss. Without a signed-in browser session: 303 to the sign-in page. Success: 303 to redirect_uri with code (60 seconds, single use), state and iss.',
      querystring: AuthorizeQuery,
      response: {
        303: { description: 'to the sign-in page, the consent page\'s answer or the client\'s redirect_uri', type: 'null' },
        200: { description: 'the consent page (HTML)', content: { 'text/html': { schema: { type: 'string' } } } },
        400: { description: 'the error page (HTML): unknown client or redirect URI', content: { 'text/html': { schema: { type: 'string' } } } }
      }
    }
  }, async (request, reply) => {
    // validation is the handler's: a bad parameter goes back to the client, not into a JSON 400
    const ar = await parseOrAnswer(app, request.query as Record<string, unknown>, reply)
    if (ar === null) return reply
    const browser = await browserSessionOf(app, request)
    return continueAuthorization(app, request, reply, ar, { browser, fresh: false, consented: false })
  })

  async function userinfo (request: FastifyRequest) {
    const principal = request.principal!
    if (!principal.scopes.includes('openid')) throw new InsufficientScope('the token was not issued with the openid scope')
    // the profile the access state keeps (kept fresh by the change bus): no SQL once warm
    const user = await app.access.profile(principal.sub)
    if (user === null) throw new NotFound('user not found')
    return userClaims(user, principal.scopes)
  }
  const userinfoSchema = {
    tags: ['auth'],
    summary: 'OpenID Connect userinfo (OIDC Core section 5.3)',
    description: 'A bearer access token with the openid scope: `sub` and the claims its scopes allow (profile: name, preferred_username, updated_at; email: email, email_verified). Without openid: 403 INSUFFICIENT_SCOPE.',
    response: { 200: ref(UserInfoSchema), ...protectedErrors }
  }
  app.get('/userinfo', { config: { authenticated: true, principal: 'user' }, schema: { ...userinfoSchema, operationId: 'userinfo' } }, userinfo)
  app.post('/userinfo', { config: { authenticated: true, principal: 'user' }, schema: { ...userinfoSchema, operationId: 'userinfoPost' } }, userinfo)

  /**
   * RP-Initiated Logout 1.0. With a valid id_token_hint the browser session ends at once; without
   * one the user confirms on a page first (a link elsewhere must not sign anybody out). The
   * post-logout redirect URI must be registered for the client the hint or client_id names.
   */
  async function endSession (request: FastifyRequest, reply: FastifyReply, params: Record<string, string | undefined>, confirmed: boolean) {
    let hinted: { clientId: string, sub: string } | null = null
    if (params.id_token_hint !== undefined) {
      try {
        const claims = app.tokens.verifyIdTokenHint(params.id_token_hint)
        const aud = Array.isArray(claims.aud) ? claims.aud[0] : claims.aud
        if (typeof aud === 'string' && typeof claims.sub === 'string') hinted = { clientId: aud, sub: claims.sub }
      } catch {}
      if (hinted === null) return sendMessage(reply, 400, 'Sign-out failed', 'The sign-out request carries an ID token that Warden did not issue.')
    }
    if (hinted !== null && params.client_id !== undefined && params.client_id !== hinted.clientId) {
      return sendMessage(reply, 400, 'Sign-out failed', 'The sign-out request names two different applications.')
    }
    const clientId = hinted?.clientId ?? params.client_id
    const client = clientId === undefined ? null : await app.clientsRepository.find(clientId, null).catch(() => null)
    let target: string | null = null
    if (params.post_logout_redirect_uri !== undefined) {
      if (client === null || !redirectUriRegistered(client.postLogoutRedirectUris, params.post_logout_redirect_uri)) {
        return sendMessage(reply, 400, 'Sign-out failed', 'The address to return to after signing out is not registered for this application.')
      }
      target = redirectWith(params.post_logout_redirect_uri, { state: params.state ?? null })
    }
    const browser = await browserSessionOf(app, request)
    const sameUser = browser !== null && hinted !== null && hinted.sub === browser.userId
    if (browser !== null && !sameUser && !confirmed) {
      const fields = Object.entries(params).filter(([name, value]) => value !== undefined && name !== 'csrf').map(([name, value]) => ({ name, value }))
      return sendPage(reply, 200, 'message', {
        title: 'Sign out?',
        message: client === null ? 'Do you want to sign out of Warden?' : `${client.name} asks you to sign out of Warden.`,
        alert: false,
        csrf: csrfToken(request, reply),
        form: { action: '/v1/auth/end-session', fields, button: 'Sign out' }
      }, target === null ? [] : [new URL(target).origin])
    }
    if (browser !== null) {
      const ended = await app.browserRepository.endSession(browser.id)
      for (const sid of ended) await app.changes.publish(changed.session(sid))
      app.audit.record(request, { action: 'auth.logout', outcome: 'success', targetType: 'user', targetId: browser.userId, detail: 'browser sign-out' })
    }
    reply.clearCookie(SESSION_COOKIE, { httpOnly: true, secure: true, sameSite: 'lax', path: '/' })
    if (target !== null) return reply.redirect(target, 303)
    return sendMessage(reply, 200, 'Signed out', 'You are signed out of Warden.')
  }

  const endSessionDoc = {
    tags: ['auth'],
    summary: 'RP-Initiated Logout 1.0 (end-session endpoint)',
    description: 'A browser navigation. Ends the browser session and the sessions it began, then 303 to post_logout_redirect_uri (registered for the client) with state, or a signed-out page. Without a valid id_token_hint the user confirms on a page first. An unregistered post_logout_redirect_uri or a foreign id_token_hint gets an error page and no redirect.',
    response: {
      303: { description: 'to post_logout_redirect_uri, with state', type: 'null' },
      200: { description: 'the confirmation or signed-out page (HTML)', content: { 'text/html': { schema: { type: 'string' } } } },
      400: { description: 'the error page (HTML)', content: { 'text/html': { schema: { type: 'string' } } } },
      403: { description: 'the confirmation form did not come from this browser (HTML): its CSRF token is missing or wrong', content: { 'text/html': { schema: { type: 'string' } } } }
    }
  }
  app.get('/end-session', {
    config: { public: true },
    schema: { ...endSessionDoc, operationId: 'endSession', querystring: EndSessionFields }
  }, async (request, reply) => endSession(request, reply, request.query, false))
  app.post('/end-session', {
    config: { public: true },
    schema: { ...endSessionDoc, operationId: 'endSessionConfirm', consumes: ['application/x-www-form-urlencoded'], body: EndSessionFields }
  }, async (request, reply) => {
    if (!csrfValid(request, request.body.csrf)) {
      return sendMessage(reply, 403, 'Please try again', 'This form has expired or did not come from Warden.')
    }
    return endSession(request, reply, request.body, true)
  })

  app.get('/consents', {
    config: { authenticated: true, principal: 'user' },
    schema: {
      tags: ['auth'],
      operationId: 'listConsents',
      summary: 'The applications the caller allowed, with what they may ask for',
      description: 'Consents given on the consent page of the authorization code flow, remembered per user and client until withdrawn. First-party clients ask for none.',
      response: { 200: ref(ConsentListSchema), ...protectedErrors }
    }
  }, async request => {
    const rows = await app.browserRepository.consents(request.principal!.sub)
    return {
      items: rows.map(r => ({ clientId: r.clientId, clientName: r.clientName, scopes: r.scopes, createdAt: r.createdAt.toISOString(), updatedAt: r.updatedAt.toISOString() }))
    }
  })

  app.delete('/consents/:clientId', {
    config: { authenticated: true, principal: 'user' },
    schema: {
      tags: ['auth'],
      operationId: 'revokeConsent',
      summary: 'Withdraw a consent',
      description: 'The client shows its consent page again next time, and the sessions it holds for the caller end at once. 404 when there is no consent for that client.',
      params: Type.Object({ clientId: Type.String({ format: 'uuid' }) }),
      response: { 204: { description: 'Withdrawn', type: 'null' }, ...withNotFound }
    }
  }, async (request, reply) => {
    const userId = request.principal!.sub
    const { found, ended } = await app.browserRepository.revokeConsent(userId, request.params.clientId)
    if (!found) throw new NotFound('no consent for that client')
    for (const sid of ended) await app.changes.publish(changed.session(sid))
    app.audit.record(request, { action: 'auth.consent_revoked', outcome: 'success', targetType: 'client', targetId: request.params.clientId })
    return reply.code(204).send()
  })
}

export default authorizeRoutes

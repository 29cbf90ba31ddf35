import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { intersectScopes, ScopeSet } from '../../authz/index.js'
import type { Principal } from '../../access/declaration.js'
import { InvalidClient, InvalidGrant, InvalidRequest, InvalidScope, MfaRequired, RateLimited, UnauthorizedClient, UnsupportedGrantType } from '../../errors.js'
import { oauthErrors } from '../../schemas/common.js'
import { RevokeBodySchema, TokenBodySchema, TokenRequestDocSchema, TokenResponseSchema, type TokenBody } from '../../schemas/auth.js'
import { ref } from '../../schemas/registry.js'
import { StaleCredentials } from '../../services/sessions.js'
import { clientCredentialsGrant, findClient, optionalClient, presentedClientCredentials, refuseServiceClient, requireClient, type ClientRow } from '../../services/clients.js'
import { isIdentityScope } from '../../oauth/authorization-request.js'
import { idTokenClaims, pkceMatches, VERIFIER } from '../../oauth/id-token.js'
import type { SessionRow } from '../../repositories/sessions.js'
import { changed } from '../../access/changes.js'

export const REFRESH_COOKIE = 'warden_refresh'
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/

function parseScope (scope: string | undefined): string[] | null {
  if (scope === undefined || scope.trim() === '') return null
  const parts = scope.split(' ').filter(Boolean)
  if (parts.length > 200 || parts.some(p => !SCOPE_TOKEN.test(p))) throw new InvalidScope('malformed scope')
  return [...new Set(parts)]
}

/**
 * The OAuth 2.0 token endpoint (password, refresh_token grants) and revocation (RFC 7009).
 * Errors are RFC 6749 section 5.2 JSON; every answer carries Cache-Control: no-store.
 */
const tokenRoutes: FastifyPluginAsyncTypebox = async app => {
  const { config } = app
  /** The user's effective permissions in the tenant, and whether they are active; null if the user is gone. */
  const effectiveFor = async (userId: string, tenantId: string) => app.access.userEffective(userId, tenantId)

  async function passwordGrant (body: TokenBody, request: FastifyRequest, reply: FastifyReply) {
    const { username, password } = body
    if (!username || !password) throw new InvalidRequest('username and password are required')
    const requested = parseScope(body.scope)

    const checked = await app.login.verifyPassword(request, username, password)
    if (!checked.ok) {
      if (checked.reason === 'throttled') throw new RateLimited('Too many failed attempts; try again later', checked.retryAfterSeconds)
      throw new InvalidGrant('invalid username or password')
    }
    const { user } = checked
    const amr = ['pwd']
    if (checked.mfa) {
      if (!body.otp) throw new MfaRequired('two-factor authentication is on: send the TOTP code (or a recovery code) as otp')
      const second = await app.login.verifySecondFactor(request, user.id, body.otp)
      if (!second.ok) {
        if (second.reason === 'throttled') throw new RateLimited('Too many failed attempts; try again later', second.retryAfterSeconds)
        throw new InvalidGrant('invalid username, password or code')
      }
      amr.push('otp')
    }
    await app.login.succeeded(request, checked.account)

    // without `tenant`: the user's first tenant, else the default one (see loginTenant)
    const tenant = await app.usersRepository.loginTenant(user.id, body.tenant)
    if (!tenant) throw new InvalidGrant('not a member of that tenant')
    const subject = await effectiveFor(user.id, tenant.id)
    if (!subject?.active) throw new InvalidGrant('invalid username or password')
    const scopes = intersectScopes(subject.effective, requested)
    if (requested !== null && scopes.length === 0) throw new InvalidScope('none of the requested scopes is granted')

    const { session, refreshToken } = await app.sessionsRepository.create({
      userId: user.id,
      credentialsVersion: user.credentialsVersion,
      tenantId: tenant.id,
      scopes: requested === null ? null : scopes,
      userAgent: request.headers['user-agent'] ?? null,
      ip: request.ip,
      ttlSeconds: config.refreshTokenTtl,
      authTime: new Date(),
      amr
    }).catch(err => {
      // the password changed (or the user was disabled) while this login was being verified
      if (err instanceof StaleCredentials) throw new InvalidGrant('invalid username or password')
      throw err
    })
    app.audit.record(request, { action: 'auth.login', outcome: 'success', targetType: 'user', targetId: user.id, tenantId: tenant.id })
    const inCookie = body.refresh_in_cookie === true || body.refresh_in_cookie === 'true'
    return issue(reply, { userId: user.id, tenantId: tenant.id, sid: session.id, scopes, refreshToken, inCookie, amr, authTime: session.authTime ?? session.createdAt })
  }

  interface Issue {
    userId: string
    tenantId: string
    sid: string
    scopes: string[]
    /** null: no refresh token (a client without the refresh_token grant) */
    refreshToken: string | null
    inCookie: boolean
    /** the code flow: the client, how the user authenticated, and the ID token's nonce */
    clientId?: string
    amr?: string[]
    authTime?: Date
    idToken?: { nonce: string | null }
  }

  async function issue (reply: FastifyReply, s: Issue) {
    const authTime = s.authTime === undefined ? undefined : Math.floor(s.authTime.getTime() / 1000)
    const access = app.tokens.signAccessToken({ sub: s.userId, tid: s.tenantId, sid: s.sid, scope: s.scopes, clientId: s.clientId, amr: s.amr, authTime })
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
    const body: { access_token: string, token_type: 'Bearer', expires_in: number, scope: string, refresh_token?: string, id_token?: string } = {
      access_token: access.token,
      token_type: 'Bearer',
      expires_in: access.expiresIn,
      scope: s.scopes.join(' ')
    }
    if (s.refreshToken !== null) {
      if (s.inCookie) {
        reply.setCookie(REFRESH_COOKIE, s.refreshToken, {
          httpOnly: true, secure: true, sameSite: 'strict', path: '/v1/auth', maxAge: config.refreshTokenTtl
        })
      } else {
        body.refresh_token = s.refreshToken
      }
    }
    if (s.idToken !== undefined && s.clientId !== undefined && authTime !== undefined) {
      const user = await app.usersRepository.find(s.userId)
      if (user === null) throw new InvalidGrant('invalid authorization code')
      body.id_token = app.tokens.signIdToken(idTokenClaims({
        user, clientId: s.clientId, sid: s.sid, scopes: s.scopes, nonce: s.idToken.nonce, amr: s.amr ?? ['pwd'], authTime
      }), access.token).token
    }
    return body
  }

  /**
   * The client of a code or of a code flow's refresh: a confidential client authenticates with
   * its secret, a public one names itself with client_id and nothing else (RFC 6749 section 2.1).
   */
  async function codeFlowClient (request: FastifyRequest, body: TokenBody): Promise<ClientRow> {
    const credentials = presentedClientCredentials(request, body)
    if (credentials === null) throw new InvalidClient('client authentication is required')
    const found = await findClient(app.db, credentials.id)
    if (found?.type === 'public') {
      if (credentials.secret !== null && credentials.secret !== '') throw new InvalidClient('a public client has no secret')
      return found
    }
    return requireClient(app, request, body)
  }

  async function authorizationCodeGrant (body: TokenBody, request: FastifyRequest, reply: FastifyReply) {
    const client = await codeFlowClient(request, body)
    if (!client.grantTypes.includes('authorization_code')) throw new UnauthorizedClient('this client may not use the authorization code grant')
    const { code, redirect_uri: redirectUri, code_verifier: verifier } = body
    if (!code || !redirectUri || !verifier) throw new InvalidRequest('code, redirect_uri and code_verifier are required')
    if (!VERIFIER.test(verifier)) throw new InvalidRequest('code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~')
    const redeemed = await app.browserRepository.redeemCode(code)
    if (!redeemed.ok) {
      if (redeemed.reason === 'reused') {
        // RFC 6749 section 4.1.2: a code used twice revokes what its first use issued
        const sid = redeemed.code.sessionId
        if (sid !== null && (await app.sessionsRepository.revoke([sid], 'authorization code reuse')).length > 0) {
          await app.changes.publish(changed.session(sid))
        }
        app.audit.record(request, { action: 'auth.code_reuse', outcome: 'denied', targetType: 'session', targetId: sid, detail: 'authorization code presented again' })
      }
      throw new InvalidGrant('invalid authorization code')
    }
    const granted = redeemed.code
    if (granted.clientId !== client.id) throw new InvalidGrant('invalid authorization code')
    if (granted.redirectUri !== redirectUri) throw new InvalidGrant('redirect_uri does not match the authorization request')
    if (!pkceMatches(verifier, granted.codeChallenge)) throw new InvalidGrant('code_verifier does not match the code_challenge')

    const subject = await effectiveFor(granted.userId, granted.tenantId)
    if (!subject?.active) throw new InvalidGrant('invalid authorization code')
    const identity = granted.scopes.filter(isIdentityScope)
    const scopes = [...identity, ...intersectScopes(subject.effective, granted.scopes.filter(s => !isIdentityScope(s)))]
    const { session, refreshToken } = await app.sessionsRepository.create({
      userId: granted.userId,
      credentialsVersion: granted.credentialsVersion,
      tenantId: granted.tenantId,
      scopes,
      userAgent: request.headers['user-agent'] ?? null,
      ip: request.ip,
      ttlSeconds: config.refreshTokenTtl,
      clientId: client.id,
      browserSessionId: granted.browserSessionId,
      authTime: granted.authTime,
      amr: granted.amr
    }).catch(err => {
      if (err instanceof StaleCredentials) throw new InvalidGrant('invalid authorization code')
      throw err
    })
    await app.browserRepository.attachSession(granted, session.id)
    app.audit.record(request, { action: 'auth.login', outcome: 'success', targetType: 'user', targetId: granted.userId, tenantId: granted.tenantId, detail: `authorization code of client ${client.id}` })
    return issue(reply, {
      userId: granted.userId,
      tenantId: granted.tenantId,
      sid: session.id,
      scopes,
      refreshToken: client.grantTypes.includes('refresh_token') ? refreshToken : null,
      inCookie: false,
      clientId: client.id,
      amr: granted.amr,
      authTime: granted.authTime,
      idToken: identity.includes('openid') ? { nonce: granted.nonce } : undefined
    })
  }

  /** A code flow's session is refreshed only by its client, authenticated as for the code. */
  async function checkRefreshClient (request: FastifyRequest, body: TokenBody, session: SessionRow) {
    if (session.clientId === null) return
    const client = await codeFlowClient(request, body)
    if (client.id !== session.clientId || !client.grantTypes.includes('refresh_token')) throw new InvalidGrant('invalid refresh token')
  }

  function cookieRefreshToken (request: FastifyRequest): string | undefined {
    const token = request.cookies[REFRESH_COOKIE]
    if (token === undefined) return undefined
    // CSRF: a cross-site form cannot set this header, and a sent Origin must be ours or allowed.
    if (request.headers['x-requested-with'] !== 'warden') {
      throw new InvalidRequest('the refresh cookie needs the header X-Requested-With: warden')
    }
    const origin = request.headers.origin
    if (origin !== undefined && origin !== new URL(config.issuer).origin && !config.allowedOrigins.includes(origin)) {
      throw new InvalidRequest('origin not allowed')
    }
    return token
  }

  async function refreshGrant (body: TokenBody, request: FastifyRequest, reply: FastifyReply) {
    const fromCookie = body.refresh_token === undefined
    const token = body.refresh_token ?? cookieRefreshToken(request)
    if (!token) throw new InvalidRequest('refresh_token is required')
    const requested = parseScope(body.scope)
    let scopes: string[] = []
    // Checked before the token is consumed, so a refused request leaves it usable.
    const result = await app.sessionsRepository.rotate(token, config.refreshReuseGrace, async session => {
      await checkRefreshClient(request, body, session)
      const subject = await effectiveFor(session.userId, session.tenantId)
      if (!subject?.active) throw new InvalidGrant('invalid refresh token')
      // a code flow's identity scopes (openid, profile, email) stay; permissions are re-checked
      const identity = session.clientId === null ? [] : (session.scopes ?? []).filter(isIdentityScope)
      scopes = [...identity, ...intersectScopes(subject.effective, session.scopes === null ? null : session.scopes.filter(s => !isIdentityScope(s)))]
      if (requested === null) return
      // A refresh may narrow the session's scopes (a `*` or `posts:*` session may ask for
      // `posts:read`) but not widen them (RFC 6749 section 6).
      const held = new ScopeSet(scopes)
      if (requested.some(s => !held.covers(s))) throw new InvalidScope('a refresh cannot widen the session\'s scopes')
      scopes = requested
    })
    if (!result.ok) {
      if (result.reason === 'reused' && result.sessionId) {
        await app.changes.publish(changed.session(result.sessionId))
        app.audit.record(request, { action: 'auth.refresh_reuse', outcome: 'denied', targetType: 'session', targetId: result.sessionId, detail: 'session revoked' })
      }
      throw new InvalidGrant('invalid refresh token')
    }
    const { session } = result
    return issue(reply, {
      userId: session.userId,
      tenantId: session.tenantId,
      sid: session.id,
      scopes,
      refreshToken: result.refreshToken,
      inCookie: fromCookie,
      ...(session.clientId === null ? {} : { clientId: session.clientId }),
      ...(session.amr === null ? {} : { amr: session.amr }),
      ...(session.authTime === null ? {} : { authTime: session.authTime })
    })
  }

  app.post('/token', {
    config: { public: true, oauth: true },
    schema: {
      tags: ['auth'],
      operationId: 'token',
      summary: 'OAuth 2.0 token endpoint (authorization_code, refresh_token, client_credentials, password grants)',
      description: 'Form-urlencoded (RFC 6749) or JSON. `password`: username or email, password, optional scope and tenant; `refresh_token`: the refresh token (or the refresh cookie with X-Requested-With: warden); `client_credentials`: client id and secret by HTTP Basic or `client_id`/`client_secret`, optional scope (a subset of the client\'s scopes). A registered service client may not use the password grant. Errors follow RFC 6749 section 5.2.',
      consumes: ['application/x-www-form-urlencoded', 'application/json'],
      body: TokenBodySchema,
      'x-documented-body': TokenRequestDocSchema,
      response: { 200: ref(TokenResponseSchema), ...oauthErrors }
    }
  }, async (request, reply) => {
    const body = request.body as TokenBody
    switch (body.grant_type) {
      case 'password':
        await refuseServiceClient(app, request, body)
        return passwordGrant(body, request, reply)
      case 'refresh_token': return refreshGrant(body, request, reply)
      case 'client_credentials': return clientCredentialsGrant(app, request, body, reply)
      case 'authorization_code': return authorizationCodeGrant(body, request, reply)
      default: throw new UnsupportedGrantType(`unsupported grant_type ${JSON.stringify(body.grant_type.slice(0, 40))}`)
    }
  })

  app.post('/revoke', {
    config: { public: true, oauth: true },
    schema: {
      tags: ['auth'],
      operationId: 'revoke',
      summary: 'Token revocation (RFC 7009)',
      description: 'Always 200. `token_type_hint` is optional and may be wrong: every token type is searched (RFC 7009 section 2.1). A refresh token ends its whole session. An access token (a user\'s or a client\'s) is refused on every Warden route and introspects inactive from the next request on, until it expires; a user\'s also ends its session.',
      consumes: ['application/x-www-form-urlencoded', 'application/json'],
      body: ref(RevokeBodySchema),
      response: { 200: { description: 'Revoked, or nothing to revoke (RFC 7009: always 200, no body)', type: 'null' }, ...oauthErrors }
    }
  }, async (request, reply) => {
    // client authentication is optional here (RFC 7009 section 2.1), but checked when presented
    await optionalClient(app, request, request.body)
    // The hint is only a hint: every token type is searched (RFC 7009 section 2.1).
    const { token } = request.body
    let sid: string | null = null
    if (token.split('.').length === 3) sid = await revokeAccessToken(request, token)
    if (sid === null) sid = (await app.sessionsRepository.findByRefreshToken(token))?.id ?? null
    if (sid !== null) {
      const ended = await app.sessionsRepository.revoke([sid], 'revoked')
      if (ended.length > 0) {
        await app.changes.publish(changed.session(sid))
        app.audit.record(request, { action: 'auth.revoke', outcome: 'success', targetType: 'session', targetId: sid })
      }
    }
    reply.header('cache-control', 'no-store').code(200).send()
  })

  /**
   * Revokes a valid access token until it expires: its jti joins the deny set every instance
   * keeps in memory. Returns the token's session (ended too), null for a client token or a token
   * that is not a valid access token (RFC 7009: not an error).
   */
  async function revokeAccessToken (request: FastifyRequest, token: string): Promise<string | null> {
    let principal: Principal
    try {
      principal = app.tokens.verifyAccessToken(token)
    } catch {
      return null
    }
    const expiresAt = new Date(principal.exp * 1000)
    await app.sessionsRepository.revokeAccessToken(principal.jti, expiresAt)
    await app.changes.publish(changed.token(principal.jti, principal.exp))
    app.audit.record(request, { action: 'auth.revoke', outcome: 'success', targetType: principal.kind === 'client' ? 'client' : 'session', targetId: principal.sid ?? principal.sub, detail: 'access token revoked' })
    return principal.sid
  }
}

export default tokenRoutes

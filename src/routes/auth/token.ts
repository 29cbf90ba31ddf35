import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { intersectScopes, ScopeSet } from '../../authz/index.js'
import type { Principal } from '../../access/declaration.js'
import { InvalidGrant, InvalidRequest, InvalidScope, RateLimited, UnsupportedGrantType } from '../../errors.js'
import { oauthErrors } from '../../schemas/common.js'
import { RevokeBodySchema, TokenBodySchema, TokenRequestDocSchema, TokenResponseSchema, type TokenBody } from '../../schemas/auth.js'
import { ref } from '../../schemas/registry.js'
import { createLoginLimits } from '../../security/login-limits.js'
import { StaleCredentials } from '../../services/sessions.js'
import { clientCredentialsGrant, optionalClient, refuseServiceClient } from '../../services/clients.js'
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
  const limits = createLoginLimits({
    maxFailuresPerAccountAndIp: config.loginThrottle.maxFailuresPerAccountAndIp,
    maxFailuresPerIp: config.loginThrottle.maxFailuresPerIp,
    blockSeconds: config.loginThrottle.blockSeconds,
    redis: app.redis,
    keyPrefix: config.redisKeyPrefix
  })

  /** The user's effective permissions in the tenant, and whether they are active; null if the user is gone. */
  const effectiveFor = async (userId: string, tenantId: string) => app.access.userEffective(userId, tenantId)

  async function passwordGrant (body: TokenBody, request: FastifyRequest, reply: FastifyReply) {
    const { username, password } = body
    if (!username || !password) throw new InvalidRequest('username and password are required')
    const requested = parseScope(body.scope)

    const login = username.trim().toLowerCase()
    const user = await app.usersRepository.findByLogin(login)
    // counted per account, whichever of its names is used; a name that matches none, per name
    const account = user?.id ?? 'name:' + login.slice(0, 320)
    const verdict = await limits.check(account, request.ip)
    if (!verdict.allowed) throw new RateLimited('Too many failed attempts; try again later', verdict.retryAfterSeconds)
    const ok = user ? await app.passwords.verify(user.passwordHash, password) : await app.passwords.verifyDummy(password)
    if (!user || !ok || !user.isActive) {
      await limits.recordFailure(account, request.ip)
      app.audit.record(request, { action: 'auth.login', outcome: 'failure', targetType: 'user', targetId: user?.id ?? null, detail: 'invalid credentials' })
      throw new InvalidGrant('invalid username or password')
    }
    await limits.recordSuccess(account, request.ip)
    if (app.passwords.needsRehash(user.passwordHash)) {
      // the same password, re-hashed: the credentials version stays
      const passwordHash = await app.passwords.hash(password)
      await app.usersRepository.rehash(user, passwordHash)
    }

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
      ttlSeconds: config.refreshTokenTtl
    }).catch(err => {
      // the password changed (or the user was disabled) while this login was being verified
      if (err instanceof StaleCredentials) throw new InvalidGrant('invalid username or password')
      throw err
    })
    app.audit.record(request, { action: 'auth.login', outcome: 'success', targetType: 'user', targetId: user.id, tenantId: tenant.id })
    const inCookie = body.refresh_in_cookie === true || body.refresh_in_cookie === 'true'
    return issue(reply, { userId: user.id, tenantId: tenant.id, sid: session.id, scopes, refreshToken, inCookie })
  }

  function issue (reply: FastifyReply, s: { userId: string, tenantId: string, sid: string, scopes: string[], refreshToken: string, inCookie: boolean }) {
    const access = app.tokens.signAccessToken({ sub: s.userId, tid: s.tenantId, sid: s.sid, scope: s.scopes })
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
    const body: { access_token: string, token_type: 'Bearer', expires_in: number, scope: string, refresh_token?: string } = {
      access_token: access.token,
      token_type: 'Bearer',
      expires_in: access.expiresIn,
      scope: s.scopes.join(' ')
    }
    if (s.inCookie) {
      reply.setCookie(REFRESH_COOKIE, s.refreshToken, {
        httpOnly: true, secure: true, sameSite: 'strict', path: '/v1/auth', maxAge: config.refreshTokenTtl
      })
    } else {
      body.refresh_token = s.refreshToken
    }
    return body
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
      const subject = await effectiveFor(session.userId, session.tenantId)
      if (!subject?.active) throw new InvalidGrant('invalid refresh token')
      scopes = intersectScopes(subject.effective, session.scopes)
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
    return issue(reply, { userId: session.userId, tenantId: session.tenantId, sid: session.id, scopes, refreshToken: result.refreshToken, inCookie: fromCookie })
  }

  app.post('/token', {
    config: { public: true, oauth: true },
    schema: {
      tags: ['auth'],
      operationId: 'token',
      summary: 'OAuth 2.0 token endpoint (password, refresh_token, client_credentials grants)',
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

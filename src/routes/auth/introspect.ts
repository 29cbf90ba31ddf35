import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { intersectScopes, type EffectiveSet } from '../../authz/index.js'
import { InsufficientScope, InvalidToken } from '../../errors.js'
import { bearerToken, type Principal } from '../../access/declaration.js'
import { Refused } from '../../access/index.js'
import { errorResponses, oauthErrors, OAuthErrorSchema, ProblemSchema } from '../../schemas/common.js'
import { IntrospectBodySchema, IntrospectionSchema } from '../../schemas/auth.js'
import { ref } from '../../schemas/registry.js'
import { presentedClientCredentials, requireClient } from '../../services/clients.js'

type Introspection = { active: false } | {
  active: true
  token_type: 'access_token' | 'refresh_token'
  sub: string
  scope: string
  client_id?: string
  tid: string
  sid?: string
  jti?: string
  exp: number
  iat: number
  nbf?: number
  iss: string
  aud: string
}

const INACTIVE = { active: false } as const
const seconds = (d: Date) => Math.floor(d.getTime() / 1000)

/**
 * Token introspection (RFC 7662). Resource servers call it with their client credentials, or
 * with a bearer token that holds `tokens:introspect`. Unlike offline verification it sees at
 * once that a session ended, a user was disabled, a client was deleted or a permission was
 * taken away: `scope` lists only the token's scopes that the subject still holds.
 *
 * The claims answered are those of a token the caller already holds (a JWT's claims are
 * readable by its holder), so any authenticated client may introspect any token.
 */
const introspectRoutes: FastifyPluginAsyncTypebox = async app => {
  const { config, access } = app

  /** The subject's current permissions in the token's tenant, or null if it is gone or disabled. */
  async function currentEffective (userId: string, tenantId: string): Promise<EffectiveSet | null> {
    const held = await access.userEffective(userId, tenantId)
    return held === null || !held.active ? null : held.effective
  }

  /** Client credentials or a live bearer token with tokens:introspect; 401 without either. */
  async function authenticateCaller (request: FastifyRequest, reply: FastifyReply, body: { client_id?: string, client_secret?: string }) {
    if (presentedClientCredentials(request, body) !== null) {
      await requireClient(app, request, body)
      return
    }
    const token = bearerToken(request)
    if (token === null) {
      // no credentials at all: RFC 6749 section 5.2 invalid_client, with WWW-Authenticate: Basic
      await requireClient(app, request, body)
      return
    }
    const principal = app.tokens.verifyAccessToken(token)
    const view = await access.live(principal)
    if (view instanceof Refused) throw new InvalidToken('token is no longer valid')
    request.principal = principal
    request.accessView = view
    try {
      await request.authorize('tokens:introspect')
    } catch (err) {
      if (err instanceof InsufficientScope) {
        reply.header('www-authenticate', 'Bearer realm="warden", error="insufficient_scope", scope="tokens:introspect"')
      }
      throw err
    }
  }

  async function introspectAccessToken (token: string): Promise<Introspection> {
    let principal: Principal
    try {
      principal = app.tokens.verifyAccessToken(token)
    } catch {
      return INACTIVE
    }
    const view = await access.live(principal)
    if (view instanceof Refused) return INACTIVE
    // gone between the two reads: inactive, as if it had gone before
    const effective = await Promise.resolve(access.effectiveOf(view)).catch(err => {
      if (err instanceof InvalidToken) return null
      throw err
    })
    if (effective === null) return INACTIVE
    const answer: Introspection = {
      active: true,
      token_type: 'access_token',
      sub: principal.sub,
      scope: intersectScopes(effective, principal.scopes).join(' '),
      tid: principal.tid,
      jti: principal.jti,
      exp: principal.exp,
      iat: principal.iat,
      iss: config.issuer,
      aud: config.audience
    }
    if (principal.clientId !== null) answer.client_id = principal.clientId
    if (principal.sid !== null) answer.sid = principal.sid
    return answer
  }

  /** A refresh token is active while it is the session's current one and the session is live. */
  async function introspectRefreshToken (token: string): Promise<Introspection> {
    const found = await app.sessionsRepository.findRefreshToken(token)
    if (found === null) return INACTIVE
    const { token: row, session } = found
    const now = Date.now()
    if (row.rotatedAt !== null || session.revokedAt !== null || row.expiresAt.getTime() <= now || session.expiresAt.getTime() <= now) {
      return INACTIVE
    }
    const effective = await currentEffective(session.userId, session.tenantId)
    if (effective === null) return INACTIVE
    return {
      active: true,
      token_type: 'refresh_token',
      sub: session.userId,
      scope: intersectScopes(effective, session.scopes).join(' '),
      tid: session.tenantId,
      sid: session.id,
      exp: seconds(row.expiresAt),
      iat: seconds(row.createdAt),
      iss: config.issuer,
      aud: config.audience
    }
  }

  app.post('/introspect', {
    // Public as far as the authn plugin goes: callers authenticate here, with client credentials
    // (Basic or body), which the authn plugin does not read, or with a bearer token. `oauth`
    // makes validation errors RFC 6749-shaped, as on the other OAuth endpoints.
    config: { public: true, oauth: true },
    schema: {
      tags: ['auth'],
      operationId: 'introspect',
      summary: 'Token introspection (RFC 7662)',
      description: 'Form-urlencoded or JSON `token`, optional `token_type_hint` (`access_token` or `refresh_token`). The caller authenticates with client credentials (HTTP Basic or `client_id`/`client_secret`) or a bearer token holding `tokens:introspect` (403 without it); 401 with neither. An access token whose session ended, whose user is disabled or whose client is deleted is inactive.',
      consumes: ['application/x-www-form-urlencoded', 'application/json'],
      // client credentials (HTTP Basic or in the body) are the other way in; see the description
      security: [{ bearerAuth: [] }],
      body: ref(IntrospectBodySchema),
      response: {
        200: ref(IntrospectionSchema),
        400: oauthErrors[400],
        401: {
          description: 'No client authentication (invalid_client, RFC 6749 shape) or an invalid bearer token (problem+json)',
          content: {
            'application/json': { schema: ref(OAuthErrorSchema) },
            'application/problem+json': { schema: ref(ProblemSchema) }
          }
        },
        403: errorResponses[403],
        429: oauthErrors[429],
        503: oauthErrors[503]
      }
    }
  }, async (request, reply) => {
    const { token, token_type_hint: hint } = request.body
    await authenticateCaller(request, reply, request.body)
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
    // the hint only orders the search: every token type is tried (RFC 7662 section 2.1)
    const looksLikeJwt = token.split('.').length === 3
    if (hint === 'refresh_token' || !looksLikeJwt) {
      const refresh = await introspectRefreshToken(token)
      if (refresh.active || !looksLikeJwt) return refresh
    }
    return introspectAccessToken(token)
  })
}

export default introspectRoutes

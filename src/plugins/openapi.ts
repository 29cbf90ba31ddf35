import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import helmet from '@fastify/helmet'
import type { FastifyInstance } from 'fastify'
import { errorResponses, oauthErrors } from '../schemas/common.js'
import { emptyBodyAsObject } from '../services/admin/optional-body.js'
import { BUILT_IN_CLIENTS } from '../db/seed.js'

/**
 * OpenAPI 3.1 from the route schemas at /docs/json, Swagger UI at /docs. Registered before
 * authn/authz: the documentation routes are public by construction, not by declaration,
 * because @fastify/swagger-ui does not let us set their route config.
 * @see https://github.com/fastify/fastify-swagger
 */
export default fp(async function openapiPlugin (app: FastifyInstance) {
  const tokenUrl = '/v1/auth/token'
  await app.register(swagger, {
    // named schemas keep their names: components.schemas.User, referenced as #/components/schemas/User
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => typeof json.$id === 'string' ? json.$id : `Schema${i}` },
    // a route may document its body differently from what it validates (the token endpoint: one
    // schema per grant in the document, their union validated, so an unknown grant_type is
    // unsupported_grant_type rather than invalid_request)
    transform: ({ schema, url }) => {
      const documented = (schema as Record<string, unknown> | undefined)?.['x-documented-body']
      if (schema === undefined || documented === undefined) return { schema, url }
      const { 'x-documented-body': _documented, ...rest } = schema as Record<string, unknown>
      return { schema: { ...rest, body: documented } as typeof schema, url }
    },
    // operations whose body may be left out entirely (`x-optional-body`, served by the
    // emptyBodyAsObject hook): @fastify/swagger marks every body required
    transformObject: documentObject => {
      const openapiObject = 'openapiObject' in documentObject ? documentObject.openapiObject : documentObject.swaggerObject
      for (const item of Object.values(openapiObject.paths ?? {})) {
        for (const op of Object.values(item as Record<string, Record<string, unknown>>)) {
          if (op?.['x-optional-body'] !== true) continue
          delete op['x-optional-body']
          if (op.requestBody !== undefined) (op.requestBody as { required: boolean }).required = false
        }
      }
      return openapiObject
    },
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Warden',
        version: '0.1.0',
        description: 'Authentication and authorization service: users, tenants, roles, permissions, JWT access tokens, rotating refresh tokens and authorization decisions. Each operation lists the permissions it requires in `x-permissions`: `{ "all": [...] }` or `{ "any": [...] }`, with `"global": true` where they must come from a global assignment and `"checkedOn": "resource"` where the decision is made with the object. Errors are RFC 9457 `application/problem+json` (`Problem`), RFC 6749 `OAuthError` on the OAuth endpoints.',
        license: { name: 'Proprietary', identifier: 'LicenseRef-Proprietary' },
        contact: { name: 'Warden', url: `${app.config.issuer}/docs` }
      },
      servers: [{ url: app.config.issuer }],
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          oauth2: {
            type: 'oauth2',
            flows: {
              // Swagger UI signs in with it as the built-in public client warden-docs (PKCE)
              authorizationCode: {
                authorizationUrl: `${app.config.issuer}/v1/auth/authorize`,
                tokenUrl,
                refreshUrl: tokenUrl,
                scopes: { openid: 'who you are (userinfo)', profile: 'your name and username', email: 'your e-mail address' }
              },
              password: { tokenUrl, scopes: {} },
              clientCredentials: { tokenUrl, scopes: {} }
            }
          }
        }
      },
      tags: [
        { name: 'auth', description: 'Login, tokens, sessions and the current user' },
        { name: 'discovery', description: 'JWKS and OpenID configuration' },
        { name: 'users', description: 'Users, their role assignments and effective permissions' },
        { name: 'roles', description: 'Roles: permissions, conditional grants and inheritance' },
        { name: 'permissions', description: 'The permission catalog (resource:action)' },
        { name: 'tenants', description: 'Tenants and their members' },
        { name: 'clients', description: 'Service accounts for the client-credentials grant' },
        { name: 'keys', description: 'Signing keys and rotation' },
        { name: 'authz', description: 'Authorization decisions for other services' },
        { name: 'posts', description: 'The example protected resource' },
        { name: 'audit', description: 'The audit log' },
        { name: 'operations', description: 'Health, readiness and metrics' }
      ]
    }
  })
  // The errors the framework answers on any route, documented where they can happen: 400 for
  // U+0000 anywhere (input-guard), 413 and 415 for bodies, 429 wherever the rate limit applies.
  app.addHook('onRoute', route => {
    const schema = route.schema as Record<string, unknown> | undefined
    if (schema === undefined || schema.hide === true) return
    const responses = (schema.response ?? {}) as Record<string, unknown>
    const oauth = route.config?.oauth === true
    const fill = (status: 400 | 413 | 415 | 429) => {
      if (responses[status] === undefined) responses[status] = oauth && (status === 400 || status === 429) ? oauthErrors[status] : errorResponses[status]
    }
    fill(400)
    if (schema.body !== undefined) { fill(413); fill(415) }
    if ([route.preValidation].flat().includes(emptyBodyAsObject)) schema['x-optional-body'] = true
    if (route.config?.rateLimit !== false) fill(429)
    schema.response = responses
  })

  // Swagger UI's pages are HTML: in a scope of their own they get helmet's full set (frame
  // protection, referrer policy, ...), with Swagger UI's own content security policy (scripts
  // and styles from itself only), without upgrade-insecure-requests (the issuer may be plain
  // http on loopback), and never framed.
  await app.register(async function docsPages (scope) {
    // COOP: Swagger UI's sign-in popup keeps its opener through Warden's pages (which set none)
    // back to oauth2-redirect.html, which hands the code to the opener: a page whose policy
    // differs from the popup's would sever that link
    await scope.register(helmet, { global: true, contentSecurityPolicy: false, frameguard: { action: 'deny' }, strictTransportSecurity: false, crossOriginOpenerPolicy: { policy: 'same-origin-allow-popups' } })
    scope.addHook('onSend', async (request, reply) => {
      if (request.url.startsWith('/docs/static/oauth2-redirect.')) reply.removeHeader('cross-origin-opener-policy')
    })
    await scope.register(swaggerUi, {
      routePrefix: '/docs',
      uiConfig: { persistAuthorization: false },
      // "Authorize" offers the authorization code flow with PKCE as warden-docs (no secret)
      initOAuth: { clientId: BUILT_IN_CLIENTS.docs.id, usePkceWithAuthorizationCodeGrant: true, scopes: ['openid'], appName: 'Warden API docs' },
      staticCSP: true,
      transformStaticCSP: header => header
        .replace(/\s*upgrade-insecure-requests;?/, '')
        .replace("frame-ancestors 'self'", "frame-ancestors 'none'")
    })
  })
}, { name: 'openapi', dependencies: ['config'] })

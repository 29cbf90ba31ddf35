import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import helmet from '@fastify/helmet'
import type { FastifyInstance } from 'fastify'

/**
 * OpenAPI 3.1 from the route schemas at /docs/json, Swagger UI at /docs. Registered before
 * authn/authz: the documentation routes are public by construction, not by declaration,
 * because @fastify/swagger-ui does not let us set their route config.
 * @see https://github.com/fastify/fastify-swagger
 */
export default fp(async function openapiPlugin (app: FastifyInstance) {
  const tokenUrl = '/v1/auth/token'
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Warden',
        version: '0.1.0',
        description: 'Authentication and authorization service: users, tenants, roles, permissions, JWT access tokens, rotating refresh tokens and authorization decisions. Each operation lists the permissions it requires in `x-permissions`.'
      },
      servers: [{ url: app.config.issuer }],
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          oauth2: {
            type: 'oauth2',
            flows: {
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
  // Swagger UI's pages are HTML: in a scope of their own they get helmet's full set (frame
  // protection, referrer policy, ...), with Swagger UI's own content security policy (scripts
  // and styles from itself only), without upgrade-insecure-requests (the issuer may be plain
  // http on loopback), and never framed.
  await app.register(async function docsPages (scope) {
    await scope.register(helmet, { global: true, contentSecurityPolicy: false, frameguard: { action: 'deny' }, strictTransportSecurity: false })
    await scope.register(swaggerUi, {
      routePrefix: '/docs',
      uiConfig: { persistAuthorization: false },
      staticCSP: true,
      transformStaticCSP: header => header
        .replace(/\s*upgrade-insecure-requests;?/, '')
        .replace("frame-ancestors 'self'", "frame-ancestors 'none'")
    })
  })
}, { name: 'openapi', dependencies: ['config'] })

import fp from 'fastify-plugin'
import helmet from '@fastify/helmet'
import type { FastifyInstance } from 'fastify'

/**
 * Hardening headers on every answer (@fastify/helmet): `X-Content-Type-Options: nosniff`, frame
 * protection, and a Content-Security-Policy that lets the JSON API's answers load nothing and be
 * framed nowhere. Swagger UI's pages set their own policy (openapi.ts). HSTS only when the issuer
 * is served over https.
 * @see https://github.com/fastify/fastify-helmet
 */
export default fp(async function securityHeaders (app: FastifyInstance) {
  const https = app.config.issuer.startsWith('https://')
  await app.register(helmet, {
    global: true,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] }
    },
    frameguard: { action: 'deny' },
    strictTransportSecurity: https ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    // other origins' pages and services read the JWKS and discovery documents
    crossOriginResourcePolicy: { policy: 'cross-origin' }
  })
}, { name: 'security-headers', dependencies: ['config'] })

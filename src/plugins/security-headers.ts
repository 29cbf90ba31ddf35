import fp from 'fastify-plugin'
import helmet from 'helmet'
import type { FastifyInstance } from 'fastify'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Config } from '../config.js'

/**
 * The headers a helmet middleware sets, computed once: the API's answers all carry the same
 * ones, so they are set from this list by one hook instead of by running the middleware per
 * request (@fastify/helmet builds a new helmet middleware on every request: 55k -> 22k requests
 * in 4 s on a bare route here, bench/README.md "Security headers").
 */
export function helmetHeaders (options: Parameters<typeof helmet>[0]): Array<[string, string]> {
  const headers: Array<[string, string]> = []
  const res = {
    setHeader (name: string, value: string) { headers.push([name.toLowerCase(), String(value)]) },
    removeHeader () {}
  }
  helmet(options)({} as IncomingMessage, res as unknown as ServerResponse, () => {})
  return headers
}

/** helmet with every protection off but `X-Content-Type-Options: nosniff` */
const ONLY_NOSNIFF = {
  contentSecurityPolicy: false,
  crossOriginEmbedderPolicy: false,
  crossOriginOpenerPolicy: false,
  crossOriginResourcePolicy: false,
  originAgentCluster: false,
  referrerPolicy: false,
  strictTransportSecurity: false,
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xFrameOptions: false,
  xPermittedCrossDomainPolicies: false,
  xPoweredBy: false,
  xXssProtection: false
} as const

/**
 * Hardening headers on every answer: `X-Content-Type-Options: nosniff` (helmet's value), and
 * HSTS when the issuer is served over https. The HTML pages (Swagger UI) add frame protection
 * and a Content-Security-Policy of their own with @fastify/helmet (openapi.ts). Answers of
 * authenticated routes carry `Cache-Control: no-store` (authn.ts).
 * @see https://helmetjs.github.io/
 */
/** The headers every answer carries, for this configuration. */
export function securityHeadersFor (config: Pick<Config, 'issuer'>): Array<[string, string]> {
  const https = config.issuer.startsWith('https://')
  return helmetHeaders({
    ...ONLY_NOSNIFF,
    strictTransportSecurity: https ? { maxAge: 31_536_000, includeSubDomains: true } : false
  })
}

export default fp(async function securityHeaders (app: FastifyInstance) {
  const headers = securityHeadersFor(app.config)
  app.addHook('onRequest', (_request, reply, done) => {
    for (const [name, value] of headers) reply.header(name, value)
    done()
  })
}, { name: 'security-headers', dependencies: ['config'] })

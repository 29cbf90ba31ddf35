import { randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import Fastify, { type FastifyReply, type FastifyServerOptions } from 'fastify'
import formbody from '@fastify/formbody'
import cookie from '@fastify/cookie'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Config } from './config.js'
import type { DatabaseHandle } from './db/client.js'
import configPlugin from './plugins/config.js'
import schemasPlugin from './plugins/schemas.js'
import { namedSchemas } from './schemas/registry.js'
import dbPlugin from './plugins/db.js'
import changesPlugin from './plugins/changes.js'
import passwordsPlugin from './plugins/passwords.js'
import repositories from './repositories/index.js'
import seedPlugin from './plugins/seed.js'
import tokensPlugin from './plugins/tokens.js'
import errorsPlugin, { clientErrorHandler, errorSerializer, frameworkErrors } from './plugins/errors.js'
import inputGuard from './plugins/input-guard.js'
import securityHeaders, { securityHeadersFor } from './plugins/security-headers.js'
import redisPlugin from './plugins/redis.js'
import rateLimitPlugin from './plugins/rate-limit.js'
import openapiPlugin from './plugins/openapi.js'
import authnPlugin from './plugins/authn.js'
import authzPlugin from './plugins/authz.js'
import auditPlugin from './plugins/audit.js'
import loginPlugin from './plugins/login.js'
import metricsPlugin from './plugins/metrics.js'
import healthRoutes from './routes/health/index.js'
import wellKnownRoutes from './routes/well-known/index.js'
import browserPages from './routes/browser/index.js'
import consoleRoutes from './routes/console/index.js'
import authRoutes from './routes/auth/index.js'
import usersRoutes from './routes/users/index.js'
import rolesRoutes from './routes/roles/index.js'
import permissionsRoutes from './routes/permissions/index.js'
import tenantsRoutes from './routes/tenants/index.js'
import postsRoutes from './routes/posts/index.js'
import authzRoutes from './routes/authz/index.js'
import auditRoutes from './routes/audit/index.js'
import clientsRoutes from './routes/clients/index.js'
import keysRoutes from './routes/keys/index.js'
import metricsRoutes from './routes/metrics/index.js'

export interface BuildOptions {
  /** an already-open database (shared by several app instances in tests); not closed with the app */
  database?: DatabaseHandle
  logger?: FastifyServerOptions['logger']
  /** where the default logger writes (stdout when unset) */
  logStream?: { write: (line: string) => void }
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** Builds the Warden app: infrastructure plugins, then application plugins, then routes. */
export async function buildApp (config: Config, opts: BuildOptions = {}) {
  const logger: FastifyServerOptions['logger'] = opts.logger ?? {
    level: config.logLevel,
    ...(opts.logStream ? { stream: opts.logStream } : {}),
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'], censor: '[redacted]' },
    // Never log secrets: no headers, no query string (a client may put a token there), and
    // no failed query's parameters (errorSerializer).
    serializers: {
      req: (req: { id: string, method: string, url: string, ip?: string }) => ({
        id: req.id, method: req.method, path: req.url.split('?')[0], ip: req.ip
      }),
      err: errorSerializer
    }
  }
  const headers = securityHeadersFor(config)
  const app = Fastify({
    logger,
    trustProxy: config.trustProxy,
    bodyLimit: 64 * 1024,
    requestIdHeader: false,
    genReqId: req => {
      const given = req.headers['x-request-id']
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID()
    },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false } },
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    // both answer before any hook runs: they set the security headers themselves
    frameworkErrors: (error, request, reply) => frameworkErrors(error, request.id, reply as unknown as FastifyReply, headers),
    clientErrorHandler: (err, socket) => clientErrorHandler(err, socket, headers),
    // A request's headers and body arrive within REQUEST_TIMEOUT_MS or the connection gets a
    // 408: a client that sends less than its Content-Length cannot hold a connection for long.
    serverFactory: handler => createServer({
      requestTimeout: config.requestTimeoutMs,
      headersTimeout: config.requestTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, config.requestTimeoutMs)
    }, handler),
    requestTimeout: config.requestTimeoutMs,
    return503OnClosing: true
  }).withTypeProvider<TypeBoxTypeProvider>()

  // Bodies are JSON or forms (@fastify/formbody). Fastify also parses text/plain by default,
  // which would turn a wrong content type into a confusing 400 instead of the 415 it is.
  app.removeContentTypeParser('text/plain')

  // Query strings are coerced (API.md); bodies are not.
  app.setValidatorCompiler(await queryCoercingCompiler())

  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id)
    done()
  })

  // infrastructure
  await app.register(configPlugin, { config })
  await app.register(schemasPlugin)
  await app.register(errorsPlugin)
  await app.register(securityHeaders)
  await app.register(inputGuard)
  await app.register(dbPlugin, { database: opts.database })
  await app.register(changesPlugin)
  await app.register(repositories)
  await app.register(redisPlugin)
  await app.register(passwordsPlugin)
  await app.register(seedPlugin)
  await app.register(tokensPlugin)
  await app.register(formbody, { bodyLimit: 16 * 1024 })
  await app.register(cookie)
  await app.register(openapiPlugin)
  // application
  await app.register(rateLimitPlugin)
  await app.register(metricsPlugin)
  await app.register(auditPlugin)
  await app.register(loginPlugin)
  await app.register(authnPlugin)
  await app.register(authzPlugin)
  await app.register(metricsRoutes)
  // routes
  await app.register(healthRoutes)
  await app.register(wellKnownRoutes)
  await app.register(browserPages)
  await app.register(consoleRoutes)
  await app.register(authRoutes, { prefix: '/v1/auth' })
  await app.register(usersRoutes, { prefix: '/v1/users' })
  await app.register(rolesRoutes, { prefix: '/v1/roles' })
  await app.register(permissionsRoutes, { prefix: '/v1/permissions' })
  await app.register(tenantsRoutes, { prefix: '/v1/tenants' })
  await app.register(postsRoutes, { prefix: '/v1/posts' })
  await app.register(authzRoutes, { prefix: '/v1/authz' })
  await app.register(auditRoutes, { prefix: '/v1/audit' })
  await app.register(clientsRoutes, { prefix: '/v1/clients' })
  await app.register(keysRoutes, { prefix: '/v1/keys' })

  return app
}

export type App = Awaited<ReturnType<typeof buildApp>>

/**
 * Two Ajv instances: one coercing types for querystring/params/headers, one strict for bodies.
 * Fastify's default coerces everything, which would accept `["x"]` for `"x"` in a body.
 */
async function queryCoercingCompiler () {
  const { Ajv } = await import('ajv')
  const { default: formats } = await import('ajv-formats')
  const make = (coerce: boolean) => {
    const ajv = new Ajv({ removeAdditional: false, useDefaults: true, coerceTypes: coerce ? 'array' : false, allErrors: false, strict: false })
    formats.default(ajv)
    // the named schemas that route schemas $ref (the schemas plugin gives Fastify the same list)
    for (const schema of namedSchemas()) ajv.addSchema(schema)
    return ajv
  }
  const strict = make(false)
  const coercing = make(true)
  return ({ schema, httpPart }: { schema: object, httpPart?: string }) =>
    (httpPart === 'body' ? strict : coercing).compile(schema)
}

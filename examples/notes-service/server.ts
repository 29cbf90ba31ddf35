import { randomUUID } from 'node:crypto'
import { pathToFileURL } from 'node:url'
import Fastify, { type FastifyServerOptions } from 'fastify'
// In your own service: import { wardenVerifier } from 'warden/fastify'
import { wardenVerifier } from '../../src/fastify/verifier.js'

/**
 * A tiny service that trusts Warden's tokens: it verifies them offline against Warden's JWKS
 * and declares on every route who may call it, exactly as Warden's own routes do. It reuses
 * Warden's seeded `posts:read` / `posts:create` permissions, which the default `user` role holds.
 */
export interface NotesServiceOptions {
  /** Warden's issuer (WARDEN_ISSUER) */
  issuer: string
  /** Warden's audience (WARDEN_AUDIENCE) */
  audience: string
  /** where Warden serves its JWKS */
  jwksUrl: string
  logger?: FastifyServerOptions['logger']
}

interface Note { id: string, tenantId: string, authorId: string, text: string, createdAt: string }

export async function buildNotesService (opts: NotesServiceOptions) {
  const app = Fastify({ logger: opts.logger ?? false })
  // registered first: it checks the declaration of every route registered after it
  await app.register(wardenVerifier, { issuer: opts.issuer, audience: opts.audience, jwksUrl: opts.jwksUrl, algorithms: ['ES256'] })

  const notes: Note[] = []

  app.get('/health', { config: { public: true } }, async () => ({ ok: true }))

  app.get('/whoami', { config: { authenticated: true } }, async request => {
    const { sub, kind, tid, scopes } = request.principal!
    return { sub, kind, tid, scopes }
  })

  // the tenant comes from the token, never from the request
  app.get('/notes', { config: { permissions: ['posts:read'] } }, async request =>
    ({ items: notes.filter(n => n.tenantId === request.principal!.tid) }))

  app.post('/notes', {
    config: { permissions: ['posts:create'], principal: 'user' },
    schema: {
      body: {
        type: 'object',
        properties: { text: { type: 'string', minLength: 1, maxLength: 1000 } },
        required: ['text'],
        additionalProperties: false
      }
    }
  }, async (request, reply) => {
    const { sub, tid } = request.principal!
    const note: Note = { id: randomUUID(), tenantId: tid, authorId: sub, text: (request.body as { text: string }).text, createdAt: new Date().toISOString() }
    notes.push(note)
    return reply.code(201).send(note)
  })

  return app
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const warden = (process.env.WARDEN_URL ?? 'http://127.0.0.1:3000').replace(/\/$/, '')
  const app = await buildNotesService({
    issuer: process.env.WARDEN_ISSUER ?? warden,
    audience: process.env.WARDEN_AUDIENCE ?? 'warden',
    jwksUrl: `${warden}/.well-known/jwks.json`,
    logger: true
  })
  await app.listen({ port: Number(process.env.PORT ?? 3001), host: process.env.HOST ?? '127.0.0.1' })
}

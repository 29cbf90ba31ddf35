import { asc, eq, like } from 'drizzle-orm'
import type { FastifyInstance } from 'fastify'
import { Type, type Static } from '@sinclair/typebox'
import { EffectivePermissionsSchema } from '../../src/schemas/admin.js'
import { UserPageSchema } from '../../src/schemas/auth.js'
import { PostPageSchema, PostSchema } from '../../src/schemas/posts.js'
import { ref } from '../../src/schemas/registry.js'
import { effectivePermissionsView, userView } from '../../src/services/admin/users.js'
import { postView } from '../../src/services/posts.js'
import { intersectScopes } from '../../src/authz/index.js'
import { refreshTokens, roleAssignments, roles, sessions, users } from '../../src/db/schema/index.js'
import { newRefreshToken } from '../../src/services/sessions.js'
import { defaultTenant, findTenant } from '../../src/services/tenants.js'
import { BENCH_PASSWORD, type BenchUser, type MintedToken } from './protocol.js'

/** Bench data written straight through the app's Drizzle handle (PostgreSQL or PGlite). */
export function benchSeeder (app: FastifyInstance) {
  let sharedHash: Promise<string> | undefined

  async function tenantId (tenant: string | null): Promise<string> {
    const row = tenant === null ? await defaultTenant(app.db) : await findTenant(app.db, tenant)
    if (row === null) throw new Error(`unknown tenant ${tenant}`)
    return row.id
  }

  /** Users sharing one argon2 hash (a million users must not cost a million hashes), each holding `role` in `tenant`. */
  async function seedUsers ({ count, prefix, role, tenant }: { count: number, prefix: string, role: string | null, tenant: string | null }): Promise<BenchUser[]> {
    sharedHash ??= app.passwords.hash(BENCH_PASSWORD)
    const passwordHash = await sharedHash
    const tid = await tenantId(tenant)
    const roleId = role === null ? null : (await app.db.select({ id: roles.id }).from(roles).where(eq(roles.name, role)))[0]?.id
    if (role !== null && roleId === undefined) throw new Error(`unknown role ${role}`)
    const out: BenchUser[] = []
    for (let start = 0; start < count; start += 1000) {
      const rows = Array.from({ length: Math.min(1000, count - start) }, (_, i) => {
        const username = `${prefix}${start + i}`
        return { email: `${username}@bench.test`, username, passwordHash }
      })
      const inserted = await app.db.insert(users).values(rows).returning({ id: users.id, username: users.username })
      if (roleId) await app.db.insert(roleAssignments).values(inserted.map(u => ({ userId: u.id, roleId, tenantId: tid })))
      out.push(...inserted)
    }
    return out
  }

  /** A session per user (with a refresh token) and an access token carrying what a password grant without `scope` would. */
  async function mintTokens ({ userIds, tenant }: { userIds: string[], tenant: string | null }): Promise<MintedToken[]> {
    const tid = await tenantId(tenant)
    const expiresAt = new Date(Date.now() + app.config.refreshTokenTtl * 1000)
    const out: MintedToken[] = []
    for (let start = 0; start < userIds.length; start += 1000) {
      const chunk = userIds.slice(start, start + 1000)
      const rows = await app.db.insert(sessions)
        .values(chunk.map(userId => ({ userId, tenantId: tid, scopes: null, expiresAt, userAgent: 'warden-bench' })))
        .returning({ id: sessions.id, userId: sessions.userId })
      const refresh = rows.map(() => newRefreshToken())
      await app.db.insert(refreshTokens).values(rows.map((s, i) => ({ sessionId: s.id, tokenHash: refresh[i].hash, expiresAt })))
      for (const [i, session] of rows.entries()) {
        const state = await app.access.subject(session.userId)
        if (state === null) throw new Error(`no user ${session.userId}`)
        const scope = intersectScopes(await app.access.effectiveFor(state, tid), null)
        const { token } = app.tokens.signAccessToken({ sub: session.userId, tid, sid: session.id, scope })
        out.push({ userId: session.userId, accessToken: token, refreshToken: refresh[i].token })
      }
    }
    return out
  }

  async function findUsers ({ prefix, count }: { prefix: string, count: number }): Promise<BenchUser[]> {
    return app.db.select({ id: users.id, username: users.username }).from(users)
      .where(like(users.username, `${prefix}%`)).orderBy(asc(users.username)).limit(count)
  }

  return { seedUsers, mintTokens, findUsers }
}

/**
 * The bench routes. Three share one trivial handler and differ in their access declaration
 * (scenarios A, B, C/D); `POST /bench/bare` is A for POST bodies. The `/bench/raw/...` routes
 * are the ceilings of R: the same repository call (the same prepared query) and the same answer
 * mapping and schema as a real read route, without authentication or authorization, so that the
 * ratio of the real route to them is Warden's own cost over the data access.
 */
export function addBenchRoutes (app: FastifyInstance): void {
  const ok = { 200: { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] } } as const
  const handler = async () => ({ ok: true })
  app.get('/bench/bare', { config: { public: true }, schema: { hide: true, response: ok } }, handler)
  app.post('/bench/bare', { config: { public: true }, schema: { hide: true, response: ok } }, handler)
  app.get('/bench/authn', { config: { authenticated: true }, schema: { hide: true, response: ok } }, handler)
  app.get('/bench/perm', { config: { permissions: ['posts:read'] }, schema: { hide: true, response: ok } }, handler)

  const raw = { config: { public: true } } as const
  const PageQuery = Type.Object({ tenant: Type.String(), subject: Type.String(), drafts: Type.Union([Type.Literal('all'), Type.Literal('own'), Type.Literal('none')]), limit: Type.Integer() })
  app.get<{ Querystring: Static<typeof PageQuery> }>('/bench/raw/posts', { ...raw, schema: { hide: true, querystring: PageQuery, response: { 200: ref(PostPageSchema) } } }, async request => {
    const { tenant, subject, drafts, limit } = request.query
    const page = await app.postsRepository.list({ tenantId: tenant, drafts, subjectId: subject, limit, cursor: undefined })
    return { items: page.items.map(postView), nextCursor: page.nextCursor }
  })
  const ById = Type.Object({ id: Type.String() })
  const InTenant = Type.Object({ tenant: Type.String() })
  app.get<{ Params: Static<typeof ById>, Querystring: Static<typeof InTenant> }>('/bench/raw/posts/:id', { ...raw, schema: { hide: true, params: ById, querystring: InTenant, response: { 200: ref(PostSchema) } } }, async request => {
    const row = await app.postsRepository.find(request.query.tenant, request.params.id)
    if (row === null) throw new Error('no such post')
    return postView(row)
  })
  const Limit = Type.Object({ limit: Type.Integer() })
  app.get<{ Querystring: Static<typeof Limit> }>('/bench/raw/users', { ...raw, schema: { hide: true, querystring: Limit, response: { 200: ref(UserPageSchema) } } }, async request => {
    const page = await app.usersRepository.list({ memberOf: null, limit: request.query.limit, cursor: undefined })
    return { items: page.items.map(userView), nextCursor: page.nextCursor }
  })
  app.get<{ Params: Static<typeof ById>, Querystring: Static<typeof InTenant> }>('/bench/raw/users/:id/permissions', { ...raw, schema: { hide: true, params: ById, querystring: InTenant, response: { 200: ref(EffectivePermissionsSchema) } } }, async request => {
    const user = await app.usersRepository.find(request.params.id)
    const state = user === null ? null : await app.access.subject(user.id)
    if (state === null) throw new Error('no such user')
    return effectivePermissionsView(request.query.tenant, await app.access.effectiveFor(state, request.query.tenant))
  })
}

import { asc, eq, like } from 'drizzle-orm'
import type { FastifyInstance } from 'fastify'
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

/** The three bench routes: one trivial handler, three access declarations (scenarios A, B, C/D). */
export function addBenchRoutes (app: FastifyInstance): void {
  const ok = { 200: { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] } } as const
  const handler = async () => ({ ok: true })
  app.get('/bench/bare', { config: { public: true }, schema: { hide: true, response: ok } }, handler)
  app.get('/bench/authn', { config: { authenticated: true }, schema: { hide: true, response: ok } }, handler)
  app.get('/bench/perm', { config: { permissions: ['posts:read'] }, schema: { hide: true, response: ok } }, handler)
}

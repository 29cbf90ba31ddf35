import { expect, passwordLogin } from './http.js'
import { ADMIN_EMAIL, ADMIN_PASSWORD, BENCH_PASSWORD, type BenchUser, type MintedToken } from './protocol.js'
import type { ServerHandle } from './server-process.js'

/** Environment of a bench server (the same variables as `npm start`). */
export function serverEnv (db: { databaseUrl: string } | { dataDir: string }, extra: Record<string, string> = {}): Record<string, string> {
  return {
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'silent',
    WARDEN_ISSUER: 'http://warden.bench',
    WARDEN_ADMIN_EMAIL: ADMIN_EMAIL,
    WARDEN_ADMIN_PASSWORD: ADMIN_PASSWORD,
    // tokens minted at set-up must outlive the whole run
    ACCESS_TOKEN_TTL: '7200',
    // the login flood comes from one address
    LOGIN_MAX_FAILURES_PER_IP: '100000',
    // the load generator is one caller sending hundreds of thousands of requests a minute: the
    // per-caller rate limit still runs on every request (its cost is measured), but never refuses
    RATE_LIMIT_MAX: '100000000',
    ...('databaseUrl' in db ? { DATABASE_URL: db.databaseUrl } : { DATA_DIR: db.dataDir }),
    ...extra
  }
}

export interface Fixture {
  adminToken: string
  /** the bench user that holds bench-r1 (-> bench-r2 -> bench-r3 -> posts:read), logged in by password */
  user: BenchUser & { token: string, refreshToken: string }
  /** 1,000 users with bench-r1, each with its own session and token */
  tokens: MintedToken[]
  users: BenchUser[]
  /** a user without any role: must get 403 on /bench/perm */
  nobody: MintedToken
  /** a published post in the default tenant */
  postId: string
  /** the default tenant's id (the `tid` of every bench token) */
  tenantId: string
  /** the administrator's user id */
  adminId: string
}

/** The payload of a JWT, unverified (the bench reads its own tokens' `sub` and `tid`). */
export const claimsOf = (token: string): { sub: string, tid: string } =>
  JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'))

export const ROLE_CHAIN = ['bench-r1', 'bench-r2', 'bench-r3'] as const

/**
 * Roles r3 (posts:read) <- r2 <- r1 through the admin API, 1,000 users holding r1 in the default
 * tenant (rows inserted directly, without the default `user` role, so that posts:read really comes
 * through the three-level chain), their tokens, and one published post.
 */
export async function setUp (server: ServerHandle, userCount = 1000): Promise<Fixture> {
  const base = server.url
  const adminToken = (await passwordLogin(base, ADMIN_EMAIL, ADMIN_PASSWORD)).access_token
  await expect(201, base, 'POST', '/v1/roles', { token: adminToken, json: { name: 'bench-r3', permissions: ['posts:read'] } })
  await expect(201, base, 'POST', '/v1/roles', { token: adminToken, json: { name: 'bench-r2', inherits: ['bench-r3'] } })
  await expect(201, base, 'POST', '/v1/roles', { token: adminToken, json: { name: 'bench-r1', inherits: ['bench-r2'] } })

  const users = await server.call('seedUsers', { count: userCount, prefix: 'bench', role: 'bench-r1', tenant: null })
  const [loner] = await server.call('seedUsers', { count: 1, prefix: 'nobody', role: null, tenant: null })
  const first = users[0]
  const login = await passwordLogin(base, first.username, BENCH_PASSWORD)
  const tokens = await server.call('mintTokens', { userIds: users.map(u => u.id), tenant: null })
  const [nobody] = await server.call('mintTokens', { userIds: [loner.id], tenant: null })

  const post = await expect(201, base, 'POST', '/v1/posts', {
    token: adminToken,
    json: { title: 'Bench post', content: 'A published post read by scenario E.', isPublished: true }
  })
  // the issue's list: 100 published posts (R lists the newest 20), and drafts the bench users may not see
  for (let i = 0; i < 120; i++) {
    await expect(201, base, 'POST', '/v1/posts', {
      token: adminToken,
      json: { title: `Bench post ${i}`, content: `Post ${i} of the list read by scenario R. `.repeat(4), isPublished: i % 6 !== 5 }
    })
  }
  return {
    adminToken,
    user: { ...first, token: login.access_token, refreshToken: login.refresh_token },
    tokens,
    users,
    nobody,
    postId: post.json().id,
    tenantId: claimsOf(login.access_token).tid,
    adminId: claimsOf(adminToken).sub
  }
}

/** Proofs that the routes measured really authenticate and authorize (recorded with the results). */
export async function sanityChecks (server: ServerHandle, f: Fixture): Promise<Record<string, string>> {
  const base = server.url
  const checks: Array<[string, number, string, string | undefined]> = [
    ['bare, no token', 200, '/bench/bare', undefined],
    ['authn, no token', 401, '/bench/authn', undefined],
    ['authn, garbage token', 401, '/bench/authn', 'a.b.c'],
    ['perm, user without the role', 403, '/bench/perm', f.nobody.accessToken],
    ['perm, user via r1 > r2 > r3', 200, '/bench/perm', f.user.token],
    ['perm, minted token via r1 > r2 > r3', 200, '/bench/perm', f.tokens[f.tokens.length - 1].accessToken],
    ['post, user via r1 > r2 > r3', 200, `/v1/posts/${f.postId}`, f.user.token],
    ['post, user without the role', 403, `/v1/posts/${f.postId}`, f.nobody.accessToken]
  ]
  const out: Record<string, string> = {}
  for (const [label, status, path, token] of checks) {
    await expect(status, base, 'GET', path, { token })
    out[label] = String(status)
  }
  return out
}

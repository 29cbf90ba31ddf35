import { randomBytes } from 'node:crypto'
import { sql } from 'drizzle-orm'
import type { Db } from './client.js'
import { clients, permissions, roleAssignments, roleInheritance, rolePermissions, roles, tenants, users } from './schema/index.js'

export const DEFAULT_TENANT_SLUG = 'default'

export const DEFAULT_PERMISSIONS: Record<string, string> = {
  'users:read': 'Read users',
  'users:create': 'Create users',
  'users:update': 'Update users',
  'users:delete': 'Delete users',
  'roles:read': 'Read roles',
  'roles:write': 'Create, change and delete roles',
  'roles:assign': 'Assign roles to users',
  'permissions:read': 'Read permissions',
  'permissions:write': 'Create and delete permissions',
  'tenants:read': 'Read tenants',
  'tenants:write': 'Create, change and delete tenants',
  'clients:read': 'Read service clients',
  'clients:write': 'Create, rotate and delete service clients',
  'keys:read': 'Read signing keys',
  'keys:rotate': 'Rotate signing keys',
  'audit:read': 'Read the audit log',
  'authz:check': 'Ask authorization decisions about other subjects',
  'tokens:introspect': 'Introspect tokens',
  'metrics:read': 'Read metrics',
  'posts:read': 'Read published posts',
  'posts:create': 'Create posts',
  'posts:update': 'Update posts (and read drafts)',
  'posts:delete': 'Delete posts',
  'posts:publish': 'Publish posts',
  '*': 'Every permission'
}

const OWNER = { owner: true }

/** Seeded roles: API.md "Default permissions and roles". Authors act on their own posts through owner conditions. */
export const DEFAULT_ROLES: Array<{ name: string, description: string, grants: Array<[string, object | null]>, inherits: string[] }> = [
  {
    name: 'user',
    description: 'Every registered user',
    grants: [['posts:read', null], ['posts:create', null], ['posts:update', OWNER], ['posts:delete', OWNER], ['posts:publish', OWNER]],
    inherits: []
  },
  { name: 'author', description: 'Writes posts', grants: [], inherits: ['user'] },
  { name: 'editor', description: 'Edits and publishes any post', grants: [['posts:update', null], ['posts:publish', null]], inherits: ['author'] },
  {
    name: 'moderator',
    description: 'Moderates users and posts',
    grants: [['users:read', null], ['posts:read', null], ['posts:update', null], ['posts:delete', null]],
    inherits: []
  },
  { name: 'admin', description: 'Everything', grants: [['*', null]], inherits: [] }
]

export interface SeedOptions {
  adminEmail: string | null
  adminPassword: string | null
  hashPassword: (password: string) => Promise<string>
}

export interface SeedResult {
  seeded: boolean
  admin?: { email: string, username: string, password: string | null }
}

/**
 * Seeds an empty database once: default tenant, permissions, roles and the first administrator.
 * Runs under a transaction-scoped advisory lock so concurrent first starts seed once.
 */
export async function seedDatabase (db: Db, opts: SeedOptions): Promise<SeedResult> {
  const generated = opts.adminPassword ? null : randomBytes(18).toString('base64url')
  const password = opts.adminPassword ?? generated!
  const passwordHash = await opts.hashPassword(password)
  return db.transaction(async tx => {
    await tx.execute(sql`select pg_advisory_xact_lock(4242002)`)
    const existing = await tx.select({ id: tenants.id }).from(tenants).limit(1)
    if (existing.length > 0) return { seeded: false }

    await tx.insert(tenants).values({ slug: DEFAULT_TENANT_SLUG, name: 'Default', isDefault: true })
    await tx.insert(permissions).values(Object.entries(DEFAULT_PERMISSIONS).map(([name, description]) => ({ name, description })))
    const roleIds = new Map<string, string>()
    for (const role of DEFAULT_ROLES) {
      const [row] = await tx.insert(roles).values({ name: role.name, description: role.description }).returning({ id: roles.id })
      roleIds.set(role.name, row.id)
    }
    for (const role of DEFAULT_ROLES) {
      const roleId = roleIds.get(role.name)!
      if (role.grants.length > 0) {
        await tx.insert(rolePermissions).values(role.grants.map(([permission, condition]) => ({ roleId, permission, condition })))
      }
      for (const parent of role.inherits) {
        await tx.insert(roleInheritance).values({ roleId, parentId: roleIds.get(parent)! })
      }
    }
    const email = (opts.adminEmail ?? 'admin@warden.local').toLowerCase()
    const [admin] = await tx.insert(users).values({ email, username: 'admin', fullName: 'Administrator', passwordHash }).returning({ id: users.id })
    await tx.insert(roleAssignments).values({ userId: admin.id, roleId: roleIds.get('admin')!, tenantId: null })
    return { seeded: true, admin: { email, username: 'admin', password: generated } }
  })
}

/**
 * Warden's own browser clients, public and first-party, with ids every installation shares so
 * that the console and Swagger UI know them: `warden-console` (API.md "Default permissions and
 * roles") and `warden-docs` (Swagger UI's authorization-code flow). Their redirect URIs follow
 * the issuer. Ensured at every start: created when missing, redirect URIs brought up to date
 * (an administrator's other changes stay).
 */
export const BUILT_IN_CLIENTS = {
  console: { id: '8b0c3f5e-4a1d-4c3b-9f2e-0c1ec0de0001', name: 'warden-console', redirect: '/console/callback', postLogout: '/console/' },
  docs: { id: '8b0c3f5e-4a1d-4c3b-9f2e-0c1ec0de0002', name: 'warden-docs', redirect: '/docs/static/oauth2-redirect.html', postLogout: '/docs/' }
} as const

export async function ensureBuiltInClients (db: Db, issuer: string): Promise<void> {
  await db.transaction(async tx => {
    await tx.execute(sql`select pg_advisory_xact_lock(4242003)`)
    const [tenant] = await tx.select({ id: tenants.id }).from(tenants).where(sql`${tenants.isDefault}`)
    if (tenant === undefined) return
    for (const c of Object.values(BUILT_IN_CLIENTS)) {
      const redirectUris = [issuer + c.redirect]
      const postLogoutRedirectUris = [issuer + c.postLogout]
      await tx.insert(clients).values({
        id: c.id,
        name: c.name,
        type: 'public',
        secretHash: null,
        scopes: ['*'],
        redirectUris,
        postLogoutRedirectUris,
        grantTypes: c === BUILT_IN_CLIENTS.console ? ['authorization_code', 'refresh_token'] : ['authorization_code'],
        firstParty: true,
        tenantId: tenant.id
      }).onConflictDoUpdate({ target: clients.id, set: { redirectUris, postLogoutRedirectUris } })
    }
  })
}

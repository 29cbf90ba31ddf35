import { parseArgs } from 'node:util'
import { eq } from 'drizzle-orm'
import { ConfigError, loadConfig } from './config.js'
import { openDatabase, runMigrations } from './db/client.js'
import { DataDirLockedError } from './db/data-dir-lock.js'
import { describeDatabaseError, isUniqueViolation } from './lib/db-errors.js'
import { roleAssignments, roles, users } from './db/schema/index.js'
import { seedDatabase } from './db/seed.js'
import { checkPasswordPolicy, createPasswordHasher } from './security/passwords.js'
import { activatesAt, ensureSigningKey, rotateSigningKey } from './tokens/key-store.js'

const USAGE = `Usage: warden <command>
  migrate                 apply migrations (and seed an empty database)
  create-admin --email E --username U [--password P]
                          create a global administrator (password from WARDEN_ADMIN_PASSWORD or --password)
  rotate-keys [--immediate]
                          announce a new signing key: published in the JWKS at once, it signs
                          KEY_ACTIVATION_DELAY seconds later; --immediate signs with it at once
                          (a compromised key). Older keys stay published until their tokens expire
  --help                  print this and exit
Configuration comes from the environment, as for the server (see README). With embedded PGlite
(no DATABASE_URL), stop the server first: one process at a time may open its data directory.`

async function main () {
  const [command, ...rest] = process.argv.slice(2)
  if (!command || command === 'help' || [command, ...rest].some(a => a === '--help' || a === '-h')) {
    process.stdout.write(USAGE + '\n')
    return 0
  }
  if (!['migrate', 'create-admin', 'rotate-keys'].includes(command)) {
    process.stderr.write(`unknown command ${command}\n${USAGE}\n`)
    return 2
  }
  const config = loadConfig(process.env)
  const handle = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, timeoutMs: config.dbTimeoutMs })
  try {
    await runMigrations(handle, config.databaseUrl)
    const hasher = createPasswordHasher(config.argon2, { maxConcurrent: config.argon2MaxConcurrency })
    switch (command) {
      case 'migrate': {
        const seeded = await seedDatabase(handle.db, { adminEmail: config.adminEmail, adminPassword: config.adminPassword, hashPassword: pw => hasher.hash(pw) })
        await ensureSigningKey(handle.db, config.signingAlg, config.keyEncryptionSecret)
        process.stdout.write(`migrations applied${seeded.seeded ? '; database seeded' : ''}\n`)
        if (seeded.admin?.password) process.stdout.write(`first administrator ${seeded.admin.email} password: ${seeded.admin.password} (shown once)\n`)
        return 0
      }
      case 'create-admin': {
        const { values } = parseArgs({ args: rest, options: { email: { type: 'string' }, username: { type: 'string' }, password: { type: 'string' } } })
        const password = values.password ?? config.adminPassword
        if (!values.email || !values.username || !password) {
          process.stderr.write('create-admin needs --email, --username and a password (--password or WARDEN_ADMIN_PASSWORD)\n')
          return 2
        }
        const policy = checkPasswordPolicy(password, { email: values.email, username: values.username })
        if (!policy.ok) {
          process.stderr.write(`password refused: ${policy.message}\n`)
          return 2
        }
        const passwordHash = await hasher.hash(password)
        const id = await handle.db.transaction(async tx => {
          const [user] = await tx.insert(users).values({ email: values.email!.toLowerCase(), username: values.username!, passwordHash, fullName: 'Administrator' }).returning({ id: users.id })
          const [admin] = await tx.select({ id: roles.id }).from(roles).where(eq(roles.name, 'admin'))
          if (!admin) throw new Error('role admin does not exist')
          await tx.insert(roleAssignments).values({ userId: user.id, roleId: admin.id, tenantId: null })
          return user.id
        }).catch(err => {
          if (isUniqueViolation(err)) return null
          throw err
        })
        if (id === null) {
          process.stderr.write(`a user with the e-mail ${values.email.toLowerCase()} or the username ${values.username} already exists\n`)
          return 1
        }
        process.stdout.write(`administrator ${values.email} created (${id})\n`)
        return 0
      }
      case 'rotate-keys': {
        const { values } = parseArgs({ args: rest, options: { immediate: { type: 'boolean', default: false } } })
        const row = await rotateSigningKey(handle.db, config.signingAlg, config.keyEncryptionSecret, {
          accessTokenTtl: config.accessTokenTtl,
          activationDelay: values.immediate ? 0 : config.keyActivationDelay
        })
        const at = activatesAt(row).toISOString()
        process.stdout.write(values.immediate
          ? `new signing key ${row.kid} (${row.alg}) signs from now (${at})\n`
          : `new signing key ${row.kid} (${row.alg}) announced; it signs from ${at}\n`)
        return 0
      }
      default:
        process.stderr.write(`unknown command ${command}\n${USAGE}\n`)
        return 2
    }
  } finally {
    await handle.close()
  }
}

/** What a failure may print: never a failed query (its parameters carry hashes and secrets). */
function explain (err: unknown): string {
  if (err instanceof ConfigError || err instanceof DataDirLockedError) return err.message
  const db = describeDatabaseError(err)
  if (db !== null) return `error: the database refused the operation${typeof db.code === 'string' ? ` (SQLSTATE ${db.code})` : ''}${db.unavailable === true ? ': is it running and reachable?' : ''}`
  return `error: ${(err as Error).message}`
}

main().then(code => { process.exitCode = code }, err => {
  process.stderr.write(explain(err) + '\n')
  process.exitCode = 1
})

import t from 'tap'
import { buildApp } from '../src/app.js'
import { ConfigError, EnvSchema, loadConfig } from '../src/config.js'
import { createTestDatabase, testConfig } from './helper.js'

function configError (env: Record<string, string>): ConfigError {
  try {
    loadConfig(env)
  } catch (err) {
    if (err instanceof ConfigError) return err
    throw err
  }
  throw new Error('expected a ConfigError for ' + JSON.stringify(Object.keys(env)))
}

t.test('defaults per the documented table', async t => {
  const config = loadConfig({})
  t.match(config, {
    host: '127.0.0.1',
    port: 3000,
    databaseUrl: null,
    dataDir: './data',
    issuer: 'http://127.0.0.1:3000',
    audience: 'warden',
    accessTokenTtl: 900,
    refreshTokenTtl: 1_209_600,
    adminEmail: null,
    adminPassword: null,
    registrationEnabled: true,
    refreshReuseGrace: 5,
    metricsPublic: false,
    keyEncryptionSecret: null,
    signingAlg: 'ES256',
    keyActivationDelay: 600,
    logLevel: 'info'
  })
  t.equal(loadConfig({ HOST: '0.0.0.0', PORT: '8080' }).issuer, 'http://0.0.0.0:8080', 'the issuer follows HOST and PORT')
  t.equal(loadConfig({ PORT: '' }).port, 3000, 'an empty variable is unset')
  t.same(loadConfig({}).loginThrottle.blockSeconds <= 900, true, 'no block outlasts 15 minutes by default')
})

t.test('values are read and converted', async t => {
  const config = loadConfig({
    HOST: '0.0.0.0',
    PORT: '8443',
    DATABASE_URL: 'postgres://warden:pw@db:5432/warden',
    DATA_DIR: 'memory://',
    WARDEN_ISSUER: 'https://auth.example.com/',
    WARDEN_AUDIENCE: 'api',
    ACCESS_TOKEN_TTL: '60',
    REFRESH_TOKEN_TTL: '3600',
    WARDEN_ADMIN_EMAIL: 'root@example.com',
    WARDEN_ADMIN_PASSWORD: 'a long admin password',
    REGISTRATION_ENABLED: 'false',
    REFRESH_REUSE_GRACE: '0',
    METRICS_PUBLIC: 'true',
    KEY_ENCRYPTION_SECRET: 'sixteen-or-more-chars',
    SIGNING_ALG: 'EdDSA',
    KEY_ACTIVATION_DELAY: '0',
    LOG_LEVEL: 'warn',
    ALLOWED_ORIGINS: 'https://app.example.com, https://admin.example.com'
  })
  t.match(config, {
    host: '0.0.0.0',
    port: 8443,
    databaseUrl: 'postgres://warden:pw@db:5432/warden',
    issuer: 'https://auth.example.com',
    audience: 'api',
    accessTokenTtl: 60,
    refreshTokenTtl: 3600,
    adminEmail: 'root@example.com',
    registrationEnabled: false,
    refreshReuseGrace: 0,
    metricsPublic: true,
    keyEncryptionSecret: 'sixteen-or-more-chars',
    signingAlg: 'EdDSA',
    keyActivationDelay: 0,
    logLevel: 'warn'
  })
  t.same(config.allowedOrigins, ['https://app.example.com', 'https://admin.example.com'])
  t.equal(loadConfig({ DATABASE_URL: 'postgresql://localhost/warden' }).databaseUrl, 'postgresql://localhost/warden')
})

t.test('a bad value throws a ConfigError naming the variable', async t => {
  for (const [name, value] of [
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '80.5'],
    ['PORT', '1e3'],
    ['PORT', '0x50'],
    ['PORT', '-1'],
    ['DATABASE_URL', 'mysql://root@localhost/warden'],
    ['DATABASE_URL', 'not a url'],
    ['SIGNING_ALG', 'HS256'],
    ['SIGNING_ALG', 'none'],
    ['KEY_ACTIVATION_DELAY', '-1'],
    ['KEY_ACTIVATION_DELAY', '86401'],
    ['KEY_ACTIVATION_DELAY', '1.5'],
    ['LOG_LEVEL', 'verbose'],
    ['ACCESS_TOKEN_TTL', '0'],
    ['ACCESS_TOKEN_TTL', 'soon'],
    ['REFRESH_REUSE_GRACE', '-5'],
    ['REFRESH_REUSE_GRACE', '2.5'],
    ['REGISTRATION_ENABLED', 'yes'],
    ['METRICS_PUBLIC', '1'],
    ['WARDEN_ISSUER', 'auth.example.com'],
    ['WARDEN_ADMIN_EMAIL', 'not-an-email']
  ]) {
    const err = configError({ [name]: value })
    t.ok(err instanceof Error)
    t.equal(err.name, 'ConfigError')
    t.match(err.message, new RegExp(`\\b${name}\\b`), `${name}=${value}: ${err.message}`)
    t.ok(err.problems.some(p => p.startsWith(name + ':')), `${name} is listed in problems`)
  }
  const several = configError({ PORT: 'abc', SIGNING_ALG: 'HS256' })
  t.ok(several.problems.some(p => p.startsWith('PORT')) && several.problems.some(p => p.startsWith('SIGNING_ALG')), 'every problem is reported at once')
})

t.test('a secret value is never echoed', async t => {
  for (const [name, value] of [
    ['KEY_ENCRYPTION_SECRET', 'tooShortSecret'],
    ['WARDEN_ADMIN_PASSWORD', 'hunter2'],
    ['WARDEN_ADMIN_PASSWORD', 'p'.repeat(129)],
    ['DATABASE_URL', 'mysql://root:SuperSecretDbPw@db/warden'],
    ['DATABASE_URL', 'SuperSecretDbPw']
  ]) {
    const err = configError({ [name]: value })
    t.match(err.message, name)
    t.notOk(err.message.includes(value), `${name}: the value is not in the message`)
    t.notOk(err.message.includes('SuperSecretDbPw'))
    t.notOk(err.problems.join('\n').includes(value))
    t.notOk(String(err.stack).includes(value))
  }
  const visible = configError({ PORT: 'abc' })
  t.match(visible.message, /abc/, 'a harmless value is shown to help')
})

t.test('unknown variables are ignored', async t => {
  t.doesNotThrow(() => loadConfig({ PATH: '/usr/bin', SOMETHING_ELSE: 'x' }))
})

t.test('access declarations are checked at boot', async t => {
  const database = await createTestDatabase(t)
  const config = testConfig(database.url)

  // Routes come in plugins: the error surfaces when the plugin loads, and the app never gets ready.
  t.test('a route without a declaration stops the boot', async t => {
    const app = await buildApp(config, { database: database.handle, logger: false })
    t.teardown(() => app.close())
    app.register(async plugin => { plugin.get('/undeclared', async () => 1) })
    await t.rejects(async () => { await app.ready() }, /route GET \/undeclared must declare exactly one of config\.public, config\.authenticated, config\.permissions/)
  })

  t.test('a route added directly is refused at once', async t => {
    const app = await buildApp(config, { database: database.handle, logger: false })
    t.teardown(() => app.close())
    t.throws(() => app.get('/undeclared', async () => 1), /must declare exactly one/)
  })

  t.test('a route requiring an unknown permission stops the boot', async t => {
    const app = await buildApp(config, { database: database.handle, logger: false })
    t.teardown(() => app.close())
    app.register(async plugin => { plugin.get('/unknown', { config: { permissions: ['users:fly'] } }, async () => 1) })
    await t.rejects(async () => { await app.ready() }, /unknown permission users:fly/)
  })

  t.test('two declarations at once stop the boot', async t => {
    const app = await buildApp(config, { database: database.handle, logger: false })
    t.teardown(() => app.close())
    app.register(async plugin => { plugin.get('/both', { config: { public: true, permissions: ['users:read'] } }, async () => 1) })
    await t.rejects(async () => { await app.ready() }, /exactly one/)
  })

  t.test('an unknown permission in anyOf stops the boot', async t => {
    const app = await buildApp(config, { database: database.handle, logger: false })
    t.teardown(() => app.close())
    app.register(async plugin => { plugin.get('/any', { config: { permissions: { anyOf: ['users:read', 'nope:nope'] } } }, async () => 1) })
    await t.rejects(async () => { await app.ready() }, /unknown permission nope:nope/)
  })

  t.test('a declared route boots', async t => {
    const app = await buildApp(config, { database: database.handle, logger: false })
    t.teardown(() => app.close())
    app.get('/declared', { config: { permissions: ['users:read'] } }, async () => 1)
    await app.ready()
    const res = await app.inject({ method: 'GET', url: '/declared' })
    t.equal(res.statusCode, 401, 'and its declaration is enforced')
  })
})

t.test('every variable is documented in the README table and in .env.example', async t => {
  const { readFile } = await import('node:fs/promises')
  const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8')
  const example = await readFile(new URL('../.env.example', import.meta.url), 'utf8')
  const table = readme.slice(readme.indexOf('## Configuration'))
  for (const name of Object.keys(EnvSchema.properties)) {
    t.match(table, new RegExp('^\\|[^\\n]*`' + name + '`', 'm'), `${name} in the README's table`)
    t.match(example, new RegExp('^#? ?' + name + '=', 'm'), `${name} in .env.example`)
  }
})

import { Type, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'

/**
 * The whole environment contract of Warden in one schema (see README, "Configuration").
 * Nothing else in src/ reads process.env: tests build their own Config objects.
 */
const Seconds = (def: number, min = 1) => Type.Integer({ minimum: min, maximum: 31_536_000, default: def })

export const EnvSchema = Type.Object({
  HOST: Type.String({ default: '127.0.0.1', minLength: 1 }),
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
  DATA_DIR: Type.String({ default: './data', minLength: 1 }),
  WARDEN_ISSUER: Type.Optional(Type.String({ pattern: '^https?://' })),
  WARDEN_AUDIENCE: Type.String({ default: 'warden', minLength: 1 }),
  ACCESS_TOKEN_TTL: Seconds(900, 30),
  REFRESH_TOKEN_TTL: Seconds(1_209_600, 60),
  WARDEN_ADMIN_EMAIL: Type.Optional(Type.String({ pattern: '^[^@\\s]+@[^@\\s]+$' })),
  WARDEN_ADMIN_PASSWORD: Type.Optional(Type.String({ minLength: 8, maxLength: 128 })),
  REGISTRATION_ENABLED: Type.String({ default: 'true', pattern: '^(true|false)$' }),
  REFRESH_REUSE_GRACE: Type.Integer({ minimum: 0, maximum: 3600, default: 5 }),
  METRICS_PUBLIC: Type.String({ default: 'false', pattern: '^(true|false)$' }),
  KEY_ENCRYPTION_SECRET: Type.Optional(Type.String({ minLength: 16 })),
  SIGNING_ALG: Type.Union([Type.Literal('EdDSA'), Type.Literal('RS256'), Type.Literal('ES256')], { default: 'ES256' }),
  KEY_ACTIVATION_DELAY: Type.Integer({ minimum: 0, maximum: 86_400, default: 600 }),
  LOG_LEVEL: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map(l => Type.Literal(l)), { default: 'info' }),
  ARGON2_MEMORY_COST: Type.Integer({ minimum: 19456, maximum: 4_194_304, default: 19456 }),
  ARGON2_TIME_COST: Type.Integer({ minimum: 2, maximum: 100, default: 2 }),
  ARGON2_PARALLELISM: Type.Integer({ minimum: 1, maximum: 16, default: 1 }),
  ARGON2_MAX_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 64, default: 1 }),
  THREADPOOL_NICE: Type.Integer({ minimum: 0, maximum: 19, default: 10 }),
  ALLOWED_ORIGINS: Type.String({ default: '' }),
  TRUST_PROXY: Type.String({ default: 'false', pattern: '^(true|false)$' }),
  LOGIN_MAX_FAILURES: Type.Integer({ minimum: 1, maximum: 1000, default: 10 }),
  LOGIN_MAX_FAILURES_PER_IP: Type.Integer({ minimum: 1, maximum: 100_000, default: 100 }),
  LOGIN_BLOCK_SECONDS: Type.Integer({ minimum: 1, maximum: 900, default: 900 }),
  DB_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 60_000, default: 2000 }),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  REDIS_KEY_PREFIX: Type.String({ default: 'warden:', minLength: 1, maxLength: 64 }),
  RATE_LIMIT_MAX: Type.Integer({ minimum: 1, maximum: 100_000_000, default: 1000 }),
  RATE_LIMIT_WINDOW: Seconds(60),
  REQUEST_TIMEOUT_MS: Type.Integer({ minimum: 500, maximum: 300_000, default: 10_000 })
})
export type Env = Static<typeof EnvSchema>

export interface Config {
  host: string
  port: number
  databaseUrl: string | null
  dataDir: string
  issuer: string
  audience: string
  accessTokenTtl: number
  refreshTokenTtl: number
  adminEmail: string | null
  adminPassword: string | null
  registrationEnabled: boolean
  refreshReuseGrace: number
  metricsPublic: boolean
  keyEncryptionSecret: string | null
  signingAlg: 'EdDSA' | 'RS256' | 'ES256'
  /** seconds between announcing a rotated key in the JWKS and signing with it */
  keyActivationDelay: number
  logLevel: string
  argon2: { memoryCost: number, timeCost: number, parallelism: number }
  /** argon2 jobs allowed at once (the rest queue): keeps a login flood from starving other routes */
  argon2MaxConcurrency: number
  /** Linux: nice value for libuv's threadpool threads (0 leaves them alone) */
  threadpoolNice: number
  allowedOrigins: string[]
  trustProxy: boolean
  loginThrottle: { maxFailuresPerAccountAndIp: number, maxFailuresPerIp: number, blockSeconds: number }
  /** longest wait for the database (connecting, a statement, a transaction) before a 503 */
  dbTimeoutMs: number
  /** shared store for login limits and rate limits; null keeps them per instance */
  redisUrl: string | null
  redisKeyPrefix: string
  rateLimit: { max: number, windowSeconds: number }
  /** longest time to receive a request's headers and body */
  requestTimeoutMs: number
}

export class ConfigError extends Error {
  constructor (readonly problems: string[]) {
    super('Invalid configuration:\n' + problems.map(p => '  - ' + p).join('\n'))
    this.name = 'ConfigError'
  }
}

/** Validates an environment record (process.env or a test's object) into a Config. */
export function loadConfig (source: Record<string, string | undefined> = process.env): Config {
  const raw: Record<string, unknown> = {}
  for (const key of Object.keys(EnvSchema.properties)) {
    const value = source[key]
    if (value !== undefined && value !== '') raw[key] = value
  }
  const given: Readonly<Record<string, unknown>> = { ...raw } // Default and Convert write into raw
  const converted = Value.Convert(EnvSchema, Value.Default(EnvSchema, raw)) as Record<string, unknown>
  // Convert reads '80.5' as 80 and '1e3' as 1: an integer must be written as one, or it is reported.
  for (const [key, schema] of Object.entries(EnvSchema.properties)) {
    if (schema.type === 'integer' && key in given && !/^\s*-?\d+\s*$/.test(String(given[key]))) converted[key] = given[key]
  }
  const env = converted as Env
  const problems = [...Value.Errors(EnvSchema, env)].map(e => {
    const name = e.path.replace(/^\//, '') || 'environment'
    return `${name}: ${e.message}${name in given ? ` (got ${JSON.stringify(secretSafe(name, given[name]))})` : ''}`
  })
  if (problems.length > 0) throw new ConfigError(problems)

  return {
    host: env.HOST,
    port: env.PORT,
    databaseUrl: env.DATABASE_URL ?? null,
    dataDir: env.DATA_DIR,
    issuer: (env.WARDEN_ISSUER ?? `http://${env.HOST}:${env.PORT}`).replace(/\/$/, ''),
    audience: env.WARDEN_AUDIENCE,
    accessTokenTtl: env.ACCESS_TOKEN_TTL,
    refreshTokenTtl: env.REFRESH_TOKEN_TTL,
    adminEmail: env.WARDEN_ADMIN_EMAIL ?? null,
    adminPassword: env.WARDEN_ADMIN_PASSWORD ?? null,
    registrationEnabled: env.REGISTRATION_ENABLED === 'true',
    refreshReuseGrace: env.REFRESH_REUSE_GRACE,
    metricsPublic: env.METRICS_PUBLIC === 'true',
    keyEncryptionSecret: env.KEY_ENCRYPTION_SECRET ?? null,
    signingAlg: env.SIGNING_ALG,
    keyActivationDelay: env.KEY_ACTIVATION_DELAY,
    logLevel: env.LOG_LEVEL,
    argon2: { memoryCost: env.ARGON2_MEMORY_COST, timeCost: env.ARGON2_TIME_COST, parallelism: env.ARGON2_PARALLELISM },
    argon2MaxConcurrency: env.ARGON2_MAX_CONCURRENCY,
    threadpoolNice: env.THREADPOOL_NICE,
    allowedOrigins: env.ALLOWED_ORIGINS.split(',').map(s => s.trim()).filter(Boolean),
    trustProxy: env.TRUST_PROXY === 'true',
    loginThrottle: {
      maxFailuresPerAccountAndIp: env.LOGIN_MAX_FAILURES,
      maxFailuresPerIp: env.LOGIN_MAX_FAILURES_PER_IP,
      blockSeconds: env.LOGIN_BLOCK_SECONDS
    },
    dbTimeoutMs: env.DB_TIMEOUT_MS,
    redisUrl: env.REDIS_URL ?? null,
    redisKeyPrefix: env.REDIS_KEY_PREFIX,
    rateLimit: { max: env.RATE_LIMIT_MAX, windowSeconds: env.RATE_LIMIT_WINDOW },
    requestTimeoutMs: env.REQUEST_TIMEOUT_MS
  }
}

function secretSafe (name: string, value: unknown): unknown {
  return /PASSWORD|SECRET|DATABASE_URL|REDIS_URL/.test(name) ? '[redacted]' : value
}

/** Messages between the bench runner and a bench server process (Node IPC). */

export interface ServerStats {
  /** SQL statements sent since the process started */
  queries: number
  rss: number
  heapUsed: number
  /** process CPU time in microseconds (user + system) */
  cpuMicros: number
  access: { subjects: number, sessions: number, clients: number }
}

export interface BenchUser { id: string, username: string }
export interface MintedToken { userId: string, accessToken: string, refreshToken: string }

export interface Commands {
  stats: { args: Record<string, never>, result: ServerStats }
  /** inserts bench users sharing one password hash, each assigned `role` in `tenant` (default tenant when null) */
  seedUsers: { args: { count: number, prefix: string, role: string | null, tenant: string | null }, result: BenchUser[] }
  /** a session per user and an access token with the scopes a plain login would get */
  mintTokens: { args: { userIds: string[], tenant: string | null }, result: MintedToken[] }
  /** ids of the first `count` users whose username starts with `prefix` (seeded by SQL at scale) */
  findUsers: { args: { prefix: string, count: number }, result: BenchUser[] }
  /** drops the compiled role graph and times loading and compiling it again; heap growth after a GC */
  timeGraph: { args: Record<string, never>, result: { ms: number, heapMb: number } }
  /** starts the V8 sampling profiler in the server (node:inspector) */
  profileStart: { args: Record<string, never>, result: null }
  /** stops it and writes the profile to `file` */
  profileStop: { args: { file: string }, result: null }
  /** runs a full garbage collection (the server has --expose-gc), then the memory figures */
  memoryAfterGc: { args: Record<string, never>, result: { rss: number, heapUsed: number } }
  close: { args: Record<string, never>, result: null }
}

export type CommandName = keyof Commands

export interface Request<K extends CommandName = CommandName> { id: number, cmd: K, args: Commands[K]['args'] }
export type Reply = { id: number, ok: true, result: unknown } | { id: number, ok: false, error: string }
export interface Ready { type: 'ready', port: number, startupMs: number, readyAtMs: number }

export const BENCH_PASSWORD = 'bench-password-0123456789'
export const ADMIN_EMAIL = 'admin@bench.test'
export const ADMIN_PASSWORD = 'bench admin password 0123'

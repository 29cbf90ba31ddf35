import { execFileSync, fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { EnvSchema } from '../../src/config.js'
import type { CommandName, Commands, Ready, Reply, ServerStats } from './protocol.js'

const SOURCE = fileURLToPath(new URL('../server.ts', import.meta.url))

export interface ServerHandle {
  url: string
  port: number
  pid: number
  /** performance.now() in the child when it was listening: process start to ready */
  startupMs: number
  /** wall time from fork() to the ready message, as the runner saw it */
  spawnToReadyMs: number
  call: <K extends CommandName>(cmd: K, args: Commands[K]['args']) => Promise<Commands[K]['result']>
  stats: () => Promise<ServerStats>
  stop: () => Promise<void>
}

export interface StartOptions {
  /** pin the server (all its threads) to this CPU; null: no pinning */
  cpu: number | null
  /** the compiled server (bench/lib/build.ts); null: run bench/server.ts through tsx */
  compiled: string | null
  timeoutMs?: number
}

/** Pins a process (all of its threads) to one CPU with taskset; false when that is not possible. */
export function pin (pid: number, cpu: number): boolean {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** The runner's environment without Warden's variables, so only `env` configures the server. */
function cleanEnv (env: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !(key in EnvSchema.properties)) out[key] = value
  }
  return { ...out, ...env }
}

export async function startServer (env: Record<string, string>, opts: StartOptions): Promise<ServerHandle> {
  // --expose-gc only lets the timeGraph command measure the compiled graph's heap
  const execArgv = [...(opts.compiled ? [] : ['--import', 'tsx']), '--expose-gc']
  const started = performance.now()
  const child: ChildProcess = fork(opts.compiled ?? SOURCE, [], { execArgv, env: cleanEnv(env), stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  if (opts.cpu !== null) pin(child.pid!, opts.cpu)

  const pending = new Map<number, { resolve: (v: unknown) => void, reject: (e: Error) => void }>()
  let nextId = 1
  const exited = new Promise<number | null>(resolve => child.once('exit', code => {
    for (const p of pending.values()) p.reject(new Error(`bench server exited (${code})`))
    pending.clear()
    resolve(code)
  }))

  const ready = await new Promise<Ready>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error('bench server did not start in time'))
    }, opts.timeoutMs ?? 180_000)
    child.on('message', (message: Ready | Reply) => {
      if ('type' in message && message.type === 'ready') {
        clearTimeout(timer)
        resolve(message)
        return
      }
      const reply = message as Reply
      const waiter = pending.get(reply.id)
      if (!waiter) return
      pending.delete(reply.id)
      if (reply.ok) waiter.resolve(reply.result)
      else waiter.reject(new Error(reply.error))
    })
    child.once('exit', code => {
      clearTimeout(timer)
      reject(new Error(`bench server exited during start (${code})`))
    })
  })
  const spawnToReadyMs = performance.now() - started

  function call<K extends CommandName> (cmd: K, args: Commands[K]['args']): Promise<Commands[K]['result']> {
    const id = nextId++
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
      child.send({ id, cmd, args })
    })
  }

  return {
    url: `http://127.0.0.1:${ready.port}`,
    port: ready.port,
    pid: child.pid!,
    startupMs: ready.startupMs,
    spawnToReadyMs,
    call,
    stats: () => call('stats', {}),
    async stop () {
      if (child.exitCode !== null) return
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
      await call('close', {}).catch(() => {})
      await exited
      clearTimeout(timer)
    }
  }
}

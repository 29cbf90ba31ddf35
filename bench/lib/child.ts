import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { BUILD } from './build.js'
import { pin } from './server-process.js'

const BENCH = fileURLToPath(new URL('..', import.meta.url))

/**
 * Runs an in-process scenario (bench/scenarios/<name>.ts) in its own Node process, compiled when
 * a build exists (the code measured is the code that ships), pinned like the server; the
 * scenario prints its result as one JSON line.
 */
export async function runScript<T> (name: string, args: string[], opts: { cpu: number | null, compiled: boolean }): Promise<T> {
  const file = opts.compiled ? `${BUILD}bench/scenarios/${name}.js` : `${BENCH}scenarios/${name}.ts`
  const child = spawn(process.execPath, [...(opts.compiled ? [] : ['--import', 'tsx']), file, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
  if (opts.cpu !== null) pin(child.pid!, opts.cpu)
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString('utf8') })
  const code = await new Promise<number | null>(resolve => child.on('exit', resolve))
  if (code !== 0) throw new Error(`${name} exited with ${code}`)
  const lines = out.trim().split('\n')
  return JSON.parse(lines[lines.length - 1]) as T
}

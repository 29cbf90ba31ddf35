import { execFile } from 'node:child_process'
import { mkdir, symlink, lstat } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const BENCH = fileURLToPath(new URL('..', import.meta.url))
const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/** outside bench/ so that lint and git leave it alone; node_modules/ is still found from there */
export const BUILD = ROOT + 'node_modules/.cache/warden-bench/'
export const builtServer = BUILD + 'bench/server.js'

/**
 * Compiles src/ and the bench server with tsc into node_modules/.cache/warden-bench, as `npm run build` does for
 * `npm start`: the server is measured as it ships, without the loader's per-closure helpers
 * that tsx adds. Returns the compiled server's path.
 */
export async function buildServer (): Promise<string> {
  const tsc = ROOT + 'node_modules/typescript/bin/tsc'
  await promisify(execFile)(process.execPath, [tsc, '-p', BENCH + 'tsconfig.build.json'], { cwd: BENCH }).catch((err: { stdout?: string }) => {
    throw new Error('compiling the bench server failed:\n' + (err.stdout ?? String(err)))
  })
  // src/db/client.ts finds the migrations at ../../drizzle from its own file
  await mkdir(BUILD, { recursive: true })
  const link = BUILD + 'drizzle'
  if (!(await lstat(link).catch(() => null))) await symlink(ROOT + 'drizzle', link)
  return builtServer
}

import { execFile } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const BUILT = join(ROOT, 'dist', 'console', 'index.html')

function newest (dir: string): number {
  let t = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name)
    t = Math.max(t, entry.isDirectory() ? newest(p) : statSync(p).mtimeMs)
  }
  return t
}

/**
 * The console's production build (what `npm start` serves), made when it is missing or older
 * than its sources or the client it uses, so a test never drives a stale console.
 */
export async function ensureConsoleBuilt (): Promise<void> {
  const sources = Math.max(newest(join(ROOT, 'console')), statSync(join(ROOT, 'src', 'client', 'index.ts')).mtimeMs, statSync(join(ROOT, 'src', 'client', 'openapi.ts')).mtimeMs)
  if (existsSync(BUILT) && statSync(BUILT).mtimeMs >= sources) return
  await promisify(execFile)(process.execPath, [join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', join(ROOT, 'console', 'vite.config.ts'), '--logLevel', 'warn'], { cwd: ROOT })
}

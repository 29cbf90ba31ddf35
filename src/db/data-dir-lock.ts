import { mkdir, readFile, unlink, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'

/**
 * One process at a time per PGlite data directory. PGlite is PostgreSQL compiled to WebAssembly
 * inside the process that opens it: two processes on one directory do not see each other's
 * writes and can corrupt it (a CLI `rotate-keys` beside a running server would "succeed" and
 * never be seen). The lock is a file holding the owner's pid; a file whose process is gone
 * (a crash, kill -9) is stale and taken over.
 */
export const LOCK_FILE = 'warden.lock'

export class DataDirLockedError extends Error {
  constructor (readonly dir: string, readonly pid: number) {
    super(`the data directory ${dir} is in use by another Warden process (pid ${pid}); stop it first, or use a PostgreSQL DATABASE_URL to run several processes`)
    this.name = 'DataDirLockedError'
  }
}

/** directories this process holds: a second open from the same process is refused too */
const held = new Set<string>()

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export async function lockDataDir (dataDir: string): Promise<{ release: () => Promise<void> }> {
  const dir = resolve(dataDir)
  if (held.has(dir)) throw new DataDirLockedError(dir, process.pid)
  await mkdir(dir, { recursive: true })
  const file = join(dir, LOCK_FILE)
  for (let attempt = 0; ; attempt++) {
    try {
      await writeFile(file, String(process.pid), { flag: 'wx' })
      break
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err
    }
    const owner = Number.parseInt(await readFile(file, 'utf8').catch(() => ''), 10)
    // the file names this very process only if an earlier process with the same pid died
    // holding it (a container restart), since `held` says this process does not hold it
    if (Number.isSafeInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) throw new DataDirLockedError(dir, owner)
    await unlink(file).catch(() => {})
  }
  held.add(dir)
  return {
    async release () {
      if (!held.delete(dir)) return
      const owner = await readFile(file, 'utf8').catch(() => '')
      if (owner === String(process.pid)) await unlink(file).catch(() => {})
    }
  }
}

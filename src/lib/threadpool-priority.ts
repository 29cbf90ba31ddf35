import { pbkdf2 } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { setPriority } from 'node:os'

/**
 * Lowers the scheduling priority of libuv's threadpool threads (where argon2 hashes), so that
 * when CPU is short, request handling on the main thread wins over password hashing: a login
 * flood then slows logins, not every other route (bench/README.md, scenario G).
 *
 * Linux only: nice values are per thread there, and /proc lists the threads. The pool's threads
 * are found as the ones that burn CPU while a batch of pbkdf2 jobs runs (Node does not name
 * them). Returns the thread ids it reniced; an empty list where it cannot.
 */
export async function lowerThreadpoolPriority (nice: number, poolSize = Number(process.env.UV_THREADPOOL_SIZE ?? 4)): Promise<number[]> {
  if (process.platform !== 'linux' || nice <= 0) return []
  const ticks = () => {
    const out = new Map<number, number>()
    for (const tid of readdirSync('/proc/self/task')) {
      try {
        const fields = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ')
        out.set(Number(tid), Number(fields[11]) + Number(fields[12]))
      } catch {
        // the thread ended meanwhile
      }
    }
    return out
  }
  const before = ticks()
  await Promise.all(Array.from({ length: poolSize * 2 }, () =>
    new Promise(resolve => pbkdf2('warden', 'threadpool', 100_000, 32, 'sha256', resolve))))
  const busiest = [...ticks()]
    .filter(([tid]) => tid !== process.pid)
    .map(([tid, t]) => [tid, t - (before.get(tid) ?? 0)] as const)
    .filter(([, used]) => used > 0)
    .sort((a, b) => b[1] - a[1])
    .slice(0, poolSize)
  const reniced: number[] = []
  for (const [tid] of busiest) {
    try {
      setPriority(tid, nice)
      reniced.push(tid)
    } catch {
      // not permitted here: leave it
    }
  }
  return reniced
}

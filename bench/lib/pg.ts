import { randomBytes } from 'node:crypto'
import postgres from 'postgres'

export interface BenchDatabase { url: string, name: string, drop: () => Promise<void> }

/** A fresh database `warden_bench_<random>` on the server at `serverUrl`, dropped by drop(). */
export async function createDatabase (serverUrl: string): Promise<BenchDatabase> {
  const name = 'warden_bench_' + randomBytes(5).toString('hex')
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database "${name}"`)
  const url = new URL(serverUrl)
  url.pathname = '/' + name
  return {
    url: url.toString(),
    name,
    async drop () {
      await admin.unsafe(`drop database if exists "${name}" with (force)`)
      await admin.end({ timeout: 5 })
    }
  }
}

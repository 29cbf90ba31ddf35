import { connect, createServer, type Socket } from 'node:net'

/**
 * A TCP proxy in front of the shared PostgreSQL server that a test can cut and restore, so that
 * an outage is simulated without stopping the server other tests use.
 * - `refuse`: every connection is closed at once, and new ones are reset (the database stopped);
 * - `blackhole`: connections stay open but nothing crosses (a network partition); on restore
 *   the held connections are reset, as a partition's end usually does.
 */
export interface TcpProxy {
  port: number
  cut: (mode: 'refuse' | 'blackhole') => void
  restore: () => void
  close: () => Promise<void>
}

export async function startTcpProxy (targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  let mode: 'forward' | 'refuse' | 'blackhole' = 'forward'
  const pairs = new Set<{ client: Socket, upstream: Socket | null }>()

  const server = createServer(client => {
    client.on('error', () => {})
    if (mode === 'refuse') return client.resetAndDestroy()
    const pair = { client, upstream: null as Socket | null }
    pairs.add(pair)
    client.on('close', () => { pair.upstream?.destroy(); pairs.delete(pair) })
    if (mode === 'blackhole') return
    const upstream = connect(targetPort, targetHost)
    pair.upstream = upstream
    upstream.on('error', () => client.destroy())
    upstream.on('close', () => client.destroy())
    client.pipe(upstream)
    upstream.pipe(client)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0

  const dropAll = () => {
    for (const pair of pairs) {
      pair.client.resetAndDestroy()
      pair.upstream?.destroy()
    }
    pairs.clear()
  }

  return {
    port,
    cut (next) {
      mode = next
      if (next === 'refuse') return dropAll()
      for (const { client, upstream } of pairs) {
        client.unpipe()
        upstream?.unpipe()
        client.pause()
        upstream?.pause()
      }
    },
    restore () {
      if (mode === 'blackhole') dropAll()
      mode = 'forward'
    },
    async close () {
      dropAll()
      await new Promise<void>(resolve => server.close(() => resolve()))
    }
  }
}

import t from 'tap'
import { connect } from 'node:net'
import { build } from '../helper.js'

/**
 * A client that sends less than its Content-Length (or dribbles its headers) gets a 408
 * problem+json after REQUEST_TIMEOUT_MS, and its connection is closed: before the fix it held
 * the connection for 300 s.
 */
const app = await build(t, { REQUEST_TIMEOUT_MS: '1000' })
await app.listen({ host: '127.0.0.1', port: 0 })
const address = app.server.address()
const port = typeof address === 'object' && address !== null ? address.port : 0

function rawExchange (request: string): Promise<{ response: string, ms: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now()
    const socket = connect(port, '127.0.0.1')
    let response = ''
    socket.on('data', chunk => { response += chunk.toString() })
    socket.on('error', reject)
    socket.on('close', () => resolve({ response, ms: Date.now() - started }))
    socket.write(request)
    // never sends the rest
  })
}

t.test('a body shorter than its Content-Length', async t => {
  const { response, ms } = await rawExchange('POST /v1/auth/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"email":')
  t.match(response, /^HTTP\/1\.1 408 /, response.split('\r\n')[0])
  t.match(response, /content-type: application\/problem\+json/i)
  t.match(response, /x-request-id: [0-9a-f-]{36}/i)
  const body = JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4))
  t.match(body, { status: 408, code: 'REQUEST_TIMEOUT', type: String, title: String, detail: String })
  t.ok(ms >= 900 && ms < 4000, `answered and closed after ${ms} ms`)
})

t.test('headers that never end', async t => {
  const { response, ms } = await rawExchange('GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: a')
  t.match(response, /^HTTP\/1\.1 408 /)
  t.ok(ms < 4000, `closed after ${ms} ms`)
})

t.test('a malformed request line is a 400 problem+json', async t => {
  const { response } = await rawExchange('NOT A REQUEST\r\n\r\n')
  t.match(response, /^HTTP\/1\.1 400 /)
  t.match(response, /application\/problem\+json/)
})

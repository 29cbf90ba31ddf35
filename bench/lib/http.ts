import http from 'node:http'

/** A small keep-alive HTTP client for set-up calls and for polling (scenario J). */
export interface HttpResponse { status: number, body: string, json: <T = any>() => T }

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 })

export function request (base: string, method: string, path: string, opts: { token?: string, json?: unknown, form?: Record<string, string> } = {}): Promise<HttpResponse> {
  const url = new URL(path, base)
  const headers: Record<string, string> = {}
  let body: string | undefined
  if (opts.token) headers.authorization = `Bearer ${opts.token}`
  if (opts.json !== undefined) {
    body = JSON.stringify(opts.json)
    headers['content-type'] = 'application/json'
  } else if (opts.form !== undefined) {
    body = new URLSearchParams(opts.form).toString()
    headers['content-type'] = 'application/x-www-form-urlencoded'
  }
  if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body))
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent }, res => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        resolve({ status: res.statusCode ?? 0, body: text, json: () => JSON.parse(text) })
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    if (body !== undefined) req.write(body)
    req.end()
  })
}

/** Like request(), but throws unless the status is the expected one. */
export async function expect (status: number, base: string, method: string, path: string, opts: Parameters<typeof request>[3] = {}): Promise<HttpResponse> {
  const res = await request(base, method, path, opts)
  if (res.status !== status) throw new Error(`${method} ${path}: expected ${status}, got ${res.status} ${res.body.slice(0, 300)}`)
  return res
}

export async function passwordLogin (base: string, username: string, password: string, scope?: string): Promise<{ access_token: string, refresh_token: string }> {
  const form: Record<string, string> = { grant_type: 'password', username, password }
  if (scope !== undefined) form.scope = scope
  const res = await expect(200, base, 'POST', '/v1/auth/token', { form })
  return res.json()
}

export function closeAgent (): void {
  agent.destroy()
}

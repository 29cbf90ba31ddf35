import t from 'tap'
import { execFileSync, spawn } from 'node:child_process'
import type { AddressInfo } from 'node:net'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import Fastify, { type FastifyRequest } from 'fastify'
import fastifyJwt, { type TokenOrHeader } from '@fastify/jwt'
import buildGetJwks from 'get-jwks'
import express, { type NextFunction, type Request, type Response } from 'express'
import { expressjwt, type GetVerificationKey } from 'express-jwt'
import jwksRsa from 'jwks-rsa'
import jsonwebtoken, { type JwtPayload } from 'jsonwebtoken'
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, generateKeyPair, jwtVerify, SignJWT } from 'jose'
import { build, bearer, login, loginAdmin, newUser, ISSUER } from '../helper.js'

/**
 * The verifier stacks people actually use must accept Warden's tokens (ES256 by default) from
 * its JWKS over HTTP, refuse forgeries, and keep accepting every token across an announced key
 * rotation with the JWKS cache they had before it.
 *
 * Scaled down from production: KEY_ACTIVATION_DELAY 4 s (600 s) makes the JWKS max-age 2 s
 * (300 s), and each verifier caches the JWKS (and jose cools down between refetches) for at
 * most that. The production defaults need no tuning either: a verifier that re-reads the JWKS
 * at least once between the announcement and the activation 600 s later already knows the new
 * key when it first signs (jose's 10 min cacheMaxAge is at the limit, but a stale cache or an
 * unknown kid makes it refetch, at most every 30 s of cooldownDuration; jwks-rsa, get-jwks and
 * PyJWT look an unknown kid up in a fresh JWKS at once).
 */
const DELAY_S = 4
const CACHE_MS = 2000
const AUDIENCE = 'warden'

const warden = await build(t, { KEY_ACTIVATION_DELAY: String(DELAY_S) })
await warden.listen({ host: '127.0.0.1', port: 0 })
// tokens carry the configured issuer (http://warden.test); keys are fetched from where Warden listens
const base = `http://127.0.0.1:${(warden.server.address() as AddressInfo).port}`
const jwksUrl = `${base}/.well-known/jwks.json`

const admin = await loginAdmin(warden)
const user = await newUser(warden, 'interop')
const userToken = async () => (await login(warden, user.username, user.password)).access_token

type Verify = (token: string) => Promise<string>
/** each resolves with the verified `sub`, and rejects on a refused token */
const verifiers: Array<[string, Verify]> = []

const listening = (server: { address: () => AddressInfo | string | null }) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`

async function whoami (url: string, token: string): Promise<string> {
  const res = await fetch(url, { headers: bearer(token) })
  const body = await res.json() as { sub?: string, error?: string }
  if (res.status !== 200) throw new Error(`${res.status} ${body.error ?? JSON.stringify(body)}`)
  return body.sub!
}

// 1. jose
{
  const keys = createRemoteJWKSet(new URL(jwksUrl), { cacheMaxAge: CACHE_MS, cooldownDuration: CACHE_MS })
  verifiers.push(['jose', async token => {
    const { payload } = await jwtVerify(token, keys, { issuer: ISSUER, audience: AUDIENCE, algorithms: ['ES256'] })
    return payload.sub!
  }])
}

// 2. @fastify/jwt with get-jwks, as get-jwks documents it, but with the domain pinned to Warden:
// taken from the token's iss it would let a token choose where its key comes from
{
  const getJwks = buildGetJwks({ ttl: CACHE_MS, issuersWhitelist: [base] })
  const service = Fastify({ logger: false })
  await service.register(fastifyJwt, {
    decode: { complete: true },
    secret: async (_request: FastifyRequest, token: TokenOrHeader) => {
      const { kid, alg } = 'header' in token ? token.header : token
      return getJwks.getPublicKey({ kid, alg, domain: base })
    },
    verify: { algorithms: ['ES256'], allowedIss: ISSUER, allowedAud: AUDIENCE }
  })
  service.get('/whoami', async (request, reply) => {
    try {
      await request.jwtVerify()
    } catch (err) {
      return reply.code(401).send({ error: (err as Error).message })
    }
    return { sub: (request.user as { sub: string }).sub }
  })
  await service.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => service.close())
  const url = listening(service.server) + '/whoami'
  verifiers.push(['@fastify/jwt + get-jwks', token => whoami(url, token)])
}

// 3. express + express-jwt + jwks-rsa
{
  const app = express()
  app.get('/whoami', expressjwt({
    secret: jwksRsa.expressJwtSecret({ jwksUri: jwksUrl, cache: true, cacheMaxAge: CACHE_MS }) as GetVerificationKey,
    algorithms: ['ES256'],
    issuer: ISSUER,
    audience: AUDIENCE
  }), (req, res) => res.json({ sub: req.auth!.sub }))
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => res.status((err as { status?: number }).status ?? 500).json({ error: (err as Error).message }))
  const server = await new Promise<ReturnType<typeof app.listen>>((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1', err => err ? reject(err) : resolve(s))
  })
  t.teardown(() => new Promise(resolve => server.close(resolve)))
  const url = listening(server) + '/whoami'
  verifiers.push(['express + express-jwt + jwks-rsa', token => whoami(url, token)])
}

// 4. jsonwebtoken + jwks-rsa
{
  const client = new jwksRsa.JwksClient({ jwksUri: jwksUrl, cache: true, cacheMaxAge: CACHE_MS })
  verifiers.push(['jsonwebtoken + jwks-rsa', token => new Promise((resolve, reject) => {
    jsonwebtoken.verify(token, (header, callback) => {
      client.getSigningKey(header.kid, (err, key) => callback(err, key?.getPublicKey()))
    }, { algorithms: ['ES256'], issuer: ISSUER, audience: AUDIENCE }, (err, payload) => {
      if (err) reject(err)
      else resolve((payload as JwtPayload).sub!)
    })
  })])
}

// 5. PyJWT, Debian's python3-jwt: /usr/bin/python3, not the pyenv python3 on PATH
const PYTHON = '/usr/bin/python3'
let pyjwtMissing: string | null = null
try {
  execFileSync(PYTHON, ['-c', 'import jwt'], { stdio: 'pipe' })
} catch (err) {
  pyjwtMissing = `${PYTHON} cannot import jwt (${String((err as { stderr?: Buffer }).stderr ?? err).trim().split('\n').pop()}): install Debian's python3-jwt (apt-get install -y python3-jwt; .ci/run does)`
}
if (pyjwtMissing === null) {
  const script = fileURLToPath(new URL('./verify_pyjwt.py', import.meta.url))
  const python = spawn(PYTHON, [script, jwksUrl, ISSUER, AUDIENCE, String(CACHE_MS / 1000)], { stdio: ['pipe', 'pipe', 'pipe'] })
  let stderr = ''
  python.stderr.on('data', chunk => { stderr += chunk })
  t.teardown(() => { python.stdin.end() })
  const answers = createInterface({ input: python.stdout })[Symbol.asyncIterator]()
  // one token at a time: the script answers in order, one line each
  let queue: Promise<unknown> = Promise.resolve()
  verifiers.push(['PyJWT', token => {
    const answer = queue.then(async () => {
      python.stdin.write(token + '\n')
      const { value, done } = await answers.next()
      if (done) throw new Error(`the PyJWT verifier exited: ${stderr}`)
      return JSON.parse(value) as { ok: boolean, sub?: string, error?: string }
    })
    queue = answer.catch(() => {})
    return answer.then(a => {
      if (!a.ok) throw new Error(a.error)
      return a.sub!
    })
  }])
}

// .ci/run installs it; elsewhere its absence skips PyJWT alone, with the reason
t.test('PyJWT is available to /usr/bin/python3', { skip: pyjwtMissing !== null && process.env.CI !== 'true' ? pyjwtMissing : false }, async t => {
  t.equal(pyjwtMissing, null, pyjwtMissing ?? 'import jwt works')
})

/** A forgery's outcome per verifier: the error message when refused, or 'accepted'. */
async function outcome (verify: Verify, token: string): Promise<string> {
  try {
    await verify(token)
    return 'accepted'
  } catch (err) {
    return (err as Error).message
  }
}

t.test('every verifier accepts a Warden ES256 token from the password grant', async t => {
  const token = await userToken()
  t.equal(decodeProtectedHeader(token).alg, 'ES256')
  for (const [name, verify] of verifiers) t.equal(await verify(token), user.id, name)
})

t.test('every verifier refuses forgeries', async t => {
  const token = await userToken()
  const header = decodeProtectedHeader(token)
  const claims = decodeJwt(token)

  // the same header (Warden's kid) and claims, signed by a key of the attacker's
  const attacker = await generateKeyPair('ES256')
  const otherKey = await new SignJWT({ ...claims }).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: header.kid }).sign(attacker.privateKey)
  // Warden's signature over a payload changed afterwards
  const [h, , s] = token.split('.')
  const changed = [h, Buffer.from(JSON.stringify({ ...claims, sub: decodeJwt(admin.access_token).sub, scope: '*' })).toString('base64url'), s].join('.')
  // the attacker's key, under a kid Warden never had
  const unknownKid = await new SignJWT({ ...claims }).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'attacker' }).sign(attacker.privateKey)

  for (const [forgery, forged] of [['another key, Warden\'s kid', otherKey], ['modified payload', changed], ['unknown kid', unknownKid]] as const) {
    for (const [name, verify] of verifiers) {
      const result = await outcome(verify, forged)
      t.not(result, 'accepted', `${name} refuses: ${forgery} (${result})`)
    }
  }
  for (const [name, verify] of verifiers) t.equal(await verify(token), user.id, `${name} still accepts the real token`)
})

t.test('an announced rotation: verifiers with a JWKS cached before it accept every token', async t => {
  const jwksResponse = await fetch(jwksUrl)
  const maxAge = Number(/max-age=(\d+)/.exec(jwksResponse.headers.get('cache-control') ?? '')?.[1])
  t.equal(maxAge, DELAY_S / 2, 'the JWKS max-age is half of KEY_ACTIVATION_DELAY')
  t.ok(CACHE_MS <= maxAge * 1000, 'each verifier caches the JWKS for at most its max-age')

  const before = await userToken()
  const oldKid = decodeProtectedHeader(before).kid
  for (const [name, verify] of verifiers) t.equal(await verify(before), user.id, `${name}: warm, before the rotation`)

  const res = await fetch(`${base}/v1/keys/rotate`, { method: 'POST', headers: bearer(admin.access_token) })
  t.equal(res.status, 201)
  const rotated = await res.json() as { kid: string, activatesAt: string }
  const activatesAt = Date.parse(rotated.activatesAt)

  // Log in and verify everywhere until the new key signs, then a few tokens more.
  const seen = { old: 0, new: 0 }
  const deadline = activatesAt + 30_000
  while (seen.new < 3) {
    if (Date.now() > deadline) throw new Error('the new key never signed')
    const token = await userToken()
    const kid = decodeProtectedHeader(token).kid
    if (kid === rotated.kid) seen.new++
    else {
      t.equal(kid, oldKid)
      seen.old++
    }
    for (const [name, verify] of verifiers) {
      const result = await outcome(async tok => {
        if (await verify(tok) !== user.id) throw new Error('wrong sub')
        return tok
      }, token)
      if (result !== 'accepted') t.fail(`${name} refused a token of the ${kid === rotated.kid ? 'new' : 'old'} key: ${result}`)
    }
    await new Promise(resolve => setTimeout(resolve, 200))
  }
  t.ok(seen.old > 0, `the old key signed ${seen.old} tokens while the new one was announced`)
  t.equal(seen.new, 3, 'the new key signs after activatesAt')
  t.pass(`every verifier accepted all ${seen.old + seen.new} tokens`)
  for (const [name, verify] of verifiers) t.equal(await verify(before), user.id, `${name}: the token from before the rotation still verifies`)
})

import t from 'tap'
import { execFile } from 'node:child_process'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { clientTypes } from '../scripts/client-types.js'
import { createWardenClient, formUrlEncoded, WardenError } from '../src/client/index.js'
import { build, ADMIN_EMAIL, ADMIN_PASSWORD } from './helper.js'

/**
 * The shipped client (`warden/client`) and the clients users generate themselves: the committed
 * types are what openapi-typescript makes of the live document, a whole flow runs through the
 * client, and @hey-api/openapi-ts and orval generate working clients from the same document.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url))
const app = await build(t)
const document = (await app.inject({ method: 'GET', url: '/docs/json' })).json()
await app.listen({ host: '127.0.0.1', port: 0 })
const address = app.server.address()
const baseUrl = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`

t.test('the committed client types are generated from the live document', async t => {
  const committed = await readFile(join(ROOT, 'src/client/openapi.ts'), 'utf8')
  // the test app's issuer differs from the default one the script uses: it appears in no type
  t.equal(await clientTypes(document), committed, 'run `npm run client:generate` after changing routes or schemas')
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'))
  t.same(pkg.exports['./client'], { types: './dist/client/index.d.ts', default: './dist/client/index.js' }, 'exported as warden/client (built by npm run build)')
})

t.test('a whole flow through warden/client', async t => {
  const admin = createWardenClient({ baseUrl })
  const tokens = await admin.login(ADMIN_EMAIL, ADMIN_PASSWORD)
  t.equal(tokens.token_type, 'Bearer')
  const me = await admin.api.GET('/v1/auth/me')
  t.equal(me.data?.email, ADMIN_EMAIL)

  const suffix = randomBytes(3).toString('hex')
  const role = await admin.api.POST('/v1/roles', { body: { name: `sdk-role-${suffix}`, description: 'made through the SDK' } })
  t.equal(role.response.status, 201, JSON.stringify(role.error))
  const grant = await admin.api.PUT('/v1/roles/{name}/permissions/{permission}', { params: { path: { name: `sdk-role-${suffix}`, permission: 'posts:publish' } } })
  t.equal(grant.response.status, 201, 'a grant with no body at all')
  t.same(grant.data?.permissions, ['posts:publish'])

  const user = await admin.api.POST('/v1/users', { body: { email: `sdk-${suffix}@example.test`, username: `sdk-${suffix}`, password: 'a long sdk passphrase' } })
  t.equal(user.response.status, 201)
  const assigned = await admin.api.PUT('/v1/users/{id}/roles/{role}', { params: { path: { id: user.data!.id, role: `sdk-role-${suffix}` } } })
  t.ok(assigned.response.status === 201 || assigned.response.status === 200, `assigned: ${assigned.response.status}`)
  const users = await admin.api.GET('/v1/users', { params: { query: { q: suffix } } })
  t.same(users.data?.items.map(u => u.username), [`sdk-${suffix}`], 'a list without limit (it has a default)')

  const person = createWardenClient({ baseUrl })
  await person.login(`sdk-${suffix}`, 'a long sdk passphrase')
  const check = await person.api.POST('/v1/authz/check', { body: { permission: 'posts:publish' } })
  t.same(check.data, { allowed: true, reason: check.data?.reason }, 'the role\'s grant decides')
  t.equal(check.data?.allowed, true)

  const before = person.accessToken()
  const refreshed = await person.refresh()
  t.not(refreshed.access_token, before, 'new tokens')
  t.equal((await person.api.GET('/v1/auth/me')).data?.username, `sdk-${suffix}`, 'the refreshed token works')
  await person.logout()
  t.equal(person.accessToken(), null)
  const afterLogout = createWardenClient({ baseUrl })
  afterLogout.setTokens({ accessToken: refreshed.access_token, expiresIn: 600 })
  t.equal((await afterLogout.api.GET('/v1/auth/me')).response.status, 401, 'the session ended')

  const refused = await admin.login(ADMIN_EMAIL, 'not the password').then(() => null, (err: unknown) => err)
  t.ok(refused instanceof WardenError, 'a refused login throws WardenError')
  t.match(refused, { status: 400, oauth: { error: 'invalid_grant' } })
  const forbidden = await person.api.GET('/v1/users')
  t.equal(forbidden.response.status, 401)
  t.equal(forbidden.error?.code, 'UNAUTHENTICATED', 'errors are typed as Problem')
})

t.test('the form encoding of the token endpoint', async t => {
  t.equal(formUrlEncoded({ grant_type: 'password', username: 'a b', password: 'p&q', scope: undefined, refresh_in_cookie: false }).toString(), 'grant_type=password&username=a+b&password=p%26q&refresh_in_cookie=false')
})

// inside the project (the generated code is TypeScript that the test loader must compile, which
// it does not do under node_modules), gitignored
const sdkRoot = join(ROOT, '.tmp', 'sdk-test-' + randomBytes(4).toString('hex'))
t.teardown(() => rm(sdkRoot, { recursive: true, force: true }))

function run (bin: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(join(ROOT, 'node_modules', '.bin', bin), args, { cwd, env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${bin} ${args.join(' ')}: ${stdout}\n${stderr}`))
      else resolve(stdout + stderr)
    })
  })
}

t.test('@hey-api/openapi-ts generates a working client', async t => {
  const dir = join(sdkRoot, 'hey-api')
  await mkdir(dir, { recursive: true })
  await writeFile(join(dir, 'openapi.json'), JSON.stringify(document))
  await run('openapi-ts', ['-i', 'openapi.json', '-o', 'client', '-c', '@hey-api/client-fetch'], dir)
  const sdk = await import(join(dir, 'client', 'index.ts'))
  const { client } = await import(join(dir, 'client', 'client.gen.ts'))
  client.setConfig({ baseUrl })
  const login = await sdk.token({ body: { grant_type: 'password', username: ADMIN_EMAIL, password: ADMIN_PASSWORD } })
  t.equal(login.response.status, 200, JSON.stringify(login.error))
  const authorization = `Bearer ${login.data.access_token}`
  const me = await sdk.getMe({ headers: { authorization } })
  t.equal(me.data.email, ADMIN_EMAIL)
  const roles = await sdk.listRoles({ headers: { authorization } })
  t.ok(roles.data.items.some((r: { name: string }) => r.name === 'admin'), 'an admin call')
  const problem = await sdk.getUser({ path: { id: '00000000-0000-4000-8000-000000000000' }, headers: { authorization } })
  t.equal(problem.error.code, 'NOT_FOUND', 'errors arrive as Problem')
})

t.test('orval generates a working client', async t => {
  const dir = join(sdkRoot, 'orval')
  await mkdir(dir, { recursive: true })
  await writeFile(join(dir, 'openapi.json'), JSON.stringify(document))
  // The token endpoint takes forms and JSON; orval needs to be told which one to send, and its
  // form encoder does not serialize one-schema-per-grant bodies: warden/client's encoder does.
  await writeFile(join(dir, 'orval.config.cjs'), `module.exports = {
  warden: {
    input: { target: ${JSON.stringify(join('DIR', 'openapi.json'))} },
    output: {
      target: ${JSON.stringify(join('DIR', 'api.ts'))},
      client: 'fetch',
      baseUrl: ${JSON.stringify(baseUrl)},
      override: {
        operations: {
          token: {
            contentType: { include: ['application/x-www-form-urlencoded'] },
            formUrlEncoded: { path: ${JSON.stringify(join(ROOT, 'src/client/index.ts'))}, name: 'toFormUrlEncoded' }
          }
        }
      }
    }
  }
}
`)
  const config = await readFile(join(dir, 'orval.config.cjs'), 'utf8')
  await writeFile(join(dir, 'orval.config.cjs'), config.replaceAll('DIR/', dir + '/'))
  await run('orval', ['--config', join(dir, 'orval.config.cjs')], dir)
  // orval's code imports without file extensions: run it under tsx, as an orval user would
  await writeFile(join(dir, 'run.ts'), `import * as api from './api'
const login = await api.token({ grant_type: 'password', username: ${JSON.stringify(ADMIN_EMAIL)}, password: ${JSON.stringify(ADMIN_PASSWORD)} })
const headers = { authorization: 'Bearer ' + (login.data as { access_token: string }).access_token }
const me = await api.getMe({ headers })
const users = await api.listUsers(undefined, { headers })
process.stdout.write(JSON.stringify({ login: login.status, me: me.data, users: users.status, count: (users.data as { items: unknown[] }).items.length }))
`)
  const out = JSON.parse(await run('tsx', ['run.ts'], dir))
  t.equal(out.login, 200, 'login through the generated token call')
  t.equal(out.me.email, ADMIN_EMAIL)
  t.equal(out.users, 200, 'an admin call, without the defaulted limit')
  t.ok(out.count >= 1)
})

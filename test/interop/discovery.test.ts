import t from 'tap'
import * as client from 'openid-client'
import { build, buildListening, createTestDatabase, loginAdmin } from '../helper.js'

/**
 * openid-client v6, as a relying party or resource server would use it, against a listening
 * Warden: discovery by issuer (both well-known documents), the client_credentials grant with
 * both client authentication methods, introspection and revocation.
 */

const { app, issuer } = await buildListening(t)

// Warden's issuer is plain http in tests; openid-client refuses that unless told
const insecure = { execute: [client.allowInsecureRequests] }

const admin = await loginAdmin(app)
const created = await app.inject({
  method: 'POST',
  url: '/v1/clients',
  headers: { authorization: `Bearer ${admin.access_token}` },
  payload: { name: 'discovery-rs', scopes: ['posts:read', 'authz:check'] }
})
if (created.statusCode !== 201) throw new Error(`create client: ${created.statusCode} ${created.body}`)
const rs = created.json() as { id: string, clientSecret: string, tenantId: string }

t.test('both well-known documents are the same truthful metadata', async t => {
  const oidc = await fetch(`${issuer}/.well-known/openid-configuration`)
  const rfc8414 = await fetch(`${issuer}/.well-known/oauth-authorization-server`)
  t.equal(oidc.status, 200)
  t.equal(rfc8414.status, 200)
  t.match(oidc.headers.get('content-type'), /^application\/json/)
  const doc = await oidc.json() as Record<string, unknown>
  t.same(await rfc8414.json(), doc, 'one source')

  t.match(doc, {
    issuer,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    token_endpoint: `${issuer}/v1/auth/token`,
    revocation_endpoint: `${issuer}/v1/auth/revoke`,
    introspection_endpoint: `${issuer}/v1/auth/introspect`,
    subject_types_supported: ['public']
  })
  t.same(doc.grant_types_supported, ['authorization_code', 'refresh_token', 'client_credentials', 'password'])
  t.same(doc.token_endpoint_auth_methods_supported, ['none', 'client_secret_basic', 'client_secret_post'], 'none: public clients')
  t.match(doc, {
    authorization_endpoint: `${issuer}/v1/auth/authorize`,
    userinfo_endpoint: `${issuer}/v1/auth/userinfo`,
    end_session_endpoint: `${issuer}/v1/auth/end-session`,
    response_types_supported: ['code'],
    code_challenge_methods_supported: ['S256'],
    id_token_signing_alg_values_supported: ['ES256'],
    authorization_response_iss_parameter_supported: true
  })
  t.same(doc.introspection_endpoint_auth_methods_supported, ['client_secret_basic', 'client_secret_post'])
  t.same(doc.revocation_endpoint_auth_methods_supported, ['none', 'client_secret_basic', 'client_secret_post'])
  const scopes = doc.scopes_supported as string[]
  t.ok(scopes.includes('posts:read') && scopes.includes('tokens:introspect'), 'the permission catalog')
  t.same(scopes, [...scopes].sort(), 'sorted')
  t.ok((doc.claims_supported as string[]).includes('sub'))
  for (const scope of ['openid', 'profile', 'email']) t.ok(scopes.includes(scope), scope)

  // every endpoint named is there (a 404 would mean it is advertised but missing)
  t.equal((await fetch(doc.jwks_uri as string)).status, 200)
  for (const member of ['token_endpoint', 'revocation_endpoint', 'introspection_endpoint']) {
    const res = await fetch(doc[member] as string, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' })
    t.not(res.status, 404, `${member} exists`)
    await res.body?.cancel()
  }
  for (const member of ['authorization_endpoint', 'userinfo_endpoint', 'end_session_endpoint']) {
    const res = await fetch(doc[member] as string, { redirect: 'manual' })
    t.not(res.status, 404, `${member} exists`)
    await res.body?.cancel()
  }
})

t.test('a new permission appears in scopes_supported', async t => {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/permissions',
    headers: { authorization: `Bearer ${admin.access_token}` },
    payload: { name: 'reports:export', description: 'export reports' }
  })
  t.equal(res.statusCode, 201)
  for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']) {
    const doc = await (await fetch(issuer + path)).json() as { scopes_supported: string[] }
    t.ok(doc.scopes_supported.includes('reports:export'), path)
  }
})

t.test('a warm document costs no SQL', async t => {
  let queries = 0
  const db = await createTestDatabase(t, { onQuery: () => { queries++ } })
  const other = await build(t, {}, db)
  const get = (url: string) => other.inject({ method: 'GET', url })
  t.equal((await get('/.well-known/openid-configuration')).statusCode, 200)
  const before = queries
  for (const url of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']) {
    t.equal((await get(url)).statusCode, 200)
  }
  t.equal(queries, before)
  await get('/readyz')
  t.ok(queries > before, 'queries are counted')
})

t.test('openid-client discovers Warden by its issuer', async t => {
  for (const algorithm of ['oidc', 'oauth2'] as const) {
    const config = await client.discovery(new URL(issuer), rs.id, rs.clientSecret, undefined, { ...insecure, algorithm })
    const meta = config.serverMetadata()
    t.equal(meta.issuer, issuer, `${algorithm}: issuer`)
    t.equal(meta.token_endpoint, `${issuer}/v1/auth/token`)
    t.equal(meta.introspection_endpoint, `${issuer}/v1/auth/introspect`)
    t.equal(meta.revocation_endpoint, `${issuer}/v1/auth/revoke`)
    t.equal(meta.userinfo_endpoint, `${issuer}/v1/auth/userinfo`, `${algorithm}: userinfo`)
    t.equal(meta.authorization_endpoint, `${issuer}/v1/auth/authorize`, `${algorithm}: the authorization endpoint`)
  }
})

for (const [method, auth] of [
  ['client_secret_basic', client.ClientSecretBasic],
  ['client_secret_post', client.ClientSecretPost]
] as const) {
  t.test(`client_credentials with ${method}, introspection and revocation`, async t => {
    const config = await client.discovery(new URL(issuer), rs.id, rs.clientSecret, auth(rs.clientSecret), insecure)
    const tokens = await client.clientCredentialsGrant(config, { scope: 'posts:read' })
    t.equal(tokens.token_type.toLowerCase(), 'bearer')
    t.equal(tokens.scope, 'posts:read')
    t.ok((tokens.expiresIn() ?? 0) > 0)
    t.equal(tokens.refresh_token, undefined)

    const active = await client.tokenIntrospection(config, tokens.access_token)
    t.match(active, { active: true, sub: rs.id, client_id: rs.id, scope: 'posts:read', tid: rs.tenantId, iss: issuer, token_type: 'access_token' })

    await client.tokenRevocation(config, tokens.access_token)
    t.same(await client.tokenIntrospection(config, tokens.access_token), { active: false }, 'revoked: inactive')
    // revocation of an unknown token is still a success (RFC 7009 section 2.2)
    await client.tokenRevocation(config, 'not-a-token')
  })
}

t.test('a user\'s tokens, revoked through openid-client, introspect inactive', async t => {
  const config = await client.discovery(new URL(issuer), rs.id, rs.clientSecret, client.ClientSecretBasic(rs.clientSecret), insecure)
  const user = await loginAdmin(app)
  t.equal((await client.tokenIntrospection(config, user.refresh_token!)).active, true)
  t.equal((await client.tokenIntrospection(config, user.access_token)).active, true)
  await client.tokenRevocation(config, user.refresh_token!, { token_type_hint: 'refresh_token' })
  t.same(await client.tokenIntrospection(config, user.refresh_token!), { active: false })
  t.same(await client.tokenIntrospection(config, user.access_token), { active: false }, 'the session ended with it')

  const other = await loginAdmin(app)
  // a wrong hint does not matter
  await client.tokenRevocation(config, other.access_token, { token_type_hint: 'refresh_token' })
  t.same(await client.tokenIntrospection(config, other.access_token), { active: false })
})

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { EffectiveSet } from '../authz/index.js'
import type { DbOrTx } from '../db/client.js'
import { findClient, type ClientRow, type ClientType, type GrantType } from '../repositories/clients.js'
import { InvalidClient, InvalidRequest, InvalidScope, UnauthorizedClient, UnsupportedGrantType } from '../errors.js'

/**
 * Service clients (service accounts): secrets, client authentication (RFC 6749 section 2.3.1)
 * and the client_credentials grant.
 */

export { findClient, type ClientRow, type ClientType, type GrantType } from '../repositories/clients.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** 256 random bits, base64url; shown once. */
export function newClientSecret (): { secret: string, hash: string } {
  const secret = randomBytes(32).toString('base64url')
  return { secret, hash: hashClientSecret(secret) }
}

/**
 * SHA-256 is enough for a 256-bit random secret: no dictionary to try, and a slow hash would
 * only make every client authentication slow.
 */
export function hashClientSecret (secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('base64url')
}

/** Compares in constant time, whatever the stored value looks like. */
export function secretMatches (storedHash: string, secret: string): boolean {
  const given = createHash('sha256').update(secret, 'utf8').digest()
  const stored = Buffer.from(storedHash, 'base64url')
  if (stored.length !== given.length) return false
  return timingSafeEqual(stored, given)
}

/** Used when the client does not exist, so that an unknown id costs the same as a wrong secret. */
const DUMMY_HASH = hashClientSecret(randomBytes(32).toString('base64url'))

export interface ClientCredentials {
  id: string
  secret: string | null
  method: 'client_secret_basic' | 'client_secret_post'
}

interface CredentialFields { client_id?: string, client_secret?: string }

/** RFC 6749 section 2.3.1: id and secret are form-urlencoded before they are joined with ':'. */
function formDecode (value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '))
  } catch {
    throw new InvalidClient('malformed client credentials')
  }
}

function basicCredentials (request: FastifyRequest): ClientCredentials | null {
  const header = request.headers.authorization
  if (header === undefined) return null
  const match = /^Basic +([A-Za-z0-9+/=_-]+) *$/i.exec(header)
  if (match === null) return null
  const decoded = Buffer.from(match[1], 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon === -1) throw new InvalidClient('malformed client credentials')
  return { id: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)), method: 'client_secret_basic' }
}

/**
 * The client credentials of a request: HTTP Basic or `client_id`/`client_secret` in the body,
 * null when none are presented. Using both methods at once is refused (RFC 6749 section 2.3),
 * except a body `client_id` that repeats the Basic one, which some clients send.
 */
export function presentedClientCredentials (request: FastifyRequest, body: CredentialFields): ClientCredentials | null {
  const basic = basicCredentials(request)
  if (basic !== null) {
    if (body.client_secret !== undefined || (body.client_id !== undefined && body.client_id !== basic.id)) {
      throw new InvalidRequest('use one client authentication method, not several')
    }
    return basic
  }
  if (body.client_id === undefined || body.client_id === '') return null
  return { id: body.client_id, secret: body.client_secret ?? null, method: 'client_secret_post' }
}

/** Whether the client has a secret to authenticate with: a public client never does. */
export function isConfidential (client: Pick<ClientRow, 'type' | 'secretHash'>): client is Pick<ClientRow, 'type'> & { secretHash: string } {
  return client.type === 'confidential' && client.secretHash !== null
}

/**
 * Whether the client is registered for the grant. `client_credentials` also needs a confidential
 * client (a public client cannot authenticate); a grant not in `grantTypes` is RFC 6749
 * section 5.2 `unauthorized_client`.
 */
export function clientAllowsGrant (client: Pick<ClientRow, 'type' | 'secretHash' | 'grantTypes'>, grant: GrantType): boolean {
  if (!client.grantTypes.includes(grant)) return false
  return grant !== 'client_credentials' || isConfidential(client)
}

/**
 * The client if the credentials are right; null for an unknown client, a wrong secret and a
 * public client (which has no secret to present) alike, each at the cost of one hash comparison.
 */
export async function authenticateClient (db: DbOrTx, credentials: ClientCredentials): Promise<ClientRow | null> {
  const row = await findClient(db, credentials.id)
  const confidential = row !== null && isConfidential(row)
  const ok = secretMatches(confidential ? row.secretHash! : DUMMY_HASH, credentials.secret ?? '')
  return confidential && ok && credentials.secret !== null ? row : null
}

/**
 * Client authentication where it is required: 401 invalid_client (one answer for an unknown
 * client, a wrong secret and no credentials at all), audited.
 */
export async function requireClient (app: FastifyInstance, request: FastifyRequest, body: CredentialFields): Promise<ClientRow> {
  const credentials = presentedClientCredentials(request, body)
  if (credentials === null) throw new InvalidClient('client authentication is required')
  const client = await authenticateClient(app.db, credentials)
  if (client === null) {
    app.audit.record(request, {
      action: 'auth.client',
      outcome: 'failure',
      targetType: 'client',
      targetId: UUID.test(credentials.id) ? credentials.id.toLowerCase() : null,
      detail: 'invalid client credentials'
    })
    throw new InvalidClient('client authentication failed')
  }
  return client
}

/**
 * Client authentication where it is optional (revocation): checked when presented. A bare
 * `client_id` that names no registered client, or a registered public client, is a public client
 * naming itself, which RFC 7009 allows (null: nothing was authenticated); a confidential client
 * must authenticate.
 */
export async function optionalClient (app: FastifyInstance, request: FastifyRequest, body: CredentialFields): Promise<ClientRow | null> {
  const credentials = presentedClientCredentials(request, body)
  if (credentials === null) return null
  if (credentials.secret === null) {
    const row = await findClient(app.db, credentials.id)
    if (row === null || !isConfidential(row)) return null
  }
  return requireClient(app, request, body)
}

/**
 * The password grant is for Warden's own first-party clients; a registered service client that
 * tries it is refused, whether or not its secret is right (RFC 6749 section 4.3 "the
 * authorization server should take special care when enabling this grant type").
 */
export async function refuseServiceClient (app: FastifyInstance, request: FastifyRequest, body: CredentialFields): Promise<void> {
  const credentials = presentedClientCredentials(request, body)
  if (credentials === null) return
  const client = await findClient(app.db, credentials.id)
  if (client === null) return
  app.audit.record(request, { action: 'auth.login', outcome: 'denied', targetType: 'client', targetId: client.id, tenantId: client.tenantId, detail: 'password grant refused for a service client' })
  throw new UnsupportedGrantType('service clients use the client_credentials grant')
}

const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/

/**
 * The client_credentials grant (RFC 6749 section 4.4): an access token whose subject is the
 * client, in the client's tenant, without a session and without a refresh token. A requested
 * scope must be a subset of the client's scopes.
 */
export async function clientCredentialsGrant (
  app: FastifyInstance,
  request: FastifyRequest,
  body: CredentialFields & { scope?: string },
  reply: FastifyReply
) {
  const client = await requireClient(app, request, body)
  if (!clientAllowsGrant(client, 'client_credentials')) {
    app.audit.record(request, { action: 'auth.client_token', outcome: 'denied', targetType: 'client', targetId: client.id, tenantId: client.tenantId, detail: 'client_credentials is not among the client\'s grant types' })
    throw new UnauthorizedClient('this client is not registered for the client_credentials grant')
  }
  const granted = EffectiveSet.fromPermissions(client.scopes)
  let scopes = client.scopes
  if (body.scope !== undefined && body.scope.trim() !== '') {
    const requested = [...new Set(body.scope.split(' ').filter(Boolean))]
    if (requested.length > 200 || requested.some(s => !SCOPE_TOKEN.test(s))) throw new InvalidScope('malformed scope')
    const refused = requested.filter(s => !granted.holds(s))
    if (refused.length > 0) throw new InvalidScope(`not granted to this client: ${refused.join(' ').slice(0, 200)}`)
    scopes = requested
  }
  const access = app.tokens.signAccessToken({ sub: client.id, tid: client.tenantId, scope: scopes, clientId: client.id, clientVersion: client.tokenVersion })
  app.audit.record(request, { action: 'auth.client_token', outcome: 'success', targetType: 'client', targetId: client.id, tenantId: client.tenantId })
  reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
  return { access_token: access.token, token_type: 'Bearer' as const, expires_in: access.expiresIn, scope: scopes.join(' ') }
}

/** The public view of a client: never the secret or its hash. */
export function clientView (row: ClientRow) {
  return {
    id: row.id,
    name: row.name,
    type: row.type as ClientType,
    scopes: row.scopes,
    redirectUris: row.redirectUris,
    postLogoutRedirectUris: row.postLogoutRedirectUris,
    grantTypes: row.grantTypes as GrantType[],
    firstParty: row.firstParty,
    tenantId: row.tenantId,
    createdBy: row.createdBy,
    createdAt: row.createdAt.toISOString(),
    secretRotatedAt: row.secretRotatedAt?.toISOString() ?? null
  }
}

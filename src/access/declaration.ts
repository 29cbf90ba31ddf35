import type { FastifyRequest } from 'fastify'
import { isValidPermissionName } from '../authz/permissions.js'

/**
 * Who is calling and what a route asks of them: the verified principal, the access
 * declaration every route carries in its config, and the boot check that refuses a route
 * without one. Shared by Warden's own app (plugins/authn.ts, plugins/authz.ts) and the
 * verifier other services embed (`warden/fastify`), so both read declarations alike.
 */

/** A verified access token's caller: a user (with a session) or a client (service account). */
export interface Principal {
  sub: string
  kind: 'user' | 'client'
  tid: string
  sid: string | null
  scopes: readonly string[]
  scope: string
  jti: string
  iat: number
  exp: number
  clientId: string | null
  /** client tokens: the client's secret generation when issued (`cver`); rotation bumps it */
  clientVersion: number | null
  /** how the user authenticated (RFC 8176 `amr`: `pwd`, `otp`); empty for clients and older tokens */
  amr: readonly string[]
}

const NO_AMR: readonly string[] = Object.freeze([])

/** The `amr` claim as the principal holds it: the strings of an array claim, frozen; none otherwise. */
export function amrOf (claim: unknown): readonly string[] {
  if (!Array.isArray(claim) || claim.length === 0) return NO_AMR
  return Object.freeze(claim.filter((v): v is string => typeof v === 'string').slice(0, 10))
}

/** All of these permissions, or any of `anyOf`. */
export type PermissionDeclaration = string[] | { anyOf: string[] }

declare module 'fastify' {
  interface FastifyContextConfig {
    /** no principal needed */
    public?: boolean
    /** any valid principal */
    authenticated?: boolean
    /** all of these permissions, or any of `anyOf` (`*` and `resource:*` cover them) */
    permissions?: PermissionDeclaration
    /** which principals may call; both when unset */
    principal?: 'user' | 'client'
  }
  interface FastifyRequest {
    /** the verified caller; null on public routes */
    principal: Principal | null
  }
}

/** A route's access declaration is missing, ambiguous or names something that is no permission. */
export class AccessDeclarationError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'AccessDeclarationError'
  }
}

/** What a route asks of its caller, read from its config at boot. */
export type RouteAccess =
  | { kind: 'public' }
  | { kind: 'authenticated', principal?: 'user' | 'client' }
  | { kind: 'permissions', declaration: PermissionDeclaration, names: string[], anyOf: boolean, principal?: 'user' | 'client' }

interface DeclaringConfig {
  public?: boolean
  authenticated?: boolean
  permissions?: PermissionDeclaration
  principal?: 'user' | 'client'
}

/**
 * Deny by default: a route must declare exactly one of `public`, `authenticated` and
 * `permissions`, and permissions must be well-formed names; anything else fails the boot.
 * @param where the route, e.g. `GET /v1/users`, for the error message
 */
export function routeAccess (config: DeclaringConfig | undefined, where: string): RouteAccess {
  const c = config ?? {}
  const declared = [c.public === true, c.authenticated === true, c.permissions !== undefined].filter(Boolean).length
  if (declared !== 1) {
    throw new AccessDeclarationError(`route ${where} must declare exactly one of config.public, config.authenticated, config.permissions`)
  }
  if (c.public === true) return { kind: 'public' }
  if (c.authenticated === true) return { kind: 'authenticated', principal: c.principal }
  const declaration = c.permissions!
  const anyOf = !Array.isArray(declaration)
  const names: unknown = anyOf ? (declaration as { anyOf?: unknown } | null)?.anyOf : declaration
  if (!Array.isArray(names) || names.length === 0) {
    throw new AccessDeclarationError(`route ${where}: config.permissions must name at least one permission`)
  }
  for (const name of names) {
    if (typeof name !== 'string' || !isValidPermissionName(name)) {
      throw new AccessDeclarationError(`route ${where}: ${JSON.stringify(name)} is not a permission name (resource:action)`)
    }
  }
  return { kind: 'permissions', declaration, names: names as string[], anyOf, principal: c.principal }
}

/** `Authorization: Bearer <token>` (RFC 6750 section 2.1, b64token). */
export const BEARER = /^Bearer +([A-Za-z0-9\-_.~+/]+=*) *$/i

/** The raw bearer token of an Authorization header value, or null. */
export function bearerOf (header: string | undefined): string | null {
  if (header === undefined) return null
  const match = BEARER.exec(header)
  return match ? match[1] : null
}

/** The raw bearer token of a request, or null. Tokens in the query string are never read. */
export function bearerToken (request: FastifyRequest): string | null {
  return bearerOf(request.headers.authorization)
}

import { randomBytes, timingSafeEqual } from 'node:crypto'
import { join } from 'node:path'
import { PACKAGE_ROOT } from '../lib/package-root.js'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Eta } from 'eta'

/**
 * Server-rendered pages (sign-in, consent, messages): Eta templates in views/, escaped by
 * default (`<%= %>`), no client JavaScript. Every page carries a strict Content-Security-Policy
 * (no script at all, styles from Warden only), frame protection and no-store; forms carry a
 * CSRF token (a double-submit cookie that cross-site pages can neither read nor set: `__Host-`).
 */

export const SESSION_COOKIE = '__Host-warden_session'
export const CSRF_COOKIE = '__Host-warden_csrf'
/** how long a browser stays signed in at Warden */
export const BROWSER_SESSION_SECONDS = 8 * 3600

const views = join(PACKAGE_ROOT, 'views')
const eta = new Eta({ views, autoEscape: true, cache: true, autoTrim: false })

const CSRF_FORMAT = /^[A-Za-z0-9_-]{43}$/

/**
 * The page's CSRF token: the browser's CSRF cookie, set when missing. `__Host-` cookies are
 * Secure, host-only and Path=/, so neither another site nor a sibling subdomain can plant one.
 */
export function csrfToken (request: FastifyRequest, reply: FastifyReply): string {
  const existing = request.cookies[CSRF_COOKIE]
  if (existing !== undefined && CSRF_FORMAT.test(existing)) return existing
  const token = randomBytes(32).toString('base64url')
  reply.setCookie(CSRF_COOKIE, token, { httpOnly: true, secure: true, sameSite: 'strict', path: '/' })
  // a second page rendered in the same request reads it back
  request.cookies[CSRF_COOKIE] = token
  return token
}

/** Whether the form's token is the browser's CSRF cookie. */
export function csrfValid (request: FastifyRequest, field: unknown): boolean {
  const cookie = request.cookies[CSRF_COOKIE]
  if (typeof field !== 'string' || cookie === undefined || !CSRF_FORMAT.test(cookie) || field.length !== cookie.length) return false
  return timingSafeEqual(Buffer.from(field), Buffer.from(cookie))
}

/**
 * Sends a page. `formTargets`: origins a form on it may end up at (CSP form-action covers the
 * redirects after a submission, so the client's redirect URI must be listed).
 */
export function sendPage (reply: FastifyReply, status: number, view: string, data: Record<string, unknown>, formTargets: string[] = []): FastifyReply {
  const html = eta.render(view, data)
  const formAction = ["'self'", ...formTargets].join(' ')
  return reply.code(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('content-security-policy', `default-src 'none'; style-src 'self'; img-src 'self' data:; form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`)
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'no-referrer')
    .header('cache-control', 'no-store')
    .send(html)
}

/** A page with a title and a message (errors, signed out, confirmations). */
export function sendMessage (reply: FastifyReply, status: number, title: string, message: string, extra: Record<string, unknown> = {}): FastifyReply {
  return sendPage(reply, status, 'message', { title, message, alert: status >= 400, form: null, ...extra })
}

/** The origin of a URI, for CSP form-action. */
export const originOf = (uri: string) => new URL(uri).origin

import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { PACKAGE_ROOT } from '../../lib/package-root.js'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { BROWSER_SESSION_SECONDS, csrfToken, csrfValid, originOf, sendMessage, sendPage, SESSION_COOKIE } from '../../browser/pages.js'
import { browserSessionOf, continueAuthorization, parseOrAnswer, redirectError } from '../../oauth/flow.js'
import type { AuthorizationRequest } from '../../oauth/authorization-request.js'

const STYLESHEET = readFileSync(join(PACKAGE_ROOT, 'assets', 'warden.css'), 'utf8')

const Field = (maxLength: number) => Type.Optional(Type.String({ maxLength }))
const SignInForm = Type.Object({
  csrf: Field(64),
  query: Field(8192),
  username: Field(320),
  password: Field(1024),
  otp: Field(64),
  challenge: Field(64)
}, { additionalProperties: false })
const ConsentForm = Type.Object({
  csrf: Field(64),
  query: Field(8192),
  decision: Field(16)
}, { additionalProperties: false })

/** The carried authorize parameters as a query object (a repeated name becomes an array, as in a URL). */
function queryOf (carried: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const [name, value] of new URLSearchParams(carried)) {
    const seen = out[name]
    out[name] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value]
  }
  return out
}

/**
 * The browser pages of sign-in (API.md "Browser sign-in"): GET/POST /signin and POST /consent,
 * server-rendered, working without JavaScript; their stylesheet.
 */
const browserPages: FastifyPluginAsyncTypebox = async app => {
  const hidden = { hide: true }

  app.get('/assets/warden.css', { config: { public: true }, schema: hidden }, async (_request, reply) => {
    return reply.header('content-type', 'text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(STYLESHEET)
  })

  /** The request a form carries, parsed; null when there is none (a sign-in of its own) or it was answered. */
  async function carriedRequest (carried: string | undefined, reply: FastifyReply): Promise<AuthorizationRequest | null | 'answered'> {
    if (carried === undefined || carried === '') return null
    const ar = await parseOrAnswer(app, queryOf(carried), reply)
    return ar ?? 'answered'
  }

  function signInPage (request: FastifyRequest, reply: FastifyReply, status: number, ar: AuthorizationRequest | null, fields: { username?: string, error?: string, challenge?: string }) {
    return sendPage(reply, status, 'signin', {
      title: fields.challenge === undefined ? 'Sign in' : 'Two-factor authentication',
      challenge: fields.challenge ?? null,
      clientName: ar?.client.name ?? null,
      username: fields.username ?? ar?.loginHint ?? '',
      error: fields.error ?? null,
      csrf: csrfToken(request, reply),
      query: ar?.query ?? ''
    }, ar === null ? [] : [originOf(ar.redirectUri)])
  }

  app.get('/signin', {
    config: { public: true },
    schema: { ...hidden, querystring: Type.Object({ request: Field(8192) }) }
  }, async (request, reply) => {
    const ar = await carriedRequest(request.query.request, reply)
    if (ar === 'answered') return reply
    return signInPage(request, reply, 200, ar, {})
  })

  app.post('/signin', {
    config: { public: true },
    schema: { ...hidden, body: SignInForm }
  }, async (request, reply) => {
    const form = request.body
    if (!csrfValid(request, form.csrf)) {
      return sendMessage(reply, 403, 'Please try again', 'This sign-in form has expired or did not come from Warden. Go back, reload the page and sign in again.')
    }
    const ar = await carriedRequest(form.query, reply)
    if (ar === 'answered') return reply
    const signedIn = await (form.challenge === undefined ? passwordStep(request, reply, ar, form) : secondStep(request, reply, ar, form.challenge, form.otp ?? ''))
    if (signedIn === null) return reply
    const { session, token } = await app.browserRepository.createSession({ ...signedIn, authTime: new Date(), ttlSeconds: BROWSER_SESSION_SECONDS })
    reply.setCookie(SESSION_COOKIE, token, { httpOnly: true, secure: true, sameSite: 'lax', path: '/', maxAge: BROWSER_SESSION_SECONDS })
    app.audit.record(request, { action: 'auth.login', outcome: 'success', targetType: 'user', targetId: signedIn.userId, detail: 'browser sign-in' })
    if (ar === null) return sendMessage(reply, 200, 'Signed in', 'You are signed in to Warden. You can close this page.')
    return continueAuthorization(app, request, reply, ar, { browser: session, fresh: true, consented: false })
  })

  /** The page again after a refused step: 429 with Retry-After when throttled, 401 otherwise. */
  function refused (request: FastifyRequest, reply: FastifyReply, ar: AuthorizationRequest | null, checked: { reason: 'invalid' } | { reason: 'throttled', retryAfterSeconds: number }, fields: { username?: string, challenge?: string }, wrong: string) {
    if (checked.reason === 'throttled') {
      reply.header('retry-after', String(checked.retryAfterSeconds))
      return signInPage(request, reply, 429, ar, { ...fields, error: `Too many failed attempts. Try again in ${checked.retryAfterSeconds} seconds.` })
    }
    return signInPage(request, reply, 401, ar, { ...fields, error: wrong })
  }

  interface SignedIn { userId: string, credentialsVersion: number, amr: string[] }

  /** The password step: signed in, or (two-factor on) the code step's page; null when a page was sent. */
  async function passwordStep (request: FastifyRequest, reply: FastifyReply, ar: AuthorizationRequest | null, form: { username?: string, password?: string }): Promise<SignedIn | null> {
    const username = form.username?.trim() ?? ''
    if (username === '' || !form.password) {
      signInPage(request, reply, 400, ar, { username, error: 'Enter your username or e-mail and your password.' })
      return null
    }
    const checked = await app.login.verifyPassword(request, username, form.password)
    if (!checked.ok) {
      refused(request, reply, ar, checked, { username }, 'The username or password is not right.')
      return null
    }
    const { user } = checked
    if (checked.mfa) {
      // the form carries this challenge to the next step, never the password
      const challenge = await app.mfaRepository.createChallenge(user.id, user.credentialsVersion)
      signInPage(request, reply, 200, ar, { challenge })
      return null
    }
    return { userId: user.id, credentialsVersion: user.credentialsVersion, amr: ['pwd'] }
  }

  /** The TOTP (or recovery code) step; null when a page was sent. */
  async function secondStep (request: FastifyRequest, reply: FastifyReply, ar: AuthorizationRequest | null, challenge: string, code: string): Promise<SignedIn | null> {
    const pending = await app.mfaRepository.challenge(challenge)
    if (pending === null) {
      signInPage(request, reply, 400, ar, { error: 'The sign-in took too long. Please sign in again.' })
      return null
    }
    const checked = await app.login.verifySecondFactor(request, pending.userId, code)
    if (!checked.ok) {
      refused(request, reply, ar, checked, { challenge }, 'That code is not right, or was used already. Wait for the next code and try again.')
      return null
    }
    // one answer per challenge: a concurrent second answer finds it gone
    if (!await app.mfaRepository.endChallenge(challenge)) {
      signInPage(request, reply, 400, ar, { error: 'The sign-in took too long. Please sign in again.' })
      return null
    }
    await app.login.succeeded(request, pending.userId)
    return { userId: pending.userId, credentialsVersion: pending.credentialsVersion, amr: ['pwd', 'otp'] }
  }

  app.post('/consent', {
    config: { public: true },
    schema: { ...hidden, body: ConsentForm }
  }, async (request, reply) => {
    const form = request.body
    if (!csrfValid(request, form.csrf)) {
      return sendMessage(reply, 403, 'Please try again', 'This form has expired or did not come from Warden. Go back to the application and start again.')
    }
    const ar = await carriedRequest(form.query, reply)
    if (ar === 'answered') return reply
    if (ar === null) return sendMessage(reply, 400, 'Nothing to allow', 'This form belongs to no sign-in request.')
    if (form.decision !== 'allow' && form.decision !== 'deny') return sendMessage(reply, 400, 'Choose Allow or Deny', 'The form was sent without a decision.')
    const browser = await browserSessionOf(app, request)
    if (browser === null) return continueAuthorization(app, request, reply, ar, { browser: null, fresh: false, consented: false })
    if (form.decision === 'deny') {
      app.audit.record(request, { action: 'auth.consent', outcome: 'denied', targetType: 'client', targetId: ar.client.id, detail: `denied by ${browser.userId}` })
      return redirectError(app, reply, ar, 'access_denied', 'the user denied the request')
    }
    app.audit.record(request, { action: 'auth.consent', outcome: 'success', targetType: 'client', targetId: ar.client.id, detail: `allowed by ${browser.userId}` })
    return continueAuthorization(app, request, reply, ar, { browser, fresh: false, consented: true })
  })
}

export default browserPages

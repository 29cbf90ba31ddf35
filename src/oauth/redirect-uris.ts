/**
 * Redirect URI rules (API.md "Browser sign-in", RFC 9700 section 2.1, RFC 8252 sections 7.3
 * and 8.3): a registered URI is absolute, has no fragment and no user information, and uses
 * https, except on the loopback interface, where http is allowed. A presented URI must equal a
 * registered one exactly, character for character; only a loopback URI's port may vary.
 */

export const REDIRECT_URI_MAX = 2000

/** `http://127.0.0.1`, `http://localhost` or `http://[::1]`, then the optional port, at the very start. */
const LOOPBACK = /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d{1,5})?(?=[/?]|$)/

/** Why the URI may not be registered, or null when it may. */
export function redirectUriProblem (uri: string): string | null {
  if (uri.length === 0 || uri.length > REDIRECT_URI_MAX) return `must be 1 to ${REDIRECT_URI_MAX} characters`
  // a URL parser forgives what an exact comparison would then trip over
  // eslint-disable-next-line no-control-regex -- control characters are exactly what it refuses
  if (/[\s\x00-\x1f\x7f\\]/.test(uri)) return 'must not contain white space, control characters or backslashes'
  if (uri.includes('#')) return 'must not have a fragment'
  let url: URL
  try {
    url = new URL(uri)
  } catch {
    return 'must be an absolute URI'
  }
  if (url.username !== '' || url.password !== '') return 'must not carry user information'
  if (url.protocol === 'https:') {
    if (url.hostname === '') return 'must name a host'
    if (!uri.toLowerCase().startsWith('https://')) return 'must be an absolute URI'
    return null
  }
  if (url.protocol === 'http:' && LOOPBACK.test(uri)) return null
  return 'must use https (http only on the loopback interface: 127.0.0.1, localhost, [::1])'
}

/** The URI without its loopback port, or null when it is no loopback URI. */
function withoutLoopbackPort (uri: string): string | null {
  const match = LOOPBACK.exec(uri)
  if (match === null) return null
  return `http://${match[1]}${uri.slice(match[0].length)}`
}

/** Whether `presented` is one of `registered`: exactly, or a registered loopback URI on another port. */
export function redirectUriRegistered (registered: readonly string[], presented: string): boolean {
  if (registered.includes(presented)) return true
  const bare = withoutLoopbackPort(presented)
  if (bare === null) return false
  return registered.some(r => withoutLoopbackPort(r) === bare)
}

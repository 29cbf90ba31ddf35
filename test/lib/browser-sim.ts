/**
 * A browser, as far as the sign-in flow needs one, for tests that drive it with fetch: a cookie
 * jar (Set-Cookie in, Cookie out; one host), manual redirects, and the hidden fields of a page's
 * form. Pages are Warden's escaped HTML, so the fields are read with a pattern, not a DOM.
 */
export class BrowserSim {
  readonly cookies = new Map<string, string>()

  cookieHeader (): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ')
  }

  take (res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';').map(s => s.trim())
      const eq = pair.indexOf('=')
      const name = pair.slice(0, eq)
      const value = pair.slice(eq + 1)
      const expired = attributes.some(a => /^max-age=0$/i.test(a) || (/^expires=/i.test(a) && Date.parse(a.slice(8)) <= Date.now()))
      if (value === '' || expired) this.cookies.delete(name)
      else this.cookies.set(name, value)
    }
  }

  /** One request, redirects not followed. */
  async go (url: string | URL, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers)
    if (this.cookies.size > 0) headers.set('cookie', this.cookieHeader())
    const res = await fetch(url, { ...init, headers, redirect: 'manual' })
    this.take(res)
    return res
  }

  /** Submits a form: its fields as application/x-www-form-urlencoded. */
  async submit (url: string | URL, fields: Record<string, string>): Promise<Response> {
    return this.go(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString()
    })
  }
}

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'", '&#x27;': "'" }
const unescapeHtml = (s: string) => s.replace(/&(amp|lt|gt|quot|#39|#x27);/g, m => ENTITIES[m])

/** The hidden inputs of the page's forms, by name. */
export function hiddenFields (html: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) out[unescapeHtml(m[1])] = unescapeHtml(m[2])
  return out
}

/** The form's action attribute. */
export function formAction (html: string): string | null {
  const m = /<form method="post" action="([^"]+)"/.exec(html)
  return m === null ? null : unescapeHtml(m[1])
}

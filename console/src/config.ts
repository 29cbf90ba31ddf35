/**
 * What Warden tells the console about itself, in a `<meta name="warden-console">` of the page it
 * serves (src/routes/console): its issuer and the console's client_id. Read once; no inline script.
 */
export interface ConsoleConfig {
  issuer: string
  clientId: string
}

function read (): ConsoleConfig {
  const meta = document.querySelector<HTMLMetaElement>('meta[name="warden-console"]')
  if (meta !== null) {
    const parsed = JSON.parse(meta.content) as Partial<ConsoleConfig>
    if (typeof parsed.issuer === 'string' && typeof parsed.clientId === 'string') return { issuer: parsed.issuer.replace(/\/$/, ''), clientId: parsed.clientId }
  }
  throw new Error('this page was not served by Warden (no warden-console configuration)')
}

export const config: ConsoleConfig = read()
/** the console's registered redirect URI (the seeded warden-console client's only one) */
export const redirectUri = `${config.issuer}/console/callback`
export const postLogoutRedirectUri = `${config.issuer}/console/`

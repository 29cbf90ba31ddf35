import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { extname, join } from 'node:path'
import type { FastifyPluginAsync, FastifyReply } from 'fastify'
import { BUILT_IN_CLIENTS } from '../../db/seed.js'
import { PACKAGE_ROOT } from '../../lib/package-root.js'

/** Where `npm run build` (vite build, console/vite.config.ts) puts the console. */
export const CONSOLE_DIR = join(PACKAGE_ROOT, 'dist', 'console')

/**
 * The console's pages: scripts and styles from Warden only, no inline script or style
 * attribute, API calls and the silent sign-in frame to Warden only. The page may be framed by
 * Warden itself (the silent sign-in's callback runs in a hidden frame of the console), by no one else.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "frame-src 'self'",
  "frame-ancestors 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "object-src 'none'"
].join('; ')

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json'
}

interface Built { index: string, assets: Map<string, { type: string, body: Buffer }> }

/** The built files, read once at start (a few hundred kB): no file system access per request, no path from the URL. */
function readBuild (issuer: string): Built | null {
  const indexFile = join(CONSOLE_DIR, 'index.html')
  if (!existsSync(indexFile)) return null
  const meta = JSON.stringify({ issuer, clientId: BUILT_IN_CLIENTS.console.id }).replace(/&/g, '&amp;').replace(/'/g, '&#39;').replace(/</g, '&lt;')
  const index = readFileSync(indexFile, 'utf8').replace('<head>', `<head>\n    <meta name="warden-console" content='${meta}'>`)
  const assets = new Map<string, { type: string, body: Buffer }>()
  const dir = join(CONSOLE_DIR, 'assets')
  if (existsSync(dir)) {
    for (const name of readdirSync(dir)) {
      const type = TYPES[extname(name)]
      if (type !== undefined) assets.set(name, { type, body: readFileSync(join(dir, name)) })
    }
  }
  return { index, assets }
}

/**
 * GET /console and everything under it (API.md "Admin console"): the single-page app Vite built
 * into dist/console. Hashed assets are immutable; every other path is the app's page (it routes
 * in the browser: /console/users, /console/callback, ...).
 */
const consoleRoutes: FastifyPluginAsync = async app => {
  const built = readBuild(app.config.issuer)
  const page = (reply: FastifyReply) => {
    if (built === null) {
      return reply.code(503).type('text/plain; charset=utf-8').header('cache-control', 'no-store')
        .send('The console is not built: run `npm run build` (npm start does it).')
    }
    return reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', CONSOLE_CSP)
      .header('x-frame-options', 'SAMEORIGIN')
      .header('referrer-policy', 'no-referrer')
      .header('cross-origin-opener-policy', 'same-origin')
      .header('cache-control', 'no-cache')
      .send(built.index)
  }
  const hidden = { hide: true }
  // (with the router's ignoreTrailingSlash, this is /console/ too)
  app.get('/console', { config: { public: true }, schema: hidden }, async (_request, reply) => page(reply))
  app.get('/console/assets/:file', { config: { public: true }, schema: hidden }, async (request, reply) => {
    const file = (request.params as { file: string }).file
    const asset = built?.assets.get(file)
    if (asset === undefined) return reply.code(404).type('text/plain; charset=utf-8').send('Not found')
    return reply.type(asset.type).header('cache-control', 'public, max-age=31536000, immutable').send(asset.body)
  })
  app.get('/console/*', { config: { public: true }, schema: hidden }, async (_request, reply) => page(reply))
}

export default consoleRoutes

import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type BrowserContext, type Page } from 'playwright-core'

/**
 * Debian's Chromium driven by playwright-core (`npx playwright install` cannot download here):
 * headless, a fresh profile per launch, the flags of the developers' guide. CI installs the
 * package (.ci/run), so there its absence fails the test; elsewhere it skips.
 */
export const CHROMIUM = '/usr/bin/chromium'
export const chromiumSkip = !existsSync(CHROMIUM) && process.env.CI !== 'true' ? 'chromium is not installed' : false

/** Where the browser tests put their screenshots (CI keeps them as artifacts). */
export const SCREENSHOTS = new URL('../../artifacts/screenshots/', import.meta.url)
export const screenshot = (name: string) => new URL(name, SCREENSHOTS).pathname

interface Teardown { teardown: (fn: () => unknown) => void }

export async function launchChromium (t: Teardown, viewport = { width: 900, height: 760 }): Promise<{ context: BrowserContext, page: Page }> {
  await mkdir(SCREENSHOTS, { recursive: true })
  const profile = await mkdtemp(join(tmpdir(), 'warden-chromium-'))
  t.teardown(() => rm(profile, { recursive: true, force: true }))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
  })
  t.teardown(() => context.close())
  return { context, page: context.pages()[0] ?? await context.newPage() }
}

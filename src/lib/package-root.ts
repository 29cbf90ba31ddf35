import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The folder of Warden's package (where views/ and assets/ are), found from this module up:
 * src/lib when run from source, dist/lib after a build, and the bench's compiled copy under
 * node_modules/.cache, whose tree has no views/ of its own.
 */
function findRoot (): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'views'))) return dir
    const parent = dirname(dir)
    if (parent === dir) throw new Error('Warden\'s package folder (with views/) not found above ' + fileURLToPath(import.meta.url))
    dir = parent
  }
}

export const PACKAGE_ROOT = findRoot()

/**
 * Regenerates src/client/openapi.ts (the types of `warden/client`) from the live OpenAPI
 * document with openapi-typescript: `npm run client:generate` after a route or schema change.
 * test/client.test.ts fails while the committed file differs from what this writes.
 */
import { writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { clientTypes } from './client-types.js'

const target = fileURLToPath(new URL('../src/client/openapi.ts', import.meta.url))
await writeFile(target, await clientTypes())
process.stdout.write(`wrote ${target}\n`)

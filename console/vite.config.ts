import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'
import react from '@vitejs/plugin-react'

/**
 * The admin console's build (issue 14): a single-page app under /console, bundled into
 * dist/console, which Warden serves itself (src/routes/console). No inline script or style in
 * the output, so the pages' Content-Security-Policy can forbid them.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/console/',
  plugins: [react()],
  resolve: {
    alias: {
      'warden/client': fileURLToPath(new URL('../src/client/index.ts', import.meta.url)),
      'warden/condition-schema': fileURLToPath(new URL('../src/authz/condition-schema.ts', import.meta.url))
    }
  },
  build: {
    outDir: fileURLToPath(new URL('../dist/console', import.meta.url)),
    emptyOutDir: true,
    // modulepreload's polyfill is an inline script; every browser the console supports has modulepreload
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    chunkSizeWarningLimit: 400
  }
})

import neostandard from 'neostandard'

export default [
  ...neostandard({
    ts: true,
    ignores: ['dist/**', 'node_modules/**', 'drizzle/**', 'data/**', '.tap/**', 'src/client/openapi.ts', '.tmp/**', 'artifacts/**']
  }),
  {
    // the console (React): `void promise` marks an event handler's promise as handled on purpose,
    // and its handlers are named for what they do rather than `handleX`
    files: ['console/**/*.tsx', 'console/**/*.ts'],
    rules: { 'no-void': 'off', 'react/jsx-handler-names': 'off' }
  }
]

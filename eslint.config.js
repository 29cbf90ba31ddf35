import neostandard from 'neostandard'

export default neostandard({
  ts: true,
  ignores: ['dist/**', 'node_modules/**', 'drizzle/**', 'data/**', '.tap/**', 'src/client/openapi.ts', '.tmp/**']
})

import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.js'
import { ConfigError, loadConfig } from './config.js'
import { lowerThreadpoolPriority } from './lib/threadpool-priority.js'

let config
try {
  config = loadConfig(process.env)
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(err.message + '\n')
    process.exit(1)
  }
  throw err
}

const app = await buildApp(config)
const reniced = await lowerThreadpoolPriority(config.threadpoolNice)
if (reniced.length > 0) app.log.info({ threads: reniced.length, nice: config.threadpoolNice }, 'threadpool threads run at a lower priority than request handling')

closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
  if (err) app.log.error({ err }, 'closing after an error')
  else app.log.info({ signal }, 'closing')
  await app.close()
})

await app.listen({ host: config.host, port: config.port })

const seeded = app.seedResult
if (seeded.admin) {
  // Printed once, on the first start only, to the terminal and never to the log.
  const lines = [
    '',
    'Warden seeded a new database. First administrator:',
    `  email:    ${seeded.admin.email}`,
    `  username: ${seeded.admin.username}`,
    seeded.admin.password
      ? `  password: ${seeded.admin.password}   (generated; shown only this once)`
      : '  password: the one in WARDEN_ADMIN_PASSWORD',
    `Admin console: ${config.issuer}/console/   API docs: ${config.issuer}/docs`,
    ''
  ]
  process.stdout.write(lines.join('\n') + '\n')
} else {
  process.stdout.write(`Warden: admin console at ${config.issuer}/console/, API docs at ${config.issuer}/docs\n`)
}

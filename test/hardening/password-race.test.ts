import t from 'tap'
import { eq } from 'drizzle-orm'
import { build, bearer, newUser } from '../helper.js'
import { users } from '../../src/db/schema/index.js'

/**
 * A password change ends every session opened with the old password, including those of logins
 * that were being verified while it happened: before the fix, 8 of 20 such logins kept a
 * working 14-day session.
 */
const app = await build(t, { ARGON2_MAX_CONCURRENCY: '4' })

const tokenForm = (fields: Record<string, string>) => app.inject({
  method: 'POST',
  url: '/v1/auth/token',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  payload: new URLSearchParams(fields).toString()
})

t.test('logins racing a password change keep no working session', async t => {
  for (let round = 0; round < 3; round++) {
    const u = await newUser(app, 'race')
    const newPassword = `changed-${round}-and-long-enough`
    const logins = Array.from({ length: 20 }, (_, i) => new Promise(resolve => setTimeout(resolve, i * 8))
      .then(() => tokenForm({ grant_type: 'password', username: u.username, password: u.password })))
    const change = new Promise(resolve => setTimeout(resolve, 0)).then(() => app.inject({
      method: 'POST',
      url: '/v1/auth/me/password',
      headers: bearer(u.token),
      payload: { currentPassword: u.password, newPassword }
    }))
    const [changed, ...answers] = await Promise.all([change, ...logins])
    t.equal(changed.statusCode, 204, changed.body)
    const won = answers.filter(a => a.statusCode === 200)
    const refused = answers.filter(a => a.statusCode === 400 && a.json().error === 'invalid_grant')
    t.equal(won.length + refused.length, 20, `every login either got tokens or invalid_grant (${won.length} got tokens)`)
    for (const res of won) {
      const { access_token: access, refresh_token: refresh } = res.json()
      t.equal((await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(access) })).statusCode, 401, 'its access token is refused')
      const refreshed = await tokenForm({ grant_type: 'refresh_token', refresh_token: refresh })
      t.equal(refreshed.json().error, 'invalid_grant', 'its refresh token is dead')
    }
    const [row] = await app.db.select({ version: users.credentialsVersion }).from(users).where(eq(users.id, u.id))
    t.equal(row.version, 1, 'the change bumped the credentials version once')
    const fresh = await tokenForm({ grant_type: 'password', username: u.username, password: newPassword })
    t.equal(fresh.statusCode, 200, 'the new password works')
  }
})

import { api, call, type Schemas } from '../api'
import { PagedTable, usePaged } from '../components/Paged'
import { ErrorNote, Section, useAction, useLoad, when } from '../components/ui'

export function Account () {
  const me = useLoad(() => call(api.GET('/v1/auth/me')), [])
  const sessions = usePaged(cursor => call(api.GET('/v1/auth/sessions', { params: { query: { limit: 20, cursor } } })), [])
  const action = useAction()
  const end = (id: string) => action.run(async () => {
    await call(api.DELETE('/v1/auth/sessions/{id}', { params: { path: { id } } }))
    sessions.reload()
  })
  return (
    <>
      <h1>Your account</h1>
      <ErrorNote error={me.error} />
      {me.data !== undefined && (
        <Section title='Signed in as'>
          <dl className='facts'>
            <dt>User</dt><dd>{me.data.username} ({me.data.email})</dd>
            <dt>Tenant</dt><dd>{me.data.tenant.name} <code>{me.data.tenant.slug}</code></dd>
            <dt>Roles</dt><dd>{me.data.roles.join(', ')}</dd>
            <dt>Permissions here</dt><dd>{me.data.permissions.map(p => <code key={p} className='chip'>{p}</code>)}</dd>
          </dl>
        </Section>
      )}
      <Section title='Your sessions'>
        <PagedTable
          paged={sessions} label='Sessions'
          head={<tr><th scope='col'>Started</th><th scope='col'>Last used</th><th scope='col'>From</th><th scope='col'>Expires</th><th scope='col'><span className='sr-only'>Actions</span></th></tr>}
          row={(s: Schemas['Session']) => (
            <tr key={s.id}>
              <td>{when(s.createdAt)}{s.current && <span className='badge'>this one</span>}</td>
              <td>{when(s.lastUsedAt)}</td>
              <td>{s.ip ?? ''} <span className='small'>{s.userAgent ?? ''}</span></td>
              <td>{when(s.expiresAt)}</td>
              <td><button type='button' onClick={() => { void end(s.id) }}>End</button></td>
            </tr>
          )}
        />
        <ErrorNote error={action.error} />
      </Section>
    </>
  )
}

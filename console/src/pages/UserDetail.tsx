import { useState, type FormEvent } from 'react'
import { api, call, type Schemas } from '../api'
import { PagedTable, usePaged } from '../components/Paged'
import { ErrorNote, Field, Section, useAction, useLoad, when } from '../components/ui'
import { TenantLabel } from '../components/TenantLabel'
import { WhatIfConfirm, type WhatIfChange } from '../components/WhatIf'
import { Link } from '../router'

export function UserDetail ({ id }: { id: string }) {
  const user = useLoad(() => call(api.GET('/v1/users/{id}', { params: { path: { id } } })), [id])
  const action = useAction()
  const [notice, setNotice] = useState<string | null>(null)
  if (user.error !== null) return <><h1>User</h1><ErrorNote error={user.error} /></>
  if (user.data === undefined) return <p aria-busy='true'>Loading…</p>
  const u = user.data
  const setActive = (isActive: boolean) => action.run(async () => {
    await call(api.PATCH('/v1/users/{id}', { params: { path: { id } }, body: { isActive } }))
    setNotice(isActive ? 'Enabled.' : 'Disabled: every token and session of this user stopped working.')
    user.reload()
  })
  const resetMfa = () => action.run(async () => {
    await call(api.DELETE('/v1/users/{id}/mfa', { params: { path: { id } } }))
    setNotice('Two-factor authentication removed; the user\'s sessions were ended.')
  })
  return (
    <>
      <p className='crumbs'><Link to='/console/users'>Users</Link> /</p>
      <h1>{u.username}</h1>
      <Section title='Account'>
        <dl className='facts'>
          <dt>Email</dt><dd>{u.email}</dd>
          <dt>Name</dt><dd>{u.fullName ?? '—'}</dd>
          <dt>Status</dt><dd>{u.isActive ? 'active' : 'disabled'}</dd>
          <dt>Created</dt><dd>{when(u.createdAt)}</dd>
          <dt>Id</dt><dd><code>{u.id}</code></dd>
        </dl>
        <div className='actions'>
          {u.isActive
            ? <button type='button' className='danger' disabled={action.busy} onClick={() => { void setActive(false) }}>Disable (ends every session)</button>
            : <button type='button' disabled={action.busy} onClick={() => { void setActive(true) }}>Enable</button>}
          <button type='button' disabled={action.busy} onClick={() => { void resetMfa() }}>Reset two-factor</button>
        </div>
        {notice !== null && <p role='status'>{notice}</p>}
        <ErrorNote error={action.error} />
      </Section>
      <Sessions userId={id} />
      <Assignments userId={id} username={u.username} />
      <Effective userId={id} />
    </>
  )
}

function Assignments ({ userId, username }: { userId: string, username: string }) {
  const paged = usePaged(cursor => call(api.GET('/v1/users/{id}/roles', { params: { path: { id: userId }, query: { limit: 20, cursor } } })), [userId])
  const [form, setForm] = useState({ role: '', tenant: '', expiresAt: '' })
  const [pending, setPending] = useState<{ title: string, change: WhatIfChange, confirm: string, run: () => Promise<void> } | null>(null)
  const [error, setError] = useState<unknown>(null)
  const assign = (e: FormEvent) => {
    e.preventDefault()
    setError(null)
    let expiresAt: string | undefined
    if (form.expiresAt !== '') {
      const at = new Date(form.expiresAt)
      if (Number.isNaN(at.getTime())) { setError(new Error('the expiry is not a date')); return }
      expiresAt = at.toISOString()
    }
    const tenant = form.tenant.trim() === '' ? undefined : form.tenant.trim()
    const role = form.role.trim()
    setPending({
      title: `Assign ${role} to ${username}${tenant !== undefined ? ` in ${tenant}` : ''}?`,
      change: { kind: 'assign', role, user: userId, ...(tenant !== undefined ? { tenant } : {}), ...(expiresAt !== undefined ? { expiresAt } : {}) },
      confirm: 'Assign',
      run: async () => {
        await call(api.PUT('/v1/users/{id}/roles/{role}', { params: { path: { id: userId, role } }, body: { ...(tenant !== undefined ? { tenant } : {}), ...(expiresAt !== undefined ? { expiresAt } : {}) } }))
        setForm({ role: '', tenant: '', expiresAt: '' })
        paged.reload()
      }
    })
  }
  const unassign = (a: Schemas['Assignment']) => setPending({
    title: `Remove ${a.role} from ${username}${a.tenant !== null ? ' in this tenant' : ' (global)'}?`,
    change: { kind: 'unassign', role: a.role, user: userId, ...(a.tenant !== null ? { tenant: a.tenant } : {}) },
    confirm: 'Remove',
    run: async () => {
      await call(api.DELETE('/v1/users/{id}/roles/{role}', { params: { path: { id: userId, role: a.role }, query: a.tenant !== null ? { tenant: a.tenant } : {} } }))
      paged.reload()
    }
  })
  return (
    <Section title='Role assignments'>
      <PagedTable
        paged={paged} label='Role assignments' empty='No roles assigned.'
        head={<tr><th scope='col'>Role</th><th scope='col'>Tenant</th><th scope='col'>Expires</th><th scope='col'>Since</th><th scope='col'><span className='sr-only'>Actions</span></th></tr>}
        row={(a: Schemas['Assignment']) => (
          <tr key={a.role + (a.tenant ?? '')}>
            <td><Link to={`/console/roles/${encodeURIComponent(a.role)}`}>{a.role}</Link></td>
            <td><TenantLabel id={a.tenant} /></td>
            <td>{when(a.expiresAt)}</td>
            <td>{when(a.createdAt)}</td>
            <td><button type='button' onClick={() => unassign(a)}>Remove…</button></td>
          </tr>
        )}
      />
      <form className='grid' onSubmit={assign} aria-label='Assign a role'>
        <Field label='Role' required value={form.role} onChange={e => setForm(f => ({ ...f, role: e.target.value }))} />
        <Field label='Tenant (id or slug; empty: yours, or global for a global admin)' value={form.tenant} onChange={e => setForm(f => ({ ...f, tenant: e.target.value }))} />
        <Field label='Expires at (optional)' type='datetime-local' value={form.expiresAt} onChange={e => setForm(f => ({ ...f, expiresAt: e.target.value }))} />
        <div className='actions'><button type='submit' className='primary'>Preview and assign…</button></div>
      </form>
      <ErrorNote error={error} />
      {pending !== null && <WhatIfConfirm title={pending.title} change={pending.change} confirmLabel={pending.confirm} onConfirm={pending.run} onClose={() => setPending(null)} />}
    </Section>
  )
}

function Effective ({ userId }: { userId: string }) {
  const [tenant, setTenant] = useState('')
  const [shown, setShown] = useState('')
  const set = useLoad(() => call(api.GET('/v1/users/{id}/permissions', { params: { path: { id: userId }, query: shown !== '' ? { tenant: shown } : {} } })), [userId, shown])
  return (
    <Section title='Effective permissions'>
      <form className='inline' onSubmit={e => { e.preventDefault(); setShown(tenant.trim()) }}>
        <Field label='In tenant (id or slug; empty: the API default)' value={tenant} onChange={e => setTenant(e.target.value)} />
        <button type='submit'>Show</button>
      </form>
      <ErrorNote error={set.error} />
      {set.data !== undefined && <p className='muted'>Computed for <TenantLabel id={set.data.tenant} global='global assignments only' />.</p>}
      {set.data !== undefined && (
        <table aria-label='Effective permissions'>
          <thead><tr><th scope='col'>Permission</th><th scope='col'>Granted through</th></tr></thead>
          <tbody>
            {set.data.permissions.map(p => (
              <tr key={p.name}>
                <td><code>{p.name}</code></td>
                <td>
                  <ul className='paths'>
                    {p.via.map((v, i) => (
                      <li key={i} data-testid='grant-path'>
                        {v.path.map((r, j) => <span key={j}>{j > 0 && <span aria-label='inherits'> → </span>}<Link to={`/console/roles/${encodeURIComponent(r)}`}>{r}</Link></span>)}
                        <span className='badge'>{v.tenant !== null ? <>in <TenantLabel id={v.tenant} /></> : 'global'}</span>
                        {v.expiresAt !== null && <span className='badge'>until {when(v.expiresAt)}</span>}
                        {v.condition !== null && <span className='badge cond'>if <code>{JSON.stringify(v.condition)}</code></span>}
                      </li>
                    ))}
                  </ul>
                </td>
              </tr>
            ))}
            {set.data.permissions.length === 0 && <tr><td colSpan={2} className='muted'>No permissions.</td></tr>}
          </tbody>
        </table>
      )}
    </Section>
  )
}

function Sessions ({ userId }: { userId: string }) {
  const paged = usePaged(cursor => call(api.GET('/v1/users/{id}/sessions', { params: { path: { id: userId }, query: { limit: 10, cursor } } })), [userId])
  const action = useAction()
  const end = (sid: string) => action.run(async () => {
    await call(api.DELETE('/v1/users/{id}/sessions/{sid}', { params: { path: { id: userId, sid } } }))
    paged.reload()
  })
  return (
    <Section title='Sessions'>
      <PagedTable
        paged={paged} label='User sessions' empty='No live session.'
        head={<tr><th scope='col'>Started</th><th scope='col'>Last used</th><th scope='col'>Tenant</th><th scope='col'>From</th><th scope='col'>Expires</th><th scope='col'><span className='sr-only'>Actions</span></th></tr>}
        row={(s: Schemas['Session']) => (
          <tr key={s.id}>
            <td>{when(s.createdAt)}</td><td>{when(s.lastUsedAt)}</td><td><TenantLabel id={s.tenantId} /></td>
            <td>{s.ip ?? ''} <span className='small'>{s.userAgent ?? ''}</span></td><td>{when(s.expiresAt)}</td>
            <td><button type='button' onClick={() => { void end(s.id) }}>End session</button></td>
          </tr>
        )}
      />
      <ErrorNote error={action.error} />
    </Section>
  )
}

import { useState, type FormEvent } from 'react'
import { api, call, type Schemas } from '../api'
import { PagedTable, usePaged } from '../components/Paged'
import { ErrorNote, Field, Section, useAction, when } from '../components/ui'
import { Link } from '../router'

export function Tenants () {
  const paged = usePaged(cursor => call(api.GET('/v1/tenants', { params: { query: { limit: 20, cursor } } })), [])
  const action = useAction()
  const [form, setForm] = useState({ slug: '', name: '' })
  const submit = (e: FormEvent) => {
    e.preventDefault()
    void action.run(async () => {
      await call(api.POST('/v1/tenants', { body: { slug: form.slug.trim(), name: form.name.trim() } }))
      setForm({ slug: '', name: '' })
      paged.reload()
    })
  }
  return (
    <>
      <h1>Tenants</h1>
      <Section title='Tenants'>
        <PagedTable
          paged={paged} label='Tenants'
          head={<tr><th scope='col'>Slug</th><th scope='col'>Name</th><th scope='col'>Id</th><th scope='col'>Created</th></tr>}
          row={(t: Schemas['Tenant']) => (
            <tr key={t.id}>
              <td><Link to={`/console/tenants/${t.id}`}>{t.slug}</Link>{t.isDefault && <span className='badge'>default</span>}</td>
              <td>{t.name}</td><td><code>{t.id}</code></td><td>{when(t.createdAt)}</td>
            </tr>
          )}
        />
      </Section>
      <Section title='Create a tenant'>
        <form className='grid' onSubmit={submit}>
          <Field label='Slug' required pattern='[a-z0-9\-]+' value={form.slug} onChange={e => setForm(f => ({ ...f, slug: e.target.value }))} />
          <Field label='Name' required value={form.name} onChange={e => setForm(f => ({ ...f, name: e.target.value }))} />
          <div className='actions'><button type='submit' className='primary' disabled={action.busy}>Create tenant</button></div>
        </form>
        <ErrorNote error={action.error} />
      </Section>
    </>
  )
}

export function TenantDetail ({ id }: { id: string }) {
  const paged = usePaged(cursor => call(api.GET('/v1/tenants/{id}/members', { params: { path: { id }, query: { limit: 20, cursor } } })), [id])
  return (
    <>
      <p className='crumbs'><Link to='/console/tenants'>Tenants</Link> /</p>
      <h1>Members of the tenant</h1>
      <p className='muted'><code>{id}</code></p>
      <Section title='Members'>
        <PagedTable
          paged={paged} label='Members' empty='No members: nobody holds a role in this tenant.'
          head={<tr><th scope='col'>Username</th><th scope='col'>Email</th><th scope='col'>Roles here</th><th scope='col'>Status</th></tr>}
          row={(m: Schemas['Member']) => (
            <tr key={m.id}>
              <td><Link to={`/console/users/${m.id}`}>{m.username}</Link></td><td>{m.email}</td><td>{m.roles.join(', ')}</td><td>{m.isActive ? 'active' : 'disabled'}</td>
            </tr>
          )}
        />
      </Section>
    </>
  )
}

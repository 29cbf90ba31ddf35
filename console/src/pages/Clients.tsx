import { useState, type FormEvent } from 'react'
import { api, call, type Schemas } from '../api'
import { PagedTable, usePaged } from '../components/Paged'
import { ErrorNote, Field, Section, useAction, when } from '../components/ui'

const list = (text: string) => text.split(/[\s,]+/).map(s => s.trim()).filter(Boolean)

export function Clients () {
  const paged = usePaged(cursor => call(api.GET('/v1/clients', { params: { query: { limit: 20, cursor } } })), [])
  const action = useAction()
  const [secret, setSecret] = useState<{ name: string, id: string, secret: string } | null>(null)
  const [form, setForm] = useState({ name: '', scopes: '', type: 'confidential' as 'confidential' | 'public', redirectUris: '', grants: 'client_credentials' })
  const submit = (e: FormEvent) => {
    e.preventDefault()
    void action.run(async () => {
      const grantTypes = list(form.grants) as Schemas['CreateClientRequest']['grantTypes']
      const created = await call(api.POST('/v1/clients', {
        body: { name: form.name.trim(), scopes: list(form.scopes), type: form.type, redirectUris: list(form.redirectUris), grantTypes, firstParty: false }
      }))
      const shown = (created as { clientSecret?: string | null }).clientSecret
      setSecret(shown ? { name: created.name, id: created.id, secret: shown } : null)
      setForm(f => ({ ...f, name: '', scopes: '', redirectUris: '' }))
      paged.reload()
    })
  }
  const rotate = (c: Schemas['Client']) => action.run(async () => {
    const answer = await call(api.POST('/v1/clients/{id}/secret', { params: { path: { id: c.id } } }))
    setSecret({ name: c.name, id: c.id, secret: answer.clientSecret })
  })
  const remove = (c: Schemas['Client']) => action.run(async () => {
    if (!window.confirm(`Delete the client ${c.name}? Its tokens stop working.`)) return
    await call(api.DELETE('/v1/clients/{id}', { params: { path: { id: c.id } } }))
    paged.reload()
  })
  return (
    <>
      <h1>Clients</h1>
      {secret !== null && (
        <section className='card secret' aria-label='New client secret' role='status'>
          <h2>Secret of {secret.name}</h2>
          <p>Copy it now: it is shown only this once. The client id is <code>{secret.id}</code>.</p>
          <p><code data-testid='client-secret' className='secret-value'>{secret.secret}</code></p>
          <button type='button' onClick={() => setSecret(null)}>I have copied it</button>
        </section>
      )}
      <Section title='Clients'>
        <PagedTable
          paged={paged} label='Clients'
          head={<tr><th scope='col'>Name</th><th scope='col'>Type</th><th scope='col'>Scopes</th><th scope='col'>Redirect URIs</th><th scope='col'>Created</th><th scope='col'><span className='sr-only'>Actions</span></th></tr>}
          row={(c: Schemas['Client']) => (
            <tr key={c.id}>
              <td>{c.name}<br /><code className='small'>{c.id}</code></td>
              <td>{c.type}</td>
              <td>{c.scopes.join(' ')}</td>
              <td>{c.redirectUris.map(u => <div key={u}><code className='small'>{u}</code></div>)}</td>
              <td>{when(c.createdAt)}</td>
              <td>
                {c.type === 'confidential' && <button type='button' onClick={() => { void rotate(c) }}>New secret</button>}
                <button type='button' onClick={() => { void remove(c) }}>Delete</button>
              </td>
            </tr>
          )}
        />
        <ErrorNote error={action.error} />
      </Section>
      <Section title='Register a client'>
        <form className='grid' onSubmit={submit}>
          <Field label='Name' required value={form.name} onChange={e => setForm(f => ({ ...f, name: e.target.value }))} />
          <Field label='Scopes (permissions it may hold)' required value={form.scopes} onChange={e => setForm(f => ({ ...f, scopes: e.target.value }))} placeholder='authz:check tokens:introspect' />
          <label className='field'><span>Type</span>
            <select value={form.type} onChange={e => setForm(f => ({ ...f, type: e.target.value as 'confidential' | 'public', grants: e.target.value === 'public' ? 'authorization_code' : f.grants }))}>
              <option value='confidential'>confidential (has a secret)</option>
              <option value='public'>public (browser or native app, PKCE)</option>
            </select>
          </label>
          <Field label='Grant types' value={form.grants} onChange={e => setForm(f => ({ ...f, grants: e.target.value }))} hint='client_credentials, authorization_code, refresh_token' />
          <Field label='Redirect URIs (for authorization_code)' value={form.redirectUris} onChange={e => setForm(f => ({ ...f, redirectUris: e.target.value }))} />
          <div className='actions'><button type='submit' className='primary' disabled={action.busy}>Register</button></div>
        </form>
      </Section>
    </>
  )
}

import { useState, type FormEvent } from 'react'
import { api, call, type Schemas } from '../api'
import { PagedTable, usePaged } from '../components/Paged'
import { ErrorNote, Field, Section, useAction } from '../components/ui'

export function Permissions () {
  const paged = usePaged(cursor => call(api.GET('/v1/permissions', { params: { query: { limit: 50, cursor } } })), [])
  const action = useAction()
  const [form, setForm] = useState({ name: '', description: '' })
  const submit = (e: FormEvent) => {
    e.preventDefault()
    void action.run(async () => {
      await call(api.POST('/v1/permissions', { body: { name: form.name.trim(), description: form.description } }))
      setForm({ name: '', description: '' })
      paged.reload()
    })
  }
  const remove = (name: string) => action.run(async () => {
    if (!window.confirm(`Delete the permission ${name}? Grants of it stop applying.`)) return
    await call(api.DELETE('/v1/permissions/{name}', { params: { path: { name } } }))
    paged.reload()
  })
  return (
    <>
      <h1>Permissions</h1>
      <Section title='Catalog'>
        <PagedTable
          paged={paged} label='Permissions'
          head={<tr><th scope='col'>Name</th><th scope='col'>Description</th><th scope='col'><span className='sr-only'>Actions</span></th></tr>}
          row={(p: Schemas['Permission']) => <tr key={p.name}><td><code>{p.name}</code></td><td>{p.description}</td><td><button type='button' onClick={() => { void remove(p.name) }}>Delete</button></td></tr>}
        />
      </Section>
      <Section title='Add a permission'>
        <form className='grid' onSubmit={submit}>
          <Field label='Name (resource:action)' required pattern='[a-z0-9_\-]+:[a-z0-9_\-*]+|\*' value={form.name} onChange={e => setForm(f => ({ ...f, name: e.target.value }))} />
          <Field label='Description' value={form.description} onChange={e => setForm(f => ({ ...f, description: e.target.value }))} />
          <div className='actions'><button type='submit' className='primary' disabled={action.busy}>Add</button></div>
        </form>
        <ErrorNote error={action.error} />
      </Section>
    </>
  )
}

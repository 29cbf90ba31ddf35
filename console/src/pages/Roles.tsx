import { useState, type FormEvent } from 'react'
import { api, call, type Schemas } from '../api'
import { PagedTable, usePaged } from '../components/Paged'
import { RoleGraph } from '../components/RoleGraph'
import { ErrorNote, Field, Section, useAction } from '../components/ui'
import { Link, navigate } from '../router'

const names = (text: string) => text.split(/[\s,]+/).map(s => s.trim()).filter(Boolean)

export function Roles () {
  const paged = usePaged(cursor => call(api.GET('/v1/roles', { params: { query: { limit: 25, cursor } } })), [])
  return (
    <>
      <h1>Roles</h1>
      <Section title='Inheritance'>
        <RoleGraph roles={paged.items} label='Inheritance of the roles on this page' />
      </Section>
      <Section title='All roles'>
        <PagedTable
          paged={paged} label='Roles'
          head={<tr><th scope='col'>Role</th><th scope='col'>Description</th><th scope='col'>Inherits</th><th scope='col'>Own grants</th></tr>}
          row={(r: Schemas['Role']) => (
            <tr key={r.name}>
              <td><Link to={`/console/roles/${encodeURIComponent(r.name)}`}>{r.name}</Link></td>
              <td>{r.description}</td>
              <td>{r.inherits.join(', ') || '—'}</td>
              <td>{r.permissions.length + r.grants.length}</td>
            </tr>
          )}
        />
      </Section>
      <CreateRole />
    </>
  )
}

function CreateRole () {
  const action = useAction()
  const [form, setForm] = useState({ name: '', description: '', inherits: '' })
  const submit = (e: FormEvent) => {
    e.preventDefault()
    void action.run(async () => {
      // a new role is assigned to nobody: it changes no one's permissions until it is assigned
      const role = await call(api.POST('/v1/roles', { body: { name: form.name.trim(), description: form.description, inherits: names(form.inherits) } }))
      navigate(`/console/roles/${encodeURIComponent(role.name)}`)
    })
  }
  return (
    <Section title='Create a role'>
      <form className='grid' onSubmit={submit}>
        <Field label='Name' required pattern='[a-z0-9_\-]+' title='lower case letters, digits, _ and -' value={form.name} onChange={e => setForm(f => ({ ...f, name: e.target.value }))} />
        <Field label='Description' value={form.description} onChange={e => setForm(f => ({ ...f, description: e.target.value }))} />
        <Field label='Inherits from (role names, comma-separated)' value={form.inherits} onChange={e => setForm(f => ({ ...f, inherits: e.target.value }))} />
        <div className='actions'><button type='submit' className='primary' disabled={action.busy}>Create role</button></div>
      </form>
      <ErrorNote error={action.error} />
    </Section>
  )
}

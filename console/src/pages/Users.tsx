import { useState, type FormEvent } from 'react'
import { api, call, type Schemas } from '../api'
import { PagedTable, usePaged } from '../components/Paged'
import { ErrorNote, Field, Section, useAction, when } from '../components/ui'
import { Link, navigate } from '../router'

const PAGE = 20

export function Users () {
  const [q, setQ] = useState('')
  const [search, setSearch] = useState('')
  const paged = usePaged(cursor => call(api.GET('/v1/users', { params: { query: { limit: PAGE, cursor, ...(search !== '' ? { q: search } : {}) } } })), [search])
  return (
    <>
      <h1>Users</h1>
      <Section title='Find users'>
        <form role='search' className='inline' onSubmit={e => { e.preventDefault(); setSearch(q.trim()) }}>
          <Field label='Search by name, username or email' type='search' value={q} onChange={e => setQ(e.target.value)} name='q' />
          <button type='submit'>Search</button>
        </form>
        <PagedTable
          paged={paged} label='Users'
          head={<tr><th scope='col'>Username</th><th scope='col'>Email</th><th scope='col'>Name</th><th scope='col'>Status</th><th scope='col'>Created</th></tr>}
          row={(u: Schemas['User']) => (
            <tr key={u.id}>
              <td><Link to={`/console/users/${u.id}`}>{u.username}</Link></td>
              <td>{u.email}</td>
              <td>{u.fullName ?? ''}</td>
              <td>{u.isActive ? 'active' : <span className='badge off'>disabled</span>}</td>
              <td>{when(u.createdAt)}</td>
            </tr>
          )}
        />
      </Section>
      <CreateUser />
    </>
  )
}

function CreateUser () {
  const action = useAction()
  const [form, setForm] = useState({ email: '', username: '', password: '', fullName: '' })
  const set = (k: keyof typeof form) => (e: { target: { value: string } }) => setForm(f => ({ ...f, [k]: e.target.value }))
  const submit = (e: FormEvent) => {
    e.preventDefault()
    void action.run(async () => {
      const user = await call(api.POST('/v1/users', { body: { email: form.email, username: form.username, password: form.password, ...(form.fullName !== '' ? { fullName: form.fullName } : {}) } }))
      navigate(`/console/users/${user.id}`)
    })
  }
  return (
    <Section title='Create a user'>
      <form className='grid' onSubmit={submit}>
        <Field label='Email' type='email' required value={form.email} onChange={set('email')} autoComplete='off' />
        <Field label='Username' required value={form.username} onChange={set('username')} autoComplete='off' />
        <Field label='Full name' value={form.fullName} onChange={set('fullName')} autoComplete='off' />
        <Field label='Initial password' type='password' required minLength={8} value={form.password} onChange={set('password')} autoComplete='new-password' hint='8-128 characters; common passwords are refused' />
        <div className='actions'><button type='submit' className='primary' disabled={action.busy}>Create user</button></div>
      </form>
      <ErrorNote error={action.error} />
    </Section>
  )
}

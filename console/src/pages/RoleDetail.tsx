import { useState, type FormEvent } from 'react'
import { api, call, type Schemas } from '../api'
import { ConditionEditor, checkCondition } from '../components/ConditionEditor'
import { RoleGraph, type GraphRole } from '../components/RoleGraph'
import { ErrorNote, Field, Section, useLoad } from '../components/ui'
import { WhatIfConfirm, type WhatIfChange } from '../components/WhatIf'
import { Link, navigate } from '../router'

const MAX_ANCESTORS = 60

/** The role and the roles it inherits from, transitively (one GET per role, at most MAX_ANCESTORS). */
async function ancestry (name: string): Promise<{ role: Schemas['Role'], graph: GraphRole[] }> {
  const role = await call(api.GET('/v1/roles/{name}', { params: { path: { name } } }))
  const seen = new Map<string, GraphRole>([[role.name, { name: role.name, inherits: role.inherits }]])
  let frontier = [...role.inherits]
  while (frontier.length > 0 && seen.size < MAX_ANCESTORS) {
    const next: string[] = []
    const batch = frontier.filter(n => !seen.has(n)).slice(0, MAX_ANCESTORS - seen.size)
    const parents = await Promise.all(batch.map(n => call(api.GET('/v1/roles/{name}', { params: { path: { name: n } } }))))
    for (const p of parents) {
      seen.set(p.name, { name: p.name, inherits: p.inherits })
      next.push(...p.inherits)
    }
    frontier = next
  }
  return { role, graph: [...seen.values()] }
}

interface Pending { title: string, change: WhatIfChange, confirm: string, run: () => Promise<void> }

export function RoleDetail ({ name }: { name: string }) {
  const loaded = useLoad(() => ancestry(name), [name])
  const [pending, setPending] = useState<Pending | null>(null)
  const [grant, setGrant] = useState({ permission: '', condition: '' })
  const [parent, setParent] = useState('')
  const [formError, setFormError] = useState<unknown>(null)
  if (loaded.error !== null) return <><h1>Role {name}</h1><ErrorNote error={loaded.error} /></>
  if (loaded.data === undefined) return <p aria-busy='true'>Loading…</p>
  const { role, graph } = loaded.data
  const path = { name: role.name }

  const submitGrant = (e: FormEvent) => {
    e.preventDefault()
    setFormError(null)
    const check = checkCondition(grant.condition)
    if (!check.ok) { setFormError(new Error('the condition is not valid: ' + check.errors.join('; '))); return }
    const permission = grant.permission.trim()
    const condition = check.value
    setPending({
      title: `Grant ${permission} to ${role.name}${condition !== undefined ? ' with a condition' : ''}?`,
      change: { kind: 'grant', role: role.name, permission, ...(condition !== undefined ? { condition: condition as Schemas['Condition'] } : {}) },
      confirm: 'Grant',
      run: async () => {
        await call(api.PUT('/v1/roles/{name}/permissions/{permission}', { params: { path: { ...path, permission } }, body: condition !== undefined ? { condition: condition as Schemas['Condition'] } : {} }))
        setGrant({ permission: '', condition: '' })
        loaded.reload()
      }
    })
  }
  const revoke = (permission: string) => setPending({
    title: `Revoke ${permission} from ${role.name}?`,
    change: { kind: 'revoke', role: role.name, permission },
    confirm: 'Revoke',
    run: async () => { await call(api.DELETE('/v1/roles/{name}/permissions/{permission}', { params: { path: { ...path, permission } } })); loaded.reload() }
  })
  const inherit = (e: FormEvent) => {
    e.preventDefault()
    const p = parent.trim()
    setPending({
      title: `Make ${role.name} inherit ${p}?`,
      change: { kind: 'inherit', role: role.name, parent: p },
      confirm: 'Inherit',
      run: async () => { await call(api.PATCH('/v1/roles/{name}', { params: { path }, body: { inherits: [...role.inherits, p] } })); setParent(''); loaded.reload() }
    })
  }
  const uninherit = (p: string) => setPending({
    title: `Stop ${role.name} inheriting ${p}?`,
    change: { kind: 'uninherit', role: role.name, parent: p },
    confirm: 'Remove',
    run: async () => { await call(api.PATCH('/v1/roles/{name}', { params: { path }, body: { inherits: role.inherits.filter(x => x !== p) } })); loaded.reload() }
  })
  const remove = () => setPending({
    title: `Delete the role ${role.name}?`,
    change: { kind: 'delete-role', role: role.name },
    confirm: 'Delete role',
    run: async () => { await call(api.DELETE('/v1/roles/{name}', { params: { path } })); navigate('/console/roles') }
  })

  return (
    <>
      <p className='crumbs'><Link to='/console/roles'>Roles</Link> /</p>
      <h1>Role {role.name}</h1>
      {role.description !== '' && <p>{role.description}</p>}
      <Section title='Inherits from'>
        <RoleGraph roles={graph} highlight={role.name} label={`${role.name} and the roles it inherits from`} />
        <ul className='chips'>
          {role.inherits.map(p => <li key={p}><Link to={`/console/roles/${encodeURIComponent(p)}`}>{p}</Link> <button type='button' className='link' onClick={() => uninherit(p)} aria-label={`Stop inheriting ${p}`}>remove…</button></li>)}
          {role.inherits.length === 0 && <li className='muted'>No parent roles.</li>}
        </ul>
        <form className='inline' onSubmit={inherit}>
          <Field label='Add a parent role' required value={parent} onChange={e => setParent(e.target.value)} />
          <button type='submit'>Preview and inherit…</button>
        </form>
      </Section>
      <Section title='Grants'>
        <table aria-label='Grants'>
          <thead><tr><th scope='col'>Permission</th><th scope='col'>Condition</th><th scope='col'><span className='sr-only'>Actions</span></th></tr></thead>
          <tbody>
            {role.permissions.map(p => <tr key={'u' + p}><td><code>{p}</code></td><td className='muted'>always</td><td><button type='button' onClick={() => revoke(p)}>Revoke…</button></td></tr>)}
            {role.grants.map(g => <tr key={'c' + g.permission}><td><code>{g.permission}</code></td><td><code>{JSON.stringify(g.condition)}</code></td><td><button type='button' onClick={() => revoke(g.permission)}>Revoke…</button></td></tr>)}
            {role.permissions.length + role.grants.length === 0 && <tr><td colSpan={3} className='muted'>No grants of its own.</td></tr>}
          </tbody>
        </table>
        <form onSubmit={submitGrant} aria-label='Grant a permission'>
          <Field label='Permission to grant' required value={grant.permission} onChange={e => setGrant(g => ({ ...g, permission: e.target.value }))} placeholder='posts:update' />
          <ConditionEditor value={grant.condition} onChange={condition => setGrant(g => ({ ...g, condition }))} />
          <div className='actions'><button type='submit' className='primary'>Preview and grant…</button></div>
        </form>
        <ErrorNote error={formError} />
      </Section>
      <Section title='Danger zone'>
        <button type='button' className='danger' onClick={remove}>Delete this role…</button>
      </Section>
      {pending !== null && <WhatIfConfirm title={pending.title} change={pending.change} confirmLabel={pending.confirm} onConfirm={pending.run} onClose={() => setPending(null)} />}
    </>
  )
}

import { useState, type FormEvent } from 'react'
import { api, call, type Schemas } from '../api'
import { PagedTable, usePaged } from '../components/Paged'
import { Field, Section, when } from '../components/ui'

type Filters = { actor: string, action: string, target: string, outcome: '' | 'success' | 'denied' | 'failure', from: string, to: string }
const EMPTY: Filters = { actor: '', action: '', target: '', outcome: '', from: '', to: '' }

function query (f: Filters) {
  const q: Record<string, string> = {}
  for (const k of ['actor', 'action', 'target', 'outcome'] as const) if (f[k].trim() !== '') q[k] = f[k].trim()
  for (const k of ['from', 'to'] as const) if (f[k] !== '') q[k] = new Date(f[k]).toISOString()
  return q
}

export function Audit () {
  const [form, setForm] = useState<Filters>(EMPTY)
  const [filters, setFilters] = useState<Filters>(EMPTY)
  const paged = usePaged(cursor => call(api.GET('/v1/audit', { params: { query: { limit: 25, cursor, ...query(filters) } } })), [filters])
  const set = (k: keyof Filters) => (e: { target: { value: string } }) => setForm(f => ({ ...f, [k]: e.target.value }))
  const submit = (e: FormEvent) => { e.preventDefault(); setFilters(form) }
  return (
    <>
      <h1>Audit log</h1>
      <Section title='Filters'>
        <form className='grid' onSubmit={submit} role='search'>
          <Field label='Action' value={form.action} onChange={set('action')} placeholder='role.update' />
          <Field label='Actor id' value={form.actor} onChange={set('actor')} />
          <Field label='Target id' value={form.target} onChange={set('target')} />
          <label className='field'><span>Outcome</span>
            <select value={form.outcome} onChange={set('outcome')}>
              <option value=''>any</option><option value='success'>success</option><option value='denied'>denied</option><option value='failure'>failure</option>
            </select>
          </label>
          <Field label='From' type='datetime-local' value={form.from} onChange={set('from')} />
          <Field label='To' type='datetime-local' value={form.to} onChange={set('to')} />
          <div className='actions'><button type='submit' className='primary'>Apply</button><button type='button' onClick={() => { setForm(EMPTY); setFilters(EMPTY) }}>Clear</button></div>
        </form>
      </Section>
      <Section title='Events'>
        <PagedTable
          paged={paged} label='Audit events' empty='No events match.'
          head={<tr><th scope='col'>When</th><th scope='col'>Action</th><th scope='col'>Outcome</th><th scope='col'>Actor</th><th scope='col'>Target</th><th scope='col'>Detail</th></tr>}
          row={(e: Schemas['AuditEvent']) => (
            <tr key={e.id}>
              <td>{when(e.at)}</td>
              <td><code>{e.action}</code></td>
              <td><span className={'badge ' + e.outcome}>{e.outcome}</span></td>
              <td>{e.actorKind ?? ''} <code className='small'>{e.actorId?.slice(0, 8) ?? ''}</code></td>
              <td>{e.targetType ?? ''} <code className='small'>{e.targetId ?? ''}</code></td>
              <td>{e.detail ?? ''}</td>
            </tr>
          )}
        />
      </Section>
    </>
  )
}

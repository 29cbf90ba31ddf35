import { useState, type FormEvent } from 'react'
import { api, call, type Schemas } from '../api'
import { ErrorNote, Field, Section, useAction } from '../components/ui'

/** "May X do Y on Z, in tenant T, and why": POST /v1/authz/check for another subject. */
export function Tester () {
  const action = useAction()
  const [form, setForm] = useState({ subject: '', permission: '', tenant: '', type: '', id: '', ownerId: '', attributes: '' })
  const [answer, setAnswer] = useState<{ asked: string, decision: Schemas['Decision'] } | null>(null)
  const set = (k: keyof typeof form) => (e: { target: { value: string } }) => setForm(f => ({ ...f, [k]: e.target.value }))
  const submit = (e: FormEvent) => {
    e.preventDefault()
    void action.run(async () => {
      let subject = form.subject.trim()
      if (subject !== '' && !/^[0-9a-f-]{36}$/i.test(subject)) {
        // a username or email: find the user's id
        const found = await call(api.GET('/v1/users', { params: { query: { q: subject, limit: 5 } } }))
        const user = found.items.find(u => u.username === subject || u.email === subject)
        if (user === undefined) throw new Error(`no user ${subject}`)
        subject = user.id
      }
      let attributes: Record<string, string | number | boolean | null> | undefined
      if (form.attributes.trim() !== '') {
        try { attributes = JSON.parse(form.attributes) } catch { throw new Error('the attributes are not a JSON object') }
      }
      const resource = form.type.trim() !== ''
        ? { type: form.type.trim(), ...(form.id !== '' ? { id: form.id } : {}), ...(form.ownerId !== '' ? { ownerId: form.ownerId } : {}), ...(attributes !== undefined ? { attributes } : {}) }
        : undefined
      const decision = await call(api.POST('/v1/authz/check', {
        body: { permission: form.permission.trim(), ...(subject !== '' ? { subject } : {}), ...(form.tenant.trim() !== '' ? { tenant: form.tenant.trim() } : {}), ...(resource !== undefined ? { resource } : {}) }
      }))
      setAnswer({ asked: `${form.subject.trim() || 'you'} → ${form.permission.trim()}${form.tenant.trim() !== '' ? ' in ' + form.tenant.trim() : ''}`, decision })
    })
  }
  return (
    <>
      <h1>Decision tester</h1>
      <Section title='May this subject do this?'>
        <form className='grid' onSubmit={submit}>
          <Field label='Subject (username, email or user id; empty: you)' value={form.subject} onChange={set('subject')} />
          <Field label='Permission' required value={form.permission} onChange={set('permission')} placeholder='posts:update' />
          <Field label='Tenant (id or slug; empty: your token&#39;s)' value={form.tenant} onChange={set('tenant')} />
          <Field label='Resource type (optional)' value={form.type} onChange={set('type')} placeholder='post' />
          <Field label='Resource id' value={form.id} onChange={set('id')} />
          <Field label='Resource owner id' value={form.ownerId} onChange={set('ownerId')} />
          <Field label='Resource attributes (JSON object)' value={form.attributes} onChange={set('attributes')} placeholder='{"status": "draft"}' />
          <div className='actions'><button type='submit' className='primary' disabled={action.busy}>Decide</button></div>
        </form>
        <ErrorNote error={action.error} />
      </Section>
      {answer !== null && (
        <section className={'card decision ' + (answer.decision.allowed ? 'allowed' : 'denied')} aria-label='Decision' role='status'>
          <h2 data-testid='decision'>{answer.decision.allowed ? 'Allowed' : 'Denied'}</h2>
          <p>{answer.asked}</p>
          <p>Why: <span data-testid='decision-reason'>{answer.decision.reason}</span></p>
        </section>
      )}
    </>
  )
}

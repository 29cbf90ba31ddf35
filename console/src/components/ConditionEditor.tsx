/**
 * A grant's condition as JSON, checked while typing against the condition schema the API itself
 * validates with (src/authz/condition-schema.ts, TypeBox); the server's answer stays the judge of
 * the rules a schema cannot state (nesting budget, calendar dates, CIDR host bits).
 */
import { useId } from 'react'
import { Value } from '@sinclair/typebox/value'
import { ConditionSchema } from 'warden/condition-schema'

export type ConditionCheck = { ok: true, value: unknown } | { ok: false, errors: string[] }

export function checkCondition (text: string): ConditionCheck {
  if (text.trim() === '') return { ok: true, value: undefined }
  let value: unknown
  try { value = JSON.parse(text) } catch (e) { return { ok: false, errors: [`not JSON: ${(e as Error).message}`] } }
  if (Value.Check(ConditionSchema, value)) return { ok: true, value }
  const errors = [...Value.Errors(ConditionSchema, value)].slice(0, 5).map(e => `${e.path === '' ? '(top)' : e.path}: ${e.message}`)
  return { ok: false, errors: errors.length > 0 ? errors : ['not a condition'] }
}

export const EXAMPLES = [
  '{ "owner": true }',
  '{ "attribute": "status", "equals": "draft" }',
  '{ "mfa": true }',
  '{ "time": { "from": "08:00", "to": "18:00", "days": [1, 2, 3, 4, 5] } }',
  '{ "network": ["10.0.0.0/8"] }'
]

export function ConditionEditor ({ value, onChange }: { value: string, onChange: (text: string) => void }) {
  const id = useId()
  const check = checkCondition(value)
  return (
    <div className='field'>
      <label htmlFor={id}>Condition (optional, JSON)</label>
      <textarea id={id} rows={3} value={value} onChange={e => onChange(e.target.value)} aria-invalid={!check.ok} aria-describedby={id + '-help'} spellCheck={false} />
      <small id={id + '-help'}>
        {check.ok ? (value.trim() === '' ? 'Empty: the grant is unconditional. ' : 'A valid condition. ') : <span className='error'>{check.errors.join('; ')}. </span>}
        Examples: {EXAMPLES.map((ex, i) => <button key={i} type='button' className='link' onClick={() => onChange(ex)}>{ex}</button>)}
      </small>
    </div>
  )
}

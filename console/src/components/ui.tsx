import { useCallback, useEffect, useState, type InputHTMLAttributes, type ReactNode } from 'react'
import { messageOf } from '../api'

export function ErrorNote ({ error }: { error: unknown }) {
  if (error === null || error === undefined) return null
  return <p className='error' role='alert'>{messageOf(error)}</p>
}

export function Field ({ label, hint, ...input }: { label: string, hint?: string } & InputHTMLAttributes<HTMLInputElement>) {
  return (
    <label className='field'>
      <span>{label}</span>
      <input {...input} />
      {hint !== undefined && <small>{hint}</small>}
    </label>
  )
}

export function Section ({ title, children, actions }: { title: string, children: ReactNode, actions?: ReactNode }) {
  return (
    <section className='card' aria-label={title}>
      <header className='card-head'><h2>{title}</h2>{actions}</header>
      {children}
    </section>
  )
}

export const when = (iso: string | null | undefined) => iso === null || iso === undefined ? '—' : new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })

/** Loads once per change of `deps`; `reload` runs it again. */
export function useLoad<T> (load: () => Promise<T>, deps: unknown[]): { data: T | undefined, error: unknown, loading: boolean, reload: () => void } {
  const [state, setState] = useState<{ data: T | undefined, error: unknown, loading: boolean }>({ data: undefined, error: null, loading: true })
  const [tick, setTick] = useState(0)
  useEffect(() => {
    let live = true
    setState(s => ({ ...s, loading: true, error: null }))
    load().then(data => { if (live) setState({ data, error: null, loading: false }) }, error => { if (live) setState({ data: undefined, error, loading: false }) })
    return () => { live = false }
  }, [...deps, tick])
  const reload = useCallback(() => setTick(t => t + 1), [])
  return { ...state, reload }
}

/** A form's submit state: runs the action, keeps its error. */
export function useAction () {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(null)
  const run = useCallback(async (action: () => Promise<void>) => {
    setBusy(true)
    setError(null)
    try { await action() } catch (e) { setError(e) } finally { setBusy(false) }
  }, [])
  return { busy, error, run, setError }
}

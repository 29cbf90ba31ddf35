import { useState } from 'react'
import { api, call } from '../api'
import { ErrorNote, Section, useAction, useLoad, when } from '../components/ui'

export function Keys () {
  const keys = useLoad(() => call(api.GET('/v1/keys')), [])
  const action = useAction()
  const [rotated, setRotated] = useState<{ kid: string, activatesAt: string } | null>(null)
  const rotate = (immediate: boolean) => action.run(async () => {
    if (immediate && !window.confirm('Sign with a new key at once? Verifiers that cached the key set meet an unknown kid until they refetch it. Use this for a compromised key.')) return
    const answer = await call(api.POST('/v1/keys/rotate', { params: { query: immediate ? { immediate: true } : {} } }))
    setRotated({ kid: answer.kid, activatesAt: answer.activatesAt })
    keys.reload()
  })
  return (
    <>
      <h1>Signing keys</h1>
      {rotated !== null && <p role='status' className='notice' data-testid='rotated'>New key <code>{rotated.kid.slice(0, 16)}…</code> announced; it signs from <strong>{when(rotated.activatesAt)}</strong>.</p>}
      <Section title='Keys' actions={<div className='actions'><button type='button' className='primary' disabled={action.busy} onClick={() => { void rotate(false) }}>Rotate</button><button type='button' className='danger' disabled={action.busy} onClick={() => { void rotate(true) }}>Rotate now (compromised key)</button></div>}>
        <ErrorNote error={keys.error ?? action.error} />
        <table aria-label='Signing keys'>
          <thead><tr><th scope='col'>Key id</th><th scope='col'>Algorithm</th><th scope='col'>Status</th><th scope='col'>Created</th><th scope='col'>Signs from</th><th scope='col'>Leaves the JWKS</th></tr></thead>
          <tbody>
            {(keys.data?.items ?? []).map(k => (
              <tr key={k.kid}><td><code>{k.kid.slice(0, 20)}…</code></td><td>{k.alg}</td><td><span className={'badge ' + k.status}>{k.status}</span></td><td>{when(k.createdAt)}</td><td>{when(k.activatesAt)}</td><td>{when(k.retiresAt)}</td></tr>
            ))}
          </tbody>
        </table>
      </Section>
    </>
  )
}

/**
 * "N people gain, M lose": the what-if preview (POST /v1/authz/what-if) shown before a role,
 * grant, inheritance or assignment change is confirmed. The engine computes it without writing.
 */
import { useEffect, useRef, useState } from 'react'
import { api, call, type Schemas } from '../api'
import { TenantLabel } from './TenantLabel'
import { ErrorNote, useAction } from './ui'

export type WhatIfChange = Schemas['WhatIfChange']
type WhatIfAnswer = Schemas['WhatIfResult']

const PREVIEW_ITEMS = 10

const people = (n: number) => n === 1 ? '1 person' : `${n} people`

function distinctPeople (items: Schemas['WhatIfEffect'][]): string[] {
  return [...new Set(items.map(i => i.subject.username))]
}

export function WhatIfConfirm ({ title, change, confirmLabel, onConfirm, onClose }: {
  title: string
  change: WhatIfChange
  confirmLabel: string
  onConfirm: () => Promise<void>
  onClose: () => void
}) {
  const dialog = useRef<HTMLDialogElement>(null)
  const [preview, setPreview] = useState<WhatIfAnswer | null>(null)
  const [previewError, setPreviewError] = useState<unknown>(null)
  const action = useAction()
  useEffect(() => {
    dialog.current?.showModal()
    let live = true
    call(api.POST('/v1/authz/what-if', { body: { change, limit: PREVIEW_ITEMS } }))
      .then(p => { if (live) setPreview(p) }, e => { if (live) setPreviewError(e) })
    return () => { live = false }
  }, [JSON.stringify(change)])
  const gainedPeople = preview ? distinctPeople(preview.gained.items) : []
  const lostPeople = preview ? distinctPeople(preview.lost.items) : []
  return (
    <dialog ref={dialog} className='whatif' aria-labelledby='whatif-title' onCancel={onClose}>
      <h2 id='whatif-title'>{title}</h2>
      <ErrorNote error={previewError} />
      {preview === null && previewError === null && <p aria-live='polite'>Computing the effect…</p>}
      {preview !== null && (
        <div aria-live='polite'>
          <p className='whatif-summary' data-testid='whatif-summary'>
            <strong data-testid='whatif-gaining'>{people(preview.gained.subjects)}</strong> gain, <strong data-testid='whatif-losing'>{people(preview.lost.subjects)}</strong> lose
            <span className='muted'> (<span data-testid='whatif-gained'>{preview.gained.count}</span> permission{preview.gained.count === 1 ? '' : 's'} gained, <span data-testid='whatif-lost'>{preview.lost.count}</span> lost, counted per tenant)</span>
          </p>
          {gainedPeople.length > 0 && <p>Gain: {gainedPeople.join(', ')}{preview.gained.subjects > gainedPeople.length ? ` and ${preview.gained.subjects - gainedPeople.length} more` : ''}</p>}
          {lostPeople.length > 0 && <p>Lose: {lostPeople.join(', ')}{preview.lost.subjects > lostPeople.length ? ` and ${preview.lost.subjects - lostPeople.length} more` : ''}</p>}
          {(preview.gained.items.length > 0 || preview.lost.items.length > 0) && (
            <table aria-label='Effect of the change'>
              <thead><tr><th scope='col'>Who</th><th scope='col'>Permission</th><th scope='col'>Tenant</th><th scope='col'>Effect</th></tr></thead>
              <tbody>
                {preview.gained.items.map(i => <tr key={'g' + i.subject.id + i.permission + (i.tenant ?? '')}><td>{i.subject.username}</td><td><code>{i.permission}</code></td><td><TenantLabel id={i.tenant} /></td><td className='gain'>gains</td></tr>)}
                {preview.lost.items.map(i => <tr key={'l' + i.subject.id + i.permission + (i.tenant ?? '')}><td>{i.subject.username}</td><td><code>{i.permission}</code></td><td><TenantLabel id={i.tenant} /></td><td className='loss'>loses</td></tr>)}
              </tbody>
            </table>
          )}
        </div>
      )}
      <ErrorNote error={action.error} />
      <div className='actions'>
        <button type='button' className='primary' disabled={action.busy || (preview === null && previewError === null)} onClick={() => { void action.run(async () => { await onConfirm(); dialog.current?.close(); onClose() }) }}>{confirmLabel}</button>
        <button type='button' onClick={() => { dialog.current?.close(); onClose() }}>Cancel</button>
      </div>
    </dialog>
  )
}

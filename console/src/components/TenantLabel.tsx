/**
 * A tenant shown by its slug: looked up once per id (GET /v1/tenants/{id}) and remembered for the
 * page's life; a caller who may not read tenants sees the id's start instead.
 */
import { useEffect, useState } from 'react'
import { api, call } from '../api'

const known = new Map<string, Promise<string>>()

function slugOf (id: string): Promise<string> {
  let pending = known.get(id)
  if (pending === undefined) {
    pending = call(api.GET('/v1/tenants/{id}', { params: { path: { id } } })).then(t => t.slug, () => id.slice(0, 8))
    known.set(id, pending)
  }
  return pending
}

export function TenantLabel ({ id, global = 'every tenant (global)' }: { id: string | null, global?: string }) {
  const [label, setLabel] = useState<string>(id === null ? global : id.slice(0, 8))
  useEffect(() => {
    if (id === null) { setLabel(global); return }
    let live = true
    slugOf(id).then(slug => { if (live) setLabel(slug) })
    return () => { live = false }
  }, [id, global])
  return <span title={id ?? undefined}>{label}</span>
}

/**
 * A list read page by page with the API's keyset cursors: previous/next keep a stack of the
 * cursors seen, so nothing ever loads a whole table.
 */
import { useEffect, useState, type ReactNode } from 'react'
import { ErrorNote } from './ui'

export interface Page<T> { items: T[], nextCursor: string | null }

export function usePaged<T> (load: (cursor: string | undefined) => Promise<Page<T>>, deps: unknown[]) {
  const [cursors, setCursors] = useState<Array<string | undefined>>([undefined])
  const [page, setPage] = useState<Page<T> | null>(null)
  const [error, setError] = useState<unknown>(null)
  const [loading, setLoading] = useState(true)
  const [tick, setTick] = useState(0)
  const depKey = JSON.stringify(deps)
  useEffect(() => { setCursors([undefined]) }, [depKey])
  const cursor = cursors[cursors.length - 1]
  useEffect(() => {
    let live = true
    setLoading(true)
    load(cursor).then(p => { if (live) { setPage(p); setError(null); setLoading(false) } }, e => { if (live) { setError(e); setLoading(false) } })
    return () => { live = false }
  }, [cursor, depKey, tick])
  return {
    items: page?.items ?? [],
    error,
    loading,
    pageNumber: cursors.length,
    hasNext: page?.nextCursor !== null && page?.nextCursor !== undefined,
    next: () => { if (page?.nextCursor) setCursors(c => [...c, page.nextCursor ?? undefined]) },
    previous: () => setCursors(c => c.length > 1 ? c.slice(0, -1) : c),
    reload: () => setTick(t => t + 1)
  }
}

export function Pager ({ paged, label }: { paged: ReturnType<typeof usePaged<unknown>> | ReturnType<typeof usePaged<any>>, label: string }) {
  return (
    <nav className='pager' aria-label={`${label} pages`}>
      <button type='button' onClick={paged.previous} disabled={paged.pageNumber === 1 || paged.loading}>Previous</button>
      <span>Page {paged.pageNumber}</span>
      <button type='button' onClick={paged.next} disabled={!paged.hasNext || paged.loading}>Next</button>
    </nav>
  )
}

export function PagedTable<T> ({ paged, label, head, row, empty }: {
  paged: ReturnType<typeof usePaged<T>>
  label: string
  head: ReactNode
  row: (item: T) => ReactNode
  empty?: string
}) {
  return (
    <div>
      <ErrorNote error={paged.error} />
      <table aria-label={label} aria-busy={paged.loading}>
        <thead>{head}</thead>
        <tbody>
          {paged.items.map(row)}
          {!paged.loading && paged.items.length === 0 && <tr><td colSpan={99} className='muted'>{empty ?? 'Nothing here.'}</td></tr>}
        </tbody>
      </table>
      <Pager paged={paged} label={label} />
    </div>
  )
}

/** A small History-API router: the console's pages are paths under /console/. */
import { useEffect, useState, type AnchorHTMLAttributes, type MouseEvent } from 'react'

const listeners = new Set<() => void>()
export function navigate (to: string, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', to)
  else history.pushState(null, '', to)
  for (const fn of listeners) fn()
}
window.addEventListener('popstate', () => { for (const fn of listeners) fn() })

export function useLocation (): URL {
  const [href, setHref] = useState(location.href)
  useEffect(() => {
    const fn = () => setHref(location.href)
    listeners.add(fn)
    return () => { listeners.delete(fn) }
  }, [])
  return new URL(href)
}

export function Link ({ to, ...rest }: { to: string } & AnchorHTMLAttributes<HTMLAnchorElement>) {
  const onClick = (e: MouseEvent<HTMLAnchorElement>) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return
    e.preventDefault()
    navigate(to)
  }
  return <a href={to} onClick={onClick} {...rest} />
}

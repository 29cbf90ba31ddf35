import { useEffect, useState, type FormEvent } from 'react'
import { chosenTenant, completeSignIn, currentSession, isLoginRequired, onSession, signIn, signOut, silentSignIn, type Session } from './auth'
import { api, call, messageOf, type Schemas } from './api'
import { Link, navigate, useLocation } from './router'
import { Users } from './pages/Users'
import { UserDetail } from './pages/UserDetail'
import { Roles } from './pages/Roles'
import { RoleDetail } from './pages/RoleDetail'
import { Permissions } from './pages/Permissions'
import { Tenants, TenantDetail } from './pages/Tenants'
import { Clients } from './pages/Clients'
import { Keys } from './pages/Keys'
import { Audit } from './pages/Audit'
import { Tester } from './pages/Tester'
import { Account } from './pages/Account'

const NAV: Array<{ to: string, label: string, needs: string }> = [
  { to: '/console/users', label: 'Users', needs: 'users:read' },
  { to: '/console/roles', label: 'Roles', needs: 'roles:read' },
  { to: '/console/permissions', label: 'Permissions', needs: 'permissions:read' },
  { to: '/console/tenants', label: 'Tenants', needs: 'tenants:read' },
  { to: '/console/clients', label: 'Clients', needs: 'clients:read' },
  { to: '/console/keys', label: 'Signing keys', needs: 'keys:read' },
  { to: '/console/audit', label: 'Audit log', needs: 'audit:read' },
  { to: '/console/tester', label: 'Decision tester', needs: 'authz:check' }
]

/** does a held name (maybe a wildcard) cover this permission? */
const covers = (held: string[], needed: string) => held.some(h => h === '*' || h === needed || (h.endsWith(':*') && needed.startsWith(h.slice(0, -1))))

type Phase = { kind: 'starting' } | { kind: 'signed-out', error?: string } | { kind: 'signed-in', session: Session }

export function App () {
  const [phase, setPhase] = useState<Phase>({ kind: 'starting' })
  useEffect(() => onSession(s => setPhase(s === null ? { kind: 'signed-out' } : { kind: 'signed-in', session: s })), [])
  useEffect(() => {
    const start = async () => {
      if (location.pathname.startsWith('/console/callback')) {
        try {
          navigate(await completeSignIn(), { replace: true })
        } catch (e) {
          navigate('/console/', { replace: true })
          setPhase({ kind: 'signed-out', error: messageOf(e) })
        }
        return
      }
      if (currentSession() !== null) return
      try {
        await silentSignIn()
      } catch (e) {
        setPhase({ kind: 'signed-out', ...(isLoginRequired(e) ? {} : { error: messageOf(e) }) })
      }
    }
    void start()
  }, [])
  if (phase.kind === 'starting') return <main className='center' aria-busy='true'><p>Signing in…</p></main>
  if (phase.kind === 'signed-out') return <SignIn error={phase.error} />
  return <Shell />
}

function SignIn ({ error }: { error?: string }) {
  const [tenant, setTenant] = useState(chosenTenant() ?? '')
  const submit = (e: FormEvent) => {
    e.preventDefault()
    void signIn(location.pathname.startsWith('/console/callback') ? '/console/' : location.pathname + location.search, tenant.trim())
  }
  return (
    <main className='center'>
      <form className='card signin' onSubmit={submit}>
        <h1>Warden console</h1>
        <p>Administer users, roles, permissions, tenants, clients and keys.</p>
        {error !== undefined && <p className='error' role='alert'>{error}</p>}
        <label className='field'>
          <span>Tenant (optional: slug or id; empty for your first tenant)</span>
          <input name='tenant' value={tenant} onChange={e => setTenant(e.target.value)} autoComplete='organization' />
        </label>
        <p><button type='submit' className='primary'>Sign in</button></p>
      </form>
    </main>
  )
}

function Shell () {
  const url = useLocation()
  const [me, setMe] = useState<Schemas['Me'] | null>(null)
  const [meError, setMeError] = useState<unknown>(null)
  useEffect(() => { call(api.GET('/v1/auth/me')).then(setMe, setMeError) }, [])
  const held = me?.permissions ?? []
  const nav = NAV.filter(n => covers(held, n.needs))
  return (
    <div className='shell'>
      <a className='skip' href='#main'>Skip to content</a>
      <header className='top'>
        <Link to='/console/' className='brand'>Warden</Link>
        <span className='who'>{me !== null ? <>{me.username} · <span data-testid='tenant-name'>{me.tenant.name}</span></> : ''}</span>
        <button type='button' onClick={signOut}>Sign out</button>
      </header>
      <nav className='side' aria-label='Console'>
        <ul>
          {nav.map(n => <li key={n.to}><Link to={n.to} aria-current={url.pathname.startsWith(n.to) ? 'page' : undefined}>{n.label}</Link></li>)}
          <li><Link to='/console/account' aria-current={url.pathname === '/console/account' ? 'page' : undefined}>Your account</Link></li>
        </ul>
      </nav>
      <main id='main' className='content'>
        {meError !== null && <p className='error' role='alert'>{messageOf(meError)}</p>}
        <Page path={url.pathname} first={nav[0]?.to} />
      </main>
    </div>
  )
}

function Page ({ path, first }: { path: string, first: string | undefined }) {
  const parts = path.replace(/^\/console\/?/, '').split('/').filter(Boolean).map(decodeURIComponent)
  useEffect(() => { if (parts.length === 0 && first !== undefined) navigate(first, { replace: true }) }, [path, first])
  switch (parts[0]) {
    case 'users': return parts[1] !== undefined ? <UserDetail id={parts[1]} /> : <Users />
    case 'roles': return parts[1] !== undefined ? <RoleDetail name={parts[1]} /> : <Roles />
    case 'permissions': return <Permissions />
    case 'tenants': return parts[1] !== undefined ? <TenantDetail id={parts[1]} /> : <Tenants />
    case 'clients': return <Clients />
    case 'keys': return <Keys />
    case 'audit': return <Audit />
    case 'tester': return <Tester />
    case 'account': return <Account />
    case undefined: return <p>Choose a page.</p>
    default: return <><h1>Not found</h1><p>There is no page {path}.</p></>
  }
}

import { lazy, Suspense, useMemo } from 'react';
import type { SessionUser } from './api/auth';
import { useRoute } from './router';
import { ErrorBox } from './components/Common';
import { AuthContext, useSession } from './components/useSession';
import { ExperimentsPage } from './pages/Experiments';
import { RunsPage } from './pages/Runs';
import { SignInPage } from './pages/SignIn';

// The experiments list and the runs table are in the main bundle (the first view users wait on); the other pages,
// with their markdown, YAML and chart code, load on first visit.
const RunPage = lazy(() => import('./pages/RunPage').then((m) => ({ default: m.RunPage })));
const ComparePage = lazy(() => import('./pages/Compare').then((m) => ({ default: m.ComparePage })));
const ModelsPage = lazy(() => import('./pages/Models').then((m) => ({ default: m.ModelsPage })));
const ModelPage = lazy(() => import('./pages/Models').then((m) => ({ default: m.ModelPage })));
const ModelVersionPage = lazy(() => import('./pages/ModelVersion').then((m) => ({ default: m.ModelVersionPage })));
const AdminPage = lazy(() => import('./pages/Admin').then((m) => ({ default: m.AdminPage })));
const TokensPage = lazy(() => import('./pages/Tokens').then((m) => ({ default: m.TokensPage })));

/**
 * The app: reads the server's auth settings first. Without authentication it is the pages as they always were; with
 * it, the sign-in page shows until someone signs in (or after a 401), in place of the page the URL names, which
 * therefore is the page they see once signed in.
 */
export function App() {
  const session = useSession();
  const { config, user } = session;
  const auth = useMemo(() => (config ? { config, user } : null), [config, user]);
  if (!auth) {
    return (
      <div className="app"><main className="page">
        {session.error ? (
          <>
            <ErrorBox error={`Could not reach the mltrail server: ${session.error}`} />
            <button type="button" onClick={session.retry}>Retry</button>
          </>
        ) : <p className="muted">Loading…</p>}
      </main></div>
    );
  }
  if (auth.config.auth_enabled && !user) {
    return <SignInPage config={auth.config} onSignedIn={session.signedIn} notice={session.notice} />;
  }
  return <AuthContext.Provider value={auth}><Shell user={user} onSignOut={session.signOut} /></AuthContext.Provider>;
}

function Shell({ user, onSignOut }: { user: SessionUser | null; onSignOut: () => void }) {
  const { path, params } = useRoute();
  let page;
  if (path[0] === 'experiments' && path[1]) page = <RunsPage key={path[1]} experimentIds={path[1].split(',')} params={params} />;
  else if (path[0] === 'runs' && path[1]) page = <RunPage key={path[1]} runId={path[1]} params={params} />;
  else if (path[0] === 'compare') page = <ComparePage params={params} />;
  else if (path[0] === 'models' && path[1] && path[2] === 'versions' && path[3]) {
    page = <ModelVersionPage key={`${path[1]}/${path[3]}`} name={path[1]} version={path[3]} />;
  } else if (path[0] === 'models' && path[1]) page = <ModelPage key={path[1]} name={path[1]} />;
  else if (path[0] === 'models') page = <ModelsPage params={params} />;
  else if (path[0] === 'admin') page = <AdminPage params={params} />;
  else if (path[0] === 'tokens') page = <TokensPage />;
  else page = <ExperimentsPage params={params} />;
  const section = ['models', 'admin', 'tokens'].includes(path[0]) ? path[0] : 'experiments';
  return (
    <div className="app">
      <header className="topbar">
        <a className="brand" href="#/">mltrail</a>
        <a className={section === 'experiments' ? 'active' : ''} href="#/">Experiments</a>
        <a className={section === 'models' ? 'active' : ''} href="#/models">Models</a>
        {user?.is_admin && <a className={section === 'admin' ? 'active' : ''} href="#/admin">Admin</a>}
        {user && <UserMenu user={user} active={section === 'tokens'} onSignOut={onSignOut} />}
      </header>
      <main><Suspense fallback={<p className="muted">Loading…</p>}>{page}</Suspense></main>
    </div>
  );
}

function UserMenu({ user, active, onSignOut }: { user: SessionUser; active: boolean; onSignOut: () => void }) {
  return (
    <nav className="user-menu" aria-label="Account">
      <span className="user" title={`Signed in as ${user.username}`}>
        <span data-testid="current-user">{user.username}</span>{user.is_admin && <span className="badge">admin</span>}
      </span>
      <a className={active ? 'active' : ''} href="#/tokens">Access tokens</a>
      <button type="button" className="link" onClick={onSignOut}>Sign out</button>
    </nav>
  );
}

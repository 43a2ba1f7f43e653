import { lazy, Suspense } from 'react';
import { useRoute } from './router';
import { ExperimentsPage } from './pages/Experiments';
import { RunsPage } from './pages/Runs';

// The experiments list and the runs table are in the main bundle (the first view users wait on); the other pages,
// with their markdown, YAML and chart code, load on first visit.
const RunPage = lazy(() => import('./pages/RunPage').then((m) => ({ default: m.RunPage })));
const ComparePage = lazy(() => import('./pages/Compare').then((m) => ({ default: m.ComparePage })));
const ModelsPage = lazy(() => import('./pages/Models').then((m) => ({ default: m.ModelsPage })));
const ModelPage = lazy(() => import('./pages/Models').then((m) => ({ default: m.ModelPage })));
const ModelVersionPage = lazy(() => import('./pages/ModelVersion').then((m) => ({ default: m.ModelVersionPage })));

export function App() {
  const { path, params } = useRoute();
  let page;
  if (path[0] === 'experiments' && path[1]) page = <RunsPage key={path[1]} experimentIds={path[1].split(',')} params={params} />;
  else if (path[0] === 'runs' && path[1]) page = <RunPage key={path[1]} runId={path[1]} params={params} />;
  else if (path[0] === 'compare') page = <ComparePage params={params} />;
  else if (path[0] === 'models' && path[1] && path[2] === 'versions' && path[3]) {
    page = <ModelVersionPage key={`${path[1]}/${path[3]}`} name={path[1]} version={path[3]} />;
  } else if (path[0] === 'models' && path[1]) page = <ModelPage key={path[1]} name={path[1]} />;
  else if (path[0] === 'models') page = <ModelsPage params={params} />;
  else page = <ExperimentsPage params={params} />;
  const section = path[0] === 'models' ? 'models' : 'experiments';
  return (
    <div className="app">
      <header className="topbar">
        <a className="brand" href="#/">mltrail</a>
        <a className={section === 'experiments' ? 'active' : ''} href="#/">Experiments</a>
        <a className={section === 'models' ? 'active' : ''} href="#/models">Models</a>
      </header>
      <main><Suspense fallback={<p className="muted">Loading…</p>}>{page}</Suspense></main>
    </div>
  );
}

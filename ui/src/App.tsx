import { useRoute } from './router';
import { ExperimentsPage } from './pages/Experiments';
import { RunsPage } from './pages/Runs';
import { RunPage } from './pages/RunPage';
import { ComparePage } from './pages/Compare';
import { ModelPage, ModelsPage } from './pages/Models';
import { ModelVersionPage } from './pages/ModelVersion';

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
      <main>{page}</main>
    </div>
  );
}

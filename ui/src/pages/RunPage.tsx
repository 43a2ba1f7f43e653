import { lazy, Suspense, useEffect, useMemo, useState } from 'react';
import { sqlString } from '../api/http';
import { api, artifactUrl, LoggedModel, loggedModelArtifactUrl, Run, runsApi } from '../api/tracking';
import { fmtDuration, fmtTime, fmtValue } from '../format';
import { href, navigate } from '../router';
import { Chart, Series } from '../components/Chart';
import { ErrorBox, Forbidden, Status } from '../components/Common';
import type { ArtifactSource } from '../components/Artifacts';
import { useLoad } from '../components/useLoad';

// Previews (Parquet, YAML, MLmodel) and markdown load on first use, keeping the runs table's bundle small.
const ArtifactBrowser = lazy(() => import('../components/Artifacts').then((m) => ({ default: m.ArtifactBrowser })));
const MarkdownEditor = lazy(() => import('../components/Markdown').then((m) => ({ default: m.MarkdownEditor })));
const loading = <p className="muted">Loading…</p>;

const runArtifacts = (runId: string): ArtifactSource => ({
  key: `run:${runId}`,
  list: (path) => api.listArtifacts(runId, path).then((r) => r.files || []),
  url: (path) => artifactUrl(runId, path),
});
const loggedModelArtifacts = (modelId: string): ArtifactSource => ({
  key: `model:${modelId}`,
  list: (path) => runsApi.listLoggedModelArtifacts(modelId, path).then((r) => r.files || []),
  url: (path) => loggedModelArtifactUrl(modelId, path),
});

const TABS = ['overview', 'params', 'metrics', 'tags', 'artifacts', 'models'] as const;
const TAB_LABEL: Record<string, string> = { models: 'Logged models' };

export function RunPage({ runId, params }: { runId: string; params: URLSearchParams }) {
  const tab = params.get('tab') || 'overview';
  const [tick, setTick] = useState(0);

  const { data: run = null, error, forbidden } = useLoad(() => api.getRun(runId).then((r) => r.run), [runId, tick]);
  const experimentId = run?.info.experiment_id;
  const { data: children = [] } = useLoad(() => (experimentId
    ? api.searchRuns([experimentId], `tags.mlflow.parentRunId = ${sqlString(runId)}`, [], undefined, 100)
      .then((r) => r.runs || [], () => []) : undefined), [experimentId, runId]);
  const { data: expName = null } = useLoad(() => (experimentId
    ? api.getExperiment(experimentId).then((r) => r.experiment.name, () => null) : undefined), [experimentId]);
  const { data: models = null } = useLoad(() => (experimentId
    ? runsApi.loggedModelsOfRun(experimentId, runId).then((r) => r.models || [], () => []) : undefined), [experimentId, runId]);
  // Live updates while the run is running.
  useEffect(() => {
    if (run?.info.status !== 'RUNNING') return;
    const t = setInterval(() => setTick((x) => x + 1), 5000);
    return () => clearInterval(t);
  }, [run?.info.status]);

  if (forbidden) return <div className="page"><Forbidden message={error} /></div>;
  if (error) return <div className="page"><ErrorBox error={error} /></div>;
  if (!run) return <div className="page"><p className="muted">Loading…</p></div>;
  const tag = (k: string) => run.data.tags?.find((t) => t.key === k)?.value;
  const setParam = (t: string) => navigate(`/runs/${runId}`, { tab: t, metric: params.get('metric') || undefined }, true);
  const openModel = (id: string) => navigate(`/runs/${runId}`, { tab: 'models', model: id }, true);

  return (
    <div className="page">
      <div className="crumbs">
        <a href="#/">Experiments</a> / <a href={href(`/experiments/${run.info.experiment_id}`)}>{expName || `Experiment ${run.info.experiment_id}`}</a> / run
      </div>
      <h1>{run.info.run_name || run.info.run_id} <Status status={run.info.status} /></h1>
      <nav className="tabs">
        {TABS.map((t) => (
          <button key={t} className={t === tab ? 'active' : ''} onClick={() => setParam(t)}>
            {TAB_LABEL[t] || t[0].toUpperCase() + t.slice(1)}{t === 'models' && models && models.length ? ` (${models.length})` : ''}
          </button>))}
      </nav>
      {tab === 'overview' && (
        <div>
          <table className="kv">
            <tbody>
              <tr><th>Run ID</th><td className="mono">{run.info.run_id}</td></tr>
              <tr><th>Status</th><td><Status status={run.info.status} /></td></tr>
              <tr><th>Started</th><td>{fmtTime(run.info.start_time)}</td></tr>
              <tr><th>Duration</th><td>{fmtDuration(run.info.start_time, run.info.end_time)}</td></tr>
              <tr><th>User</th><td>{run.info.user_id || tag('mlflow.user')}</td></tr>
              <tr><th>Source</th><td>{tag('mlflow.source.name')}</td></tr>
              <tr><th>Git commit</th><td className="mono">{tag('mlflow.source.git.commit')}</td></tr>
              <tr><th>Artifact URI</th><td className="mono">{run.info.artifact_uri}</td></tr>
              <tr><th>Parent run</th><td>{tag('mlflow.parentRunId') ? <a href={href(`/runs/${tag('mlflow.parentRunId')}`)}>{tag('mlflow.parentRunId')}</a> : '—'}</td></tr>
              <tr><th>Child runs</th><td>{children.length ? children.map((c) => (
                <a key={c.info.run_id} className="chip" href={href(`/runs/${c.info.run_id}`)}>{c.info.run_name || c.info.run_id}</a>)) : '—'}</td></tr>
              <tr><th>Logged models</th><td>{models && models.length ? models.map((m) => (
                <button key={m.info.model_id} className="chip link" onClick={() => openModel(m.info.model_id)}>{m.info.name || m.info.model_id}</button>)) : '—'}</td></tr>
              <tr><th>Datasets</th><td>{(run.inputs?.dataset_inputs || []).map((d: any, i: number) => (
                <span key={i} className="chip">{d.dataset?.name} ({d.dataset?.digest})</span>)) || '—'}</td></tr>
            </tbody>
          </table>
          <h3>Description</h3>
          <Description run={run} onSaved={() => setTick((x) => x + 1)} />
          <h3>Metrics</h3>
          <MetricsTable run={run} />
          <h3>Params</h3>
          <ParamsTable run={run} />
        </div>
      )}
      {tab === 'params' && <ParamsTable run={run} />}
      {tab === 'metrics' && <MetricsTab run={run} selected={params.get('metric')} tick={tick} />}
      {tab === 'tags' && <TagsTab run={run} onChange={() => setTick((x) => x + 1)} />}
      {tab === 'artifacts' && <Suspense fallback={loading}><ArtifactBrowser source={runArtifacts(runId)} path={params.get('path') || ''}
        onSelect={(p) => navigate(`/runs/${runId}`, { tab: 'artifacts', path: p }, true)} /></Suspense>}
      {tab === 'models' && <LoggedModels runId={runId} models={models} selected={params.get('model')} path={params.get('path')} />}
    </div>
  );
}

function Description({ run, onSaved }: { run: Run; onSaved: () => void }) {
  const current = run.data.tags?.find((t) => t.key === 'mlflow.note.content')?.value || '';
  return <div className="description">
    <Suspense fallback={<div className="pre">{current}</div>}>
      <MarkdownEditor value={current} onSave={(text) => api.setTag(run.info.run_id, 'mlflow.note.content', text).then(onSaved)} />
    </Suspense>
  </div>;
}

function ParamsTable({ run }: { run: Run }) {
  const ps = [...(run.data.params || [])].sort((a, b) => a.key.localeCompare(b.key));
  if (!ps.length) return <p className="muted">No params.</p>;
  return (
    <table className="grid params"><thead><tr><th>Param</th><th>Value</th></tr></thead>
      <tbody>{ps.map((p) => <tr key={p.key}><td>{p.key}</td><td className="mono">{p.value}</td></tr>)}</tbody></table>
  );
}

function MetricsTable({ run, onPick }: { run: Run; onPick?: (k: string) => void }) {
  const ms = [...(run.data.metrics || [])].sort((a, b) => a.key.localeCompare(b.key));
  if (!ms.length) return <p className="muted">No metrics.</p>;
  return (
    <table className="grid metrics"><thead><tr><th>Metric</th><th>Latest</th><th>Step</th></tr></thead>
      <tbody>{ms.map((m) => (
        <tr key={m.key} className={onPick ? 'clickable' : ''} onClick={() => onPick && onPick(m.key)}>
          <td>{onPick ? <a href={href(`/runs/${run.info.run_id}`, { tab: 'metrics', metric: m.key })}>{m.key}</a> : m.key}</td>
          <td className="mono">{fmtValue(m.value)}</td><td>{m.step}</td></tr>))}
      </tbody></table>
  );
}

function MetricsTab({ run, selected, tick }: { run: Run; selected: string | null; tick: number }) {
  const keys = (run.data.metrics || []).map((m) => m.key).sort();
  const key = selected && keys.includes(selected) ? selected : keys[0];
  const { data: series, error } = useLoad(() => (key ? api.historyDownsampled([run.info.run_id], key).then((r) => (
    [{ label: key, points: (r.metrics || []).map((m) => ({ x: Number(m.step), y: Number(m.value) })) }] as Series[]))
    : undefined), [run.info.run_id, key, tick]);
  return (
    <div>
      <ErrorBox error={error} />
      {key && series && <Chart series={series} title={key} />}
      <MetricsTable run={run} onPick={(k) => navigate(`/runs/${run.info.run_id}`, { tab: 'metrics', metric: k }, true)} />
    </div>
  );
}

function TagsTab({ run, onChange }: { run: Run; onChange: () => void }) {
  const [k, setK] = useState('');
  const [v, setV] = useState('');
  const tags = [...(run.data.tags || [])].sort((a, b) => a.key.localeCompare(b.key));
  return (
    <div>
      <table className="grid tags"><thead><tr><th>Tag</th><th>Value</th><th /></tr></thead>
        <tbody>{tags.map((t) => (
          <tr key={t.key}><td>{t.key}</td><td className="mono pre">{t.value}</td>
            <td><button onClick={() => { setK(t.key); setV(t.value); }}>Edit</button>
              <button className="danger" onClick={() => runsApi.deleteTag(run.info.run_id, t.key).then(onChange)}>Delete</button></td></tr>))}
        </tbody></table>
      <form className="toolbar" onSubmit={(e) => { e.preventDefault(); if (k) api.setTag(run.info.run_id, k, v).then(() => { setK(''); setV(''); onChange(); }); }}>
        <input aria-label="Tag key" placeholder="key" value={k} onChange={(e) => setK(e.target.value)} />
        <input aria-label="Tag value" placeholder="value" value={v} onChange={(e) => setV(e.target.value)} />
        <button type="submit">Set tag</button>
      </form>
    </div>
  );
}

function LoggedModels({ runId, models, selected, path }: { runId: string; models: LoggedModel[] | null; selected: string | null; path: string | null }) {
  const current = models?.find((m) => m.info.model_id === selected) || models?.[0];
  const source = useMemo(() => loggedModelArtifacts(current?.info.model_id || ''), [current?.info.model_id]);
  if (models === null) return <p className="muted">Loading…</p>;
  if (!models.length || !current) return <p className="muted">This run logged no models.</p>;
  const go = (model: string, p?: string) => navigate(`/runs/${runId}`, { tab: 'models', model, path: p }, true);
  return (
    <div>
      <table className="grid logged-models">
        <thead><tr><th>Name</th><th>Model ID</th><th>Type</th><th>Status</th><th>Created</th><th>Registered as</th><th>Params</th></tr></thead>
        <tbody>{models.map((m) => (
          <tr key={m.info.model_id} className={`clickable${m === current ? ' selected' : ''}`} onClick={() => go(m.info.model_id)}>
            <td><button className="link" onClick={() => go(m.info.model_id)}>{m.info.name || '(unnamed)'}</button></td>
            <td className="mono small">{m.info.model_id}</td>
            <td>{m.info.model_type || '—'}</td>
            <td><span className={`status status-${(m.info.status || '').replace('LOGGED_MODEL_', '').toLowerCase()}`}>{(m.info.status || '').replace('LOGGED_MODEL_', '')}</span></td>
            <td>{fmtTime(m.info.creation_timestamp_ms)}</td>
            <td>{(m.info.registrations || []).map((r) => (
              <a key={`${r.name}/${r.version}`} className="chip" href={href(`/models/${r.name}`)} onClick={(e) => e.stopPropagation()}>{r.name} v{r.version}</a>))}
              {!(m.info.registrations || []).length && '—'}</td>
            <td className="small">{(m.data?.params || []).slice(0, 4).map((p) => `${p.key}=${p.value}`).join(', ')}</td>
          </tr>))}
        </tbody>
      </table>
      <h3>Artifacts of {current.info.name || current.info.model_id}</h3>
      <Suspense fallback={loading}>
        <ArtifactBrowser source={source} path={path || ''} autoSelect="MLmodel" onSelect={(p) => go(current.info.model_id, p)} />
      </Suspense>
    </div>
  );
}

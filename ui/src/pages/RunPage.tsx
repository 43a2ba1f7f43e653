import { useEffect, useState } from 'react';
import { api, artifactUrl, FileInfo, fmtBytes, fmtDuration, fmtTime, fmtValue, Run } from '../api';
import { href, navigate } from '../router';
import { Chart, Series } from '../components/Chart';
import { ErrorBox, Status } from '../components/Common';

const TABS = ['overview', 'params', 'metrics', 'tags', 'artifacts'] as const;

export function RunPage({ runId, params }: { runId: string; params: URLSearchParams }) {
  const tab = params.get('tab') || 'overview';
  const [run, setRun] = useState<Run | null>(null);
  const [children, setChildren] = useState<Run[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    api.getRun(runId).then((r) => { setRun(r.run); setError(null); }).catch((e) => setError(String(e.message || e)));
  }, [runId, tick]);
  useEffect(() => {
    if (!run) return;
    api.searchRuns([run.info.experiment_id], `tags.mlflow.parentRunId = '${runId}'`, [], undefined, 100)
      .then((r) => setChildren(r.runs || [])).catch(() => setChildren([]));
  }, [run?.info.experiment_id, runId]);
  // Live updates while the run is running.
  useEffect(() => {
    if (run?.info.status !== 'RUNNING') return;
    const t = setInterval(() => setTick((x) => x + 1), 5000);
    return () => clearInterval(t);
  }, [run?.info.status]);

  if (error) return <div className="page"><ErrorBox error={error} /></div>;
  if (!run) return <div className="page"><p className="muted">Loading…</p></div>;
  const tag = (k: string) => run.data.tags?.find((t) => t.key === k)?.value;
  const setParam = (t: string) => navigate(`/runs/${runId}`, { tab: t, metric: params.get('metric') || undefined }, true);

  return (
    <div className="page">
      <div className="crumbs">
        <a href="#/">Experiments</a> / <a href={href(`/experiments/${run.info.experiment_id}`)}>Experiment {run.info.experiment_id}</a> / run
      </div>
      <h1>{run.info.run_name || run.info.run_id} <Status status={run.info.status} /></h1>
      <nav className="tabs">
        {TABS.map((t) => <button key={t} className={t === tab ? 'active' : ''} onClick={() => setParam(t)}>{t[0].toUpperCase() + t.slice(1)}</button>)}
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
      {tab === 'artifacts' && <Artifacts runId={runId} path={params.get('path') || ''} />}
    </div>
  );
}

function Description({ run, onSaved }: { run: Run; onSaved: () => void }) {
  const current = run.data.tags?.find((t) => t.key === 'mlflow.note.content')?.value || '';
  const [edit, setEdit] = useState<string | null>(null);
  if (edit !== null) {
    return (
      <div>
        <textarea aria-label="Description" rows={5} value={edit} onChange={(e) => setEdit(e.target.value)} />
        <div><button onClick={() => api.setTag(run.info.run_id, 'mlflow.note.content', edit).then(() => { setEdit(null); onSaved(); })}>Save</button>
          <button onClick={() => setEdit(null)}>Cancel</button></div>
      </div>
    );
  }
  return <div className="description"><div className="pre">{current || <span className="muted">No description.</span>}</div>
    <button onClick={() => setEdit(current)}>Edit</button></div>;
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
  const [series, setSeries] = useState<Series[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!key) return;
    api.historyInterval([run.info.run_id], key).then((r) => {
      setSeries([{ label: key, points: (r.metrics || []).map((m) => ({ x: Number(m.step), y: Number(m.value) })) }]);
    }).catch((e) => setError(String(e.message || e)));
  }, [run.info.run_id, key, tick]);
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
              <button className="danger" onClick={() => fetch('ajax-api/2.0/mlflow/runs/delete-tag', {
                method: 'POST', headers: { 'Content-Type': 'application/json' },
                body: JSON.stringify({ run_id: run.info.run_id, key: t.key }),
              }).then(onChange)}>Delete</button></td></tr>))}
        </tbody></table>
      <form className="toolbar" onSubmit={(e) => { e.preventDefault(); if (k) api.setTag(run.info.run_id, k, v).then(() => { setK(''); setV(''); onChange(); }); }}>
        <input aria-label="Tag key" placeholder="key" value={k} onChange={(e) => setK(e.target.value)} />
        <input aria-label="Tag value" placeholder="value" value={v} onChange={(e) => setV(e.target.value)} />
        <button type="submit">Set tag</button>
      </form>
    </div>
  );
}

const IMAGE = /\.(png|jpe?g|gif|svg|webp|bmp)$/i;
const TEXT = /(\.(txt|log|md|py|json|ya?ml|csv|tsv|cfg|ini|toml|sh|html|xml)|MLmodel|requirements\.txt)$/i;

function Artifacts({ runId, path }: { runId: string; path: string }) {
  const [root, setRoot] = useState<FileInfo[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api.listArtifacts(runId).then((r) => setRoot(r.files || [])).catch((e) => setError(String(e.message || e)));
  }, [runId]);
  const select = (p: string) => navigate(`/runs/${runId}`, { tab: 'artifacts', path: p }, true);
  return (
    <div className="artifacts">
      <ErrorBox error={error} />
      <div className="tree">
        {root === null ? <p className="muted">Loading…</p> : root.length === 0 ? <p className="muted">No artifacts.</p>
          : root.map((f) => <TreeNode key={f.path} runId={runId} file={f} selected={path} onSelect={select} />)}
      </div>
      <div className="preview">{path ? <Preview runId={runId} path={path} /> : <p className="muted">Select a file to preview.</p>}</div>
    </div>
  );
}

function TreeNode({ runId, file, selected, onSelect }: { runId: string; file: FileInfo; selected: string; onSelect: (p: string) => void }) {
  const [open, setOpen] = useState(selected.startsWith(file.path + '/'));
  const [kids, setKids] = useState<FileInfo[] | null>(null);
  useEffect(() => {
    if (open && file.is_dir && kids === null) api.listArtifacts(runId, file.path).then((r) => setKids(r.files || []));
  }, [open]);
  const name = file.path.split('/').pop();
  if (file.is_dir) {
    return (
      <div className="node">
        <button className="link" onClick={() => setOpen(!open)}>{open ? '▾' : '▸'} {name}/</button>
        {open && <div className="children">{(kids || []).map((k) => <TreeNode key={k.path} runId={runId} file={k} selected={selected} onSelect={onSelect} />)}</div>}
      </div>
    );
  }
  return (
    <div className={`node file${selected === file.path ? ' selected' : ''}`}>
      <button className="link" onClick={() => onSelect(file.path)}>{name}</button> <span className="muted">{fmtBytes(file.file_size)}</span>
    </div>
  );
}

export function Preview({ runId, path }: { runId: string; path: string }) {
  const url = artifactUrl(runId, path);
  const [text, setText] = useState<string | null>(null);
  const isImage = IMAGE.test(path);
  const isText = TEXT.test(path);
  useEffect(() => {
    setText(null);
    if (!isText) return;
    fetch(url).then(async (r) => {
      const blob = await r.blob();
      const t = await blob.slice(0, 1024 * 1024).text();
      if (/\.json$/i.test(path)) { try { setText(JSON.stringify(JSON.parse(t), null, 2)); return; } catch { /* raw */ } }
      setText(t);
    });
  }, [url]);
  return (
    <div>
      <div className="toolbar"><strong className="mono">{path}</strong><a className="button" href={url} download={path.split('/').pop()}>Download</a></div>
      {isImage && <img className="artifact-image" src={url} alt={path} />}
      {isText && (text === null ? <p className="muted">Loading…</p>
        : /\.(csv|tsv)$/i.test(path) ? <CsvTable text={text} sep={/\.tsv$/i.test(path) ? '\t' : ','} />
        : <pre className="artifact-text" data-testid="artifact-text">{text}</pre>)}
      {!isImage && !isText && <p className="muted">No preview for this file type.</p>}
    </div>
  );
}

function CsvTable({ text, sep }: { text: string; sep: string }) {
  const rows = text.split(/\r?\n/).filter(Boolean).slice(0, 500).map((l) => l.split(sep));
  if (!rows.length) return null;
  return (
    <table className="grid"><thead><tr>{rows[0].map((h, i) => <th key={i}>{h}</th>)}</tr></thead>
      <tbody>{rows.slice(1).map((r, i) => <tr key={i}>{r.map((c, j) => <td key={j}>{c}</td>)}</tr>)}</tbody></table>
  );
}

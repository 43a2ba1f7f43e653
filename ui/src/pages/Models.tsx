import { useEffect, useState } from 'react';
import { api, fmtTime } from '../api';
import { href, navigate } from '../router';
import { ErrorBox } from '../components/Common';

export function ModelsPage({ params }: { params: URLSearchParams }) {
  const q = params.get('q') || '';
  const [search, setSearch] = useState(q);
  const [models, setModels] = useState<any[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api.searchModels(q ? `name ILIKE '%${q.replace(/'/g, "\\'")}%'` : '')
      .then((r) => setModels(r.registered_models || [])).catch((e) => setError(String(e.message || e)));
  }, [q]);
  return (
    <div className="page">
      <h1>Registered models</h1>
      <form className="toolbar" onSubmit={(e) => { e.preventDefault(); navigate('/models', { q: search }); }}>
        <input aria-label="Search models" placeholder="Search models by name" value={search} onChange={(e) => setSearch(e.target.value)} />
        <button type="submit">Search</button>
      </form>
      <ErrorBox error={error} />
      {models === null ? <p className="muted">Loading…</p> : models.length === 0 ? <p className="muted">No registered models.</p> : (
        <table className="grid models"><thead><tr><th>Name</th><th>Latest version</th><th>Aliases</th><th>Last modified</th></tr></thead>
          <tbody>{models.map((m) => (
            <tr key={m.name}><td><a href={href(`/models/${encodeURIComponent(m.name)}`)}>{m.name}</a></td>
              <td>{(m.latest_versions || []).map((v: any) => v.version).sort((a: string, b: string) => Number(b) - Number(a))[0] || '—'}</td>
              <td>{(m.aliases || []).map((a: any) => <span key={a.alias} className="chip">@{a.alias} → v{a.version}</span>)}</td>
              <td>{fmtTime(m.last_updated_timestamp)}</td></tr>))}
          </tbody></table>
      )}
    </div>
  );
}

export function ModelPage({ name }: { name: string }) {
  const [model, setModel] = useState<any>(null);
  const [versions, setVersions] = useState<any[]>([]);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api.getModel(name).then((r) => setModel(r.registered_model)).catch((e) => setError(String(e.message || e)));
    api.searchVersions(name).then((r) => setVersions((r.model_versions || []).sort((a, b) => Number(b.version) - Number(a.version))))
      .catch((e) => setError(String(e.message || e)));
  }, [name]);
  const aliasesOf = (v: string) => (model?.aliases || []).filter((a: any) => a.version === v).map((a: any) => a.alias);
  return (
    <div className="page">
      <div className="crumbs"><a href="#/models">Models</a> / {name}</div>
      <h1>{name}</h1>
      <ErrorBox error={error} />
      {model && (
        <>
          <p className="pre">{model.description || <span className="muted">No description.</span>}</p>
          <div>{(model.tags || []).map((t: any) => <span key={t.key} className="chip">{t.key}={t.value}</span>)}</div>
          <h3>Versions</h3>
          <table className="grid versions"><thead><tr><th>Version</th><th>Stage</th><th>Aliases</th><th>Created</th><th>Source run</th></tr></thead>
            <tbody>{versions.map((v) => (
              <tr key={v.version}><td>v{v.version}</td><td>{v.current_stage}</td>
                <td>{aliasesOf(v.version).map((a: string) => <span key={a} className="chip">@{a}</span>)}</td>
                <td>{fmtTime(v.creation_timestamp)}</td>
                <td>{v.run_id ? <a href={href(`/runs/${v.run_id}`)}>{v.run_id.slice(0, 8)}</a> : '—'}</td></tr>))}
            </tbody></table>
        </>
      )}
    </div>
  );
}

import { useState } from 'react';
import { sqlString } from '../api/http';
import { ModelVersion, RegisteredModel, registryApi } from '../api/registry';
import { api } from '../api/tracking';
import { fmtTime } from '../format';
import { href, navigate } from '../router';
import { ErrorBox, Forbidden } from '../components/Common';
import { AliasEditor } from '../components/AliasEditor';
import { MarkdownEditor } from '../components/Markdown';
import { PermissionsPanel } from '../components/PermissionsPanel';
import { TagEditor } from '../components/TagEditor';
import { useLoad } from '../components/useLoad';

const PAGE_SIZES = [25, 50, 100];
const SORTS: Record<string, string> = { name: 'name', updated: 'last_updated_timestamp' };

/** The registry's filter for a name search box: a case-insensitive substring match. */
export function modelFilter(q: string): string {
  return q ? `name ILIKE ${sqlString(`%${q}%`)}` : '';
}

/** `name:asc` (the URL's form) -> `name ASC` (the search API's form); unknown columns fall back to the name. */
export function modelOrderBy(order: string): string[] {
  const [col, dir] = order.split(':');
  return [`${SORTS[col] || 'name'} ${dir === 'desc' ? 'DESC' : 'ASC'}`];
}

/** The first line of a markdown description as plain text, for a table cell. */
export function snippet(md?: string): string {
  return (md || '').trim().split('\n')[0].replace(/[*_`#>]+/g, '').replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').trim();
}

/** The newest version number among a model's latest versions. */
export function latestVersion(m: RegisteredModel): string | undefined {
  return (m.latest_versions || []).map((v) => v.version).sort((a, b) => Number(b) - Number(a))[0];
}

/** The distinct source runs of the picked versions, in version order. */
export function compareRuns(versions: ModelVersion[], picked: string[]): string[] {
  return [...new Set(versions.filter((v) => picked.includes(v.version) && v.run_id).map((v) => v.run_id!))];
}

export function StageBadge({ stage }: { stage?: string }) {
  const s = stage || 'None';
  return <span className={`stage stage-${s.toLowerCase()}`}>{s}</span>;
}

export function ModelsPage({ params }: { params: URLSearchParams }) {
  const q = params.get('q') || '';
  const order = params.get('order') || 'name:asc';
  const token = params.get('page') || undefined;
  const size = PAGE_SIZES.includes(Number(params.get('n'))) ? Number(params.get('n')) : PAGE_SIZES[0];
  const [search, setSearch] = useState(q);
  const [prev, setPrev] = useState<(string | undefined)[]>([]);
  const page = useLoad(() => registryApi.searchModels(modelFilter(q), modelOrderBy(order), token, size), [q, order, token, size]);
  const { error } = page;
  const models = error ? [] : page.data ? page.data.registered_models || [] : null;
  const next = error ? undefined : page.data?.next_page_token || undefined;
  const go = (patch: Record<string, string | undefined>) =>
    navigate('/models', { q, order: order === 'name:asc' ? undefined : order, n: size === PAGE_SIZES[0] ? undefined : String(size), ...patch });
  const sortBy = (col: string) => {
    const [cur, dir] = order.split(':');
    const nextOrder = cur === col ? `${col}:${dir === 'asc' ? 'desc' : 'asc'}` : `${col}:${col === 'name' ? 'asc' : 'desc'}`;
    setPrev([]);
    go({ order: nextOrder, page: undefined });
  };
  const arrow = (col: string) => (order.split(':')[0] === col ? (order.endsWith(':desc') ? ' ▼' : ' ▲') : '');
  return (
    <div className="page">
      <h1>Registered models</h1>
      <form className="toolbar" onSubmit={(e) => { e.preventDefault(); setPrev([]); go({ q: search, page: undefined }); }}>
        <input aria-label="Search models" placeholder="Search models by name" value={search} onChange={(e) => setSearch(e.target.value)} />
        <button type="submit">Search</button>
        <label className="muted">Per page <select aria-label="Models per page" value={size}
          onChange={(e) => { setPrev([]); go({ n: e.target.value, page: undefined }); }}>
          {PAGE_SIZES.map((n) => <option key={n} value={n}>{n}</option>)}</select></label>
      </form>
      <ErrorBox error={error} />
      {models === null ? <p className="muted">Loading…</p> : models.length === 0 ? <p className="muted">No registered models.</p> : (
        <table className="grid models"><thead><tr>
          <th className="sortable" aria-sort={order.startsWith('name') ? (order.endsWith('desc') ? 'descending' : 'ascending') : 'none'}>
            <button type="button" className="link" onClick={() => sortBy('name')}>Name{arrow('name')}</button></th>
          <th>Latest version</th><th>Aliases</th><th>Tags</th><th>Description</th>
          <th className="sortable" aria-sort={order.startsWith('updated') ? (order.endsWith('desc') ? 'descending' : 'ascending') : 'none'}>
            <button type="button" className="link" onClick={() => sortBy('updated')}>Last modified{arrow('updated')}</button></th>
        </tr></thead>
          <tbody>{models.map((m) => {
            const latest = latestVersion(m);
            return (
              <tr key={m.name} data-model={m.name}><td><a href={href(`/models/${encodeURIComponent(m.name)}`)}>{m.name}</a></td>
                <td>{latest ? <a href={href(`/models/${encodeURIComponent(m.name)}/versions/${latest}`)}>v{latest}</a> : '—'}</td>
                <td>{(m.aliases || []).map((a) => <span key={a.alias} className="chip">@{a.alias} → v{a.version}</span>)}</td>
                <td>{(m.tags || []).slice(0, 4).map((t) => <span key={t.key} className="chip">{t.key}={t.value}</span>)}</td>
                <td className="muted ellipsis" title={m.description}>{snippet(m.description)}</td>
                <td>{fmtTime(m.last_updated_timestamp)}</td></tr>
            );
          })}
          </tbody></table>
      )}
      <div className="toolbar pager">
        <button type="button" aria-label="Previous page" disabled={!token} onClick={() => {
          const stack = [...prev];
          const back = stack.pop();
          setPrev(stack);
          go({ page: back });
        }}>‹ Previous</button>
        <span className="muted" data-testid="models-page">Page {prev.length + 1}{token && !prev.length ? '+' : ''}</span>
        <button type="button" aria-label="Next page" disabled={!next} onClick={() => { setPrev([...prev, token]); go({ page: next }); }}>Next ›</button>
      </div>
    </div>
  );
}

const NO_VERSIONS: ModelVersion[] = [];

export function ModelPage({ name }: { name: string }) {
  const [picked, setPicked] = useState<string[]>([]);
  const modelLoad = useLoad(() => registryApi.getModel(name).then((r) => r.registered_model), [name]);
  const versionsLoad = useLoad(() => registryApi.versions(name)
    .then((r) => (r.model_versions || []).sort((a, b) => Number(b.version) - Number(a.version))), [name]);
  const model = modelLoad.data ?? null;
  const versions = versionsLoad.data || NO_VERSIONS;
  const error = modelLoad.error || versionsLoad.error;
  const load = () => { modelLoad.reload(); versionsLoad.reload(); };
  const { data: runNames = {} } = useLoad(() => {
    const ids = [...new Set(versions.map((v) => v.run_id).filter((id): id is string => !!id))].slice(0, 100);
    return Promise.allSettled(ids.map((id) => api.getRun(id))).then((res) => {
      const names: Record<string, string> = {};
      res.forEach((r, i) => { if (r.status === 'fulfilled') names[ids[i]] = r.value.run.info.run_name || ids[i]; });
      return names;
    });
  }, [versions]);
  const aliasesOf = (v: string) => (model?.aliases || []).filter((a) => a.version === v).map((a) => a.alias);
  const vhref = (v: string) => href(`/models/${encodeURIComponent(name)}/versions/${v}`);
  if (modelLoad.forbidden) {
    return <div className="page"><div className="crumbs"><a href="#/models">Models</a> / {name}</div><Forbidden message={modelLoad.error} /></div>;
  }
  return (
    <div className="page">
      <div className="crumbs"><a href="#/models">Models</a> / {name}</div>
      <h1>{name}</h1>
      <ErrorBox error={error} />
      {model && (
        <>
          <table className="kv"><tbody>
            <tr><th>Created</th><td>{fmtTime(model.creation_timestamp)}</td></tr>
            <tr><th>Last modified</th><td>{fmtTime(model.last_updated_timestamp)}</td></tr>
            <tr><th>Versions</th><td>{versions.length}</td></tr>
          </tbody></table>
          <h3>Description</h3>
          <MarkdownEditor label="Model description" value={model.description || ''}
            onSave={(text) => registryApi.updateModel(name, text).then(load)} />
          <h3>Aliases</h3>
          <AliasEditor model={name} aliases={model.aliases || []} versions={versions.map((v) => v.version)}
            onSet={(a, v) => registryApi.setAlias(name, a, v)} onDelete={(a) => registryApi.deleteAlias(name, a)} onChanged={load} />
          <h3>Tags</h3>
          <TagEditor tags={model.tags || []} onSet={(k, v) => registryApi.setModelTag(name, k, v)}
            onDelete={(k) => registryApi.deleteModelTag(name, k)} onChanged={load} />
          <h3>Versions</h3>
          {versions.length > 0 && (
            <div className="toolbar">
              <button type="button" disabled={compareRuns(versions, picked).length < 2}
                onClick={() => navigate('/compare', { runs: compareRuns(versions, picked).join(',') })}>
                Compare source runs{picked.length ? ` (${picked.length})` : ''}</button>
              <span className="muted small">Select versions to compare the runs that produced them.</span>
            </div>
          )}
          {versions.length === 0 ? <p className="muted">No versions yet.</p> : (
            <table className="grid versions"><thead><tr><th />
              <th>Version</th><th>Stage</th><th>Aliases</th><th>Created</th><th>Created by</th>
              <th>Source run</th><th>Description</th></tr></thead>
              <tbody>{versions.map((v) => (
                <tr key={v.version} data-version={v.version}>
                  <td><input type="checkbox" aria-label={`Select version ${v.version}`} checked={picked.includes(v.version)}
                    onChange={(e) => setPicked(e.target.checked ? [...picked, v.version] : picked.filter((p) => p !== v.version))} /></td>
                  <td><a href={vhref(v.version)}>Version {v.version}</a></td>
                  <td><StageBadge stage={v.current_stage} /></td>
                  <td>{aliasesOf(v.version).map((a) => <span key={a} className="chip">@{a}</span>)}</td>
                  <td>{fmtTime(v.creation_timestamp)}</td>
                  <td>{v.user_id || '—'}</td>
                  <td>{v.run_id ? <a href={href(`/runs/${v.run_id}`)}>{runNames[v.run_id] || v.run_id.slice(0, 8)}</a> : '—'}</td>
                  <td className="muted ellipsis" title={v.description}>{snippet(v.description)}</td></tr>))}
              </tbody></table>
          )}
          <PermissionsPanel resourceType="registered_model" resourceId={name} />
        </>
      )}
    </div>
  );
}

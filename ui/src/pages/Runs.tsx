import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { api, Experiment, fmtDuration, fmtTime, fmtValue, Run } from '../api';
import { href, navigate } from '../router';
import { Column, VirtualTable } from '../components/VirtualTable';
import { ErrorBox, Status } from '../components/Common';

const PAGE = 200;

type Kind = 'attributes' | 'params' | 'metrics' | 'tags';
export interface ColSpec { id: string; kind: Kind | 'special'; key: string; label: string; sortable: boolean }

const ATTRS: ColSpec[] = [
  { id: 'attributes.run_name', kind: 'attributes', key: 'run_name', label: 'Run name', sortable: true },
  { id: 'attributes.status', kind: 'attributes', key: 'status', label: 'Status', sortable: true },
  { id: 'attributes.start_time', kind: 'attributes', key: 'start_time', label: 'Started', sortable: true },
  { id: 'special.duration', kind: 'special', key: 'duration', label: 'Duration', sortable: false },
  { id: 'attributes.user_id', kind: 'attributes', key: 'user_id', label: 'User', sortable: true },
  { id: 'attributes.run_id', kind: 'attributes', key: 'run_id', label: 'Run ID', sortable: false },
];

export function parseColId(id: string): ColSpec {
  const attr = ATTRS.find((a) => a.id === id);
  if (attr) return attr;
  const dot = id.indexOf('.');
  const kind = id.slice(0, dot) as Kind;
  const key = id.slice(dot + 1);
  return { id, kind, key, label: `${kind === 'metrics' ? '📈 ' : kind === 'params' ? '⚙ ' : '🏷 '}${key}`, sortable: true };
}

/** The search language's order_by clause for a column: `metrics.`my key` DESC`. */
export function orderByClause(id: string, asc: boolean): string {
  const c = parseColId(id);
  const key = c.kind === 'attributes' ? c.key : `\`${c.key.replace(/`/g, '\\`')}\``;
  return `${c.kind}.${key} ${asc ? 'ASC' : 'DESC'}`;
}

export function cellValue(run: Run, c: ColSpec): unknown {
  if (c.kind === 'attributes') return (run.info as any)[c.key];
  if (c.kind === 'params') return run.data.params?.find((p) => p.key === c.key)?.value;
  if (c.kind === 'metrics') return run.data.metrics?.find((p) => p.key === c.key)?.value;
  if (c.kind === 'tags') return run.data.tags?.find((p) => p.key === c.key)?.value;
  return undefined;
}

export function RunsPage({ experimentIds, params }: { experimentIds: string[]; params: URLSearchParams }) {
  const filter = params.get('filter') || '';
  const order = params.get('order') || '';
  const colsParam = params.get('cols');
  const viewType = params.get('view') || 'ACTIVE_ONLY';
  const [experiments, setExperiments] = useState<Experiment[]>([]);
  const [runs, setRuns] = useState<Run[]>([]);
  const [token, setToken] = useState<string | undefined>();
  const [loading, setLoading] = useState(false);
  const [done, setDone] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [filterText, setFilterText] = useState(filter);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [chooser, setChooser] = useState(false);
  const [colSearch, setColSearch] = useState('');
  const [reload, setReload] = useState(0);
  const gen = useRef(0);

  const [sortId, sortDir] = order ? order.split(':') : ['', ''];
  const sort = sortId ? { id: sortId, asc: sortDir === 'asc' } : null;
  const orderBy = useMemo(() => (sort ? [orderByClause(sort.id, sort.asc)] : []), [order]);

  const setUrl = (patch: Record<string, string | undefined>) => {
    const cur: Record<string, string | undefined> = {};
    params.forEach((v, k) => { cur[k] = v; });
    navigate(`/experiments/${experimentIds.join(',')}`, { ...cur, ...patch }, true);
  };

  useEffect(() => {
    Promise.all(experimentIds.map((id) => api.getExperiment(id).then((r) => r.experiment)))
      .then(setExperiments).catch((e) => setError(String(e.message || e)));
  }, [experimentIds.join(',')]);

  const load = useCallback((pageToken: string | undefined, g: number) => {
    setLoading(true);
    api.searchRuns(experimentIds, filter, orderBy, pageToken, PAGE, viewType).then((r) => {
      if (g !== gen.current) return;
      setRuns((prev) => (pageToken ? [...prev, ...(r.runs || [])] : r.runs || []));
      setToken(r.next_page_token);
      setDone(!r.next_page_token);
      setError(null);
    }).catch((e) => { if (g === gen.current) { setError(String(e.message || e)); setRuns([]); setDone(true); } })
      .finally(() => { if (g === gen.current) setLoading(false); });
  }, [experimentIds.join(','), filter, orderBy, viewType]);

  useEffect(() => {
    const g = ++gen.current;
    setRuns([]); setToken(undefined); setDone(false); setSelected(new Set());
    load(undefined, g);
  }, [load, reload]);

  const onEndReached = useCallback(() => {
    if (!loading && !done && token) load(token, gen.current);
  }, [loading, done, token, load]);

  // Keys seen in the loaded runs, for the column chooser.
  const available = useMemo(() => {
    const keys = { params: new Set<string>(), metrics: new Set<string>(), tags: new Set<string>() };
    for (const r of runs) {
      r.data.params?.forEach((p) => keys.params.add(p.key));
      r.data.metrics?.forEach((p) => keys.metrics.add(p.key));
      r.data.tags?.forEach((p) => { if (!p.key.startsWith('mlflow.')) keys.tags.add(p.key); });
    }
    return [
      ...ATTRS.map((a) => a.id),
      ...[...keys.metrics].sort().map((k) => `metrics.${k}`),
      ...[...keys.params].sort().map((k) => `params.${k}`),
      ...[...keys.tags].sort().map((k) => `tags.${k}`),
    ];
  }, [runs]);

  const colIds = colsParam !== null
    ? colsParam.split(',').filter(Boolean)
    : [...ATTRS.slice(0, 5).map((a) => a.id), ...available.filter((a) => a.startsWith('metrics.') || a.startsWith('params.')).slice(0, 40)];
  const toggleCol = (id: string) => {
    const next = colIds.includes(id) ? colIds.filter((c) => c !== id) : [...colIds, id];
    setUrl({ cols: next.join(',') });
  };

  const columns: Column<Run>[] = useMemo(() => {
    const sel: Column<Run> = {
      id: 'select', label: '', width: 36,
      render: (r) => (
        <input type="checkbox" aria-label={`Select ${r.info.run_name || r.info.run_id}`}
          checked={selected.has(r.info.run_id)}
          onChange={() => setSelected((s) => {
            const n = new Set(s);
            if (n.has(r.info.run_id)) n.delete(r.info.run_id); else n.add(r.info.run_id);
            return n;
          })} />
      ),
    };
    return [sel, ...colIds.map((id): Column<Run> => {
      const c = parseColId(id);
      const width = c.kind === 'attributes' && c.key === 'run_name' ? 200 : c.key === 'start_time' ? 160 : 120;
      return {
        id, label: c.label, width, sortable: c.sortable,
        title: (r) => String(cellValue(r, c) ?? ''),
        render: (r) => {
          if (c.id === 'attributes.run_name') {
            const parent = r.data.tags?.find((t) => t.key === 'mlflow.parentRunId')?.value;
            return <a href={href(`/runs/${r.info.run_id}`)}>{parent ? '↳ ' : ''}{r.info.run_name || r.info.run_id}</a>;
          }
          if (c.id === 'attributes.status') return <Status status={r.info.status} />;
          if (c.id === 'attributes.start_time') return fmtTime(r.info.start_time);
          if (c.id === 'special.duration') return fmtDuration(r.info.start_time, r.info.end_time);
          return fmtValue(cellValue(r, c));
        },
      };
    })];
  }, [colIds.join(','), selected]);

  const onSort = (id: string) => {
    const asc = sort && sort.id === id ? !sort.asc : false;
    setUrl({ order: `${id}:${asc ? 'asc' : 'desc'}` });
  };

  const bulk = async (fn: (id: string) => Promise<unknown>) => {
    try { await Promise.all([...selected].map(fn)); setReload((x) => x + 1); } catch (e: any) { setError(String(e.message || e)); }
  };

  const suggestions = available.filter((a) => !a.startsWith('special.')).map((a) => {
    const c = parseColId(a);
    return c.kind === 'attributes' ? a : `${c.kind}.${/^[\w]+$/.test(c.key) ? c.key : `\`${c.key}\``}`;
  });

  return (
    <div className="page">
      <div className="crumbs"><a href="#/">Experiments</a> / {experiments.map((e) => e.name).join(', ') || experimentIds.join(', ')}</div>
      <h1>{experiments.map((e) => e.name).join(' + ') || 'Runs'}</h1>
      <div className="toolbar">
        <form className="grow" onSubmit={(e) => { e.preventDefault(); setUrl({ filter: filterText }); }}>
          <input className="grow mono" aria-label="Filter runs" list="filter-keys"
            placeholder={"Filter: metrics.acc > 0.9 and params.lr = '0.01'"} value={filterText}
            onChange={(e) => setFilterText(e.target.value)} />
          <datalist id="filter-keys">{suggestions.map((s) => <option key={s} value={s} />)}</datalist>
          <button type="submit">Apply</button>
          {filter && <button type="button" onClick={() => { setFilterText(''); setUrl({ filter: undefined }); }}>Clear</button>}
        </form>
        <select aria-label="Run lifecycle" value={viewType} onChange={(e) => setUrl({ view: e.target.value })}>
          <option value="ACTIVE_ONLY">Active</option><option value="DELETED_ONLY">Deleted</option><option value="ALL">All</option>
        </select>
        <button onClick={() => setChooser((c) => !c)} aria-expanded={chooser}>Columns ({colIds.length})</button>
      </div>
      {chooser && (
        <div className="chooser">
          <input placeholder="Find a column" aria-label="Find a column" value={colSearch} onChange={(e) => setColSearch(e.target.value)} />
          <div className="chooser-list">
            {available.filter((a) => a.toLowerCase().includes(colSearch.toLowerCase())).slice(0, 500).map((a) => (
              <label key={a}><input type="checkbox" checked={colIds.includes(a)} onChange={() => toggleCol(a)} /> {a}</label>
            ))}
          </div>
        </div>
      )}
      <div className="toolbar">
        <span className="muted" data-testid="run-count">{runs.length}{done ? '' : '+'} runs{loading ? ' (loading…)' : ''}</span>
        <span className="muted">{selected.size} selected</span>
        <button disabled={selected.size < 1} onClick={() => navigate('/compare', { runs: [...selected].join(',') })}>Compare</button>
        <button disabled={!selected.size} className="danger" onClick={() => bulk(api.deleteRun)}>Delete</button>
        <button disabled={!selected.size} onClick={() => bulk(api.restoreRun)}>Restore</button>
        <button onClick={() => setSelected(new Set(runs.map((r) => r.info.run_id)))}>Select all loaded</button>
        {selected.size > 0 && <button onClick={() => setSelected(new Set())}>Clear selection</button>}
      </div>
      <ErrorBox error={error} />
      <VirtualTable columns={columns} rows={runs} rowKey={(r) => r.info.run_id} sort={sort} onSort={onSort}
        onEndReached={onEndReached} height={Math.max(300, window.innerHeight - 260)} />
    </div>
  );
}

import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { errorMessage } from '../api/http';
import { api, Run, runsApi } from '../api/tracking';
import { fmtDuration, fmtTime, fmtValue } from '../format';
import { href, navigate } from '../router';
import { Column, VirtualTable } from '../components/VirtualTable';
import { ErrorBox, Forbidden, Status } from '../components/Common';
import { FilterInput } from '../components/FilterInput';
import { buildTree, parentOf, runIndex, TreeRow } from '../components/RunTree';
import { LIVE_POLL_MS, replaceRuns, useLiveRows } from '../components/useLiveRows';
import { MoveRunsBar } from '../components/MoveRuns';
import { PermissionsPanel } from '../components/PermissionsPanel';
import { useLoad } from '../components/useLoad';
import { usePagedRuns } from '../components/usePagedRuns';

export { LIVE_POLL_MS };

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
const EXPERIMENT_COL: ColSpec = { id: 'special.experiment', kind: 'special', key: 'experiment', label: 'Experiment', sortable: false };

export function parseColId(id: string): ColSpec {
  const attr = ATTRS.find((a) => a.id === id);
  if (attr) return attr;
  if (id === EXPERIMENT_COL.id) return EXPERIMENT_COL;
  const dot = id.indexOf('.');
  const kind = id.slice(0, dot) as Kind;
  const key = id.slice(dot + 1);
  // plain glyphs that every system font has (emoji render as boxes without an emoji font)
  return { id, kind, key, label: `${kind === 'metrics' ? '↗ ' : kind === 'params' ? '⚙ ' : '# '}${key}`, sortable: true };
}

/** The search language's order_by clause for a column: `metrics.`my key` DESC`. */
export function orderByClause(id: string, asc: boolean): string {
  const c = parseColId(id);
  const key = c.kind === 'attributes' ? c.key : `\`${c.key.replace(/`/g, '\\`')}\``;
  return `${c.kind}.${key} ${asc ? 'ASC' : 'DESC'}`;
}

export function cellValue(run: Run, c: ColSpec): unknown {
  if (c.kind === 'attributes') return (run.info as any)[c.key];
  if (c.kind === 'special') return undefined;
  return runIndex(run).get(c.id);
}

/** Keys seen in runs, accumulated page by page (never rescanning what was already seen). */
export class KeyCatalog {
  params = new Set<string>();
  metrics = new Set<string>();
  tags = new Set<string>();
  private seen = new WeakSet<Run>();
  /** Adds the keys of runs not seen before; returns whether a new key appeared. */
  add(runs: Iterable<Run>): boolean {
    const before = this.params.size + this.metrics.size + this.tags.size;
    for (const r of runs) {
      if (this.seen.has(r)) continue;
      this.seen.add(r);
      r.data.params?.forEach((p) => this.params.add(p.key));
      r.data.metrics?.forEach((p) => this.metrics.add(p.key));
      r.data.tags?.forEach((p) => this.tags.add(p.key));
    }
    return this.params.size + this.metrics.size + this.tags.size !== before;
  }
}

export function RunsPage({ experimentIds, params }: { experimentIds: string[]; params: URLSearchParams }) {
  const filter = params.get('filter') || '';
  const order = params.get('order') || '';
  const colsParam = params.get('cols');
  const viewType = params.get('view') || 'ACTIVE_ONLY';
  const group = params.get('group') !== '0';
  const expKey = experimentIds.join(',');
  const [notice, setNotice] = useState<string | null>(null);
  const [filterText, setFilterText] = useState(filter);
  useEffect(() => setFilterText(filter), [filter]); // back/forward and shared links change the URL's filter
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [expanded, setExpanded] = useState<Set<string>>(new Set());
  const [extraKids, setExtraKids] = useState<Map<string, Run[]>>(new Map());
  const [chooser, setChooser] = useState(false);
  const [colSearch, setColSearch] = useState('');
  const [moving, setMoving] = useState(false);
  const [keysVersion, setKeysVersion] = useState(0);
  const catalog = useRef(new KeyCatalog());

  const [sortId, sortDir] = order ? order.split(':') : ['', ''];
  const sort = sortId ? { id: sortId, asc: sortDir === 'asc' } : null;
  const orderBy = useMemo(() => (sort ? [orderByClause(sort.id, sort.asc)] : []), [order]);

  const setUrl = (patch: Record<string, string | undefined>) => {
    const cur: Record<string, string | undefined> = {};
    params.forEach((v, k) => { cur[k] = v; });
    navigate(`/experiments/${expKey}`, { ...cur, ...patch }, true);
  };

  const { data: experiments, error: experimentsError, forbidden } = useLoad(
    () => Promise.all(experimentIds.map((id) => api.getExperiment(id).then((r) => r.experiment))), [expKey]);
  const expNames = useMemo(() => new Map((experiments || []).map((e) => [e.experiment_id, e.name])), [experiments]);

  const paged = usePagedRuns({ experimentIds, filter, orderBy, viewType }, () => { setSelected(new Set()); setExtraKids(new Map()); });
  const { runs, setRuns, loading, done, gen, setError } = paged;
  const error = paged.error || experimentsError;

  useEffect(() => { if (catalog.current.add(runs)) setKeysVersion((v) => v + 1); }, [runs]);

  // Keys seen in the loaded runs, for the column chooser and the filter's completion.
  const available = useMemo(() => {
    const k = catalog.current;
    return [
      ...ATTRS.map((a) => a.id),
      ...(experimentIds.length > 1 ? [EXPERIMENT_COL.id] : []),
      ...[...k.metrics].sort().map((x) => `metrics.${x}`),
      ...[...k.params].sort().map((x) => `params.${x}`),
      ...[...k.tags].filter((x) => !x.startsWith('mlflow.')).sort().map((x) => `tags.${x}`),
    ];
  }, [keysVersion, expKey]);

  const colIds = colsParam !== null
    ? colsParam.split(',').filter(Boolean)
    : [...ATTRS.slice(0, 5).map((a) => a.id), ...(experimentIds.length > 1 ? [EXPERIMENT_COL.id] : []),
      ...available.filter((a) => a.startsWith('metrics.') || a.startsWith('params.')).slice(0, 40)];
  const toggleCol = (id: string) => {
    const next = colIds.includes(id) ? colIds.filter((c) => c !== id) : [...colIds, id];
    setUrl({ cols: next.join(',') });
  };

  const rows = useMemo(() => buildTree(runs, group, expanded, extraKids), [runs, group, expanded, extraKids]);

  const toggleExpand = useCallback((run: Run) => {
    const id = run.info.run_id;
    setExpanded((s) => {
      const n = new Set(s);
      if (n.has(id)) n.delete(id); else n.add(id);
      return n;
    });
    if (!extraKids.has(id)) {
      // the paged list may not have reached all children yet: fetch them once
      const g = gen.current;
      runsApi.childRuns(experimentIds, id, filter, orderBy).then((r) => {
        if (g === gen.current) setExtraKids((m) => new Map(m).set(id, r.runs || []));
      }).catch(() => undefined);
    }
  }, [extraKids, expKey, filter, orderBy]);

  const toggleSelect = useCallback((id: string) => setSelected((s) => {
    const n = new Set(s);
    if (n.has(id)) n.delete(id); else n.add(id);
    return n;
  }), []);

  const columns: Column<TreeRow>[] = useMemo(() => {
    const sel: Column<TreeRow> = {
      id: 'select', label: '', width: 36,
      render: ({ run: r }) => (
        <input type="checkbox" aria-label={`Select ${r.info.run_name || r.info.run_id}`}
          checked={selected.has(r.info.run_id)} onChange={() => toggleSelect(r.info.run_id)} />
      ),
    };
    return [sel, ...colIds.map((id): Column<TreeRow> => {
      const c = parseColId(id);
      const width = c.kind === 'attributes' && c.key === 'run_name' ? 240 : c.key === 'start_time' ? 160 : 120;
      return {
        id, label: c.label, width, sortable: c.sortable,
        title: ({ run: r }) => (c.id === EXPERIMENT_COL.id ? expNames.get(r.info.experiment_id) || '' : String(cellValue(r, c) ?? '')),
        render: (row) => {
          const r = row.run;
          if (c.id === 'attributes.run_name') {
            return (
              <span className="tree-cell" style={{ paddingLeft: row.depth * 18 }}>
                {row.kids > 0
                  ? <button className="twisty" aria-label={`${row.expanded ? 'Collapse' : 'Expand'} ${r.info.run_name || r.info.run_id}`}
                      aria-expanded={row.expanded} onClick={() => toggleExpand(r)}>{row.expanded ? '▾' : '▸'}</button>
                  : <span className="twisty-space" />}
                {(row.depth > 0 || row.orphan) && <span className="muted" title={`Child of ${parentOf(r)}`}>↳ </span>}
                <a href={href(`/runs/${r.info.run_id}`)}>{r.info.run_name || r.info.run_id}</a>
                {row.kids > 0 && <span className="kids muted small">{row.kids}</span>}
              </span>
            );
          }
          if (c.id === 'attributes.status') return <Status status={r.info.status} />;
          if (c.id === 'attributes.start_time') return fmtTime(r.info.start_time);
          if (c.id === 'special.duration') return fmtDuration(r.info.start_time, r.info.end_time);
          if (c.id === EXPERIMENT_COL.id) return expNames.get(r.info.experiment_id) || r.info.experiment_id;
          return fmtValue(cellValue(r, c));
        },
      };
    })];
  }, [colIds.join(','), selected, toggleExpand, expNames]);

  const { onRangeChange, liveInView } = useLiveRows(rows, experimentIds, gen, (fresh) => {
    setRuns((prev) => replaceRuns(prev, fresh));
    setExtraKids((m) => {
      let changed = false;
      const n = new Map<string, Run[]>();
      m.forEach((list, k) => { const nl = replaceRuns(list, fresh); changed = changed || nl !== list; n.set(k, nl); });
      return changed ? n : m;
    });
  });

  const onSort = (id: string) => {
    const asc = sort && sort.id === id ? !sort.asc : false;
    setUrl({ order: `${id}:${asc ? 'asc' : 'desc'}` });
  };

  const bulk = async (fn: (id: string) => Promise<unknown>) => {
    try { await Promise.all([...selected].map(fn)); paged.reload(); } catch (e) { setError(errorMessage(e)); }
  };

  const keys = useMemo(() => ({ metrics: catalog.current.metrics, params: catalog.current.params, tags: catalog.current.tags }), [keysVersion]);
  const title = (experiments || []).map((e) => e.name);

  if (forbidden) {
    return <div className="page"><div className="crumbs"><a href="#/">Experiments</a> / {expKey}</div><Forbidden message={experimentsError} /></div>;
  }
  return (
    <div className="page">
      <div className="crumbs"><a href="#/">Experiments</a> / {title.join(', ') || expKey}</div>
      <h1>{title.join(' + ') || 'Runs'}{experimentIds.length > 1 && <span className="muted small"> · {experimentIds.length} experiments</span>}</h1>
      {experimentIds.length === 1 && <PermissionsPanel resourceType="experiment" resourceId={experimentIds[0]} collapsible />}
      <div className="toolbar">
        <form className="grow filter-form" onSubmit={(e) => { e.preventDefault(); setUrl({ filter: filterText }); }}>
          <FilterInput value={filterText} onChange={setFilterText} onSubmit={(v) => setUrl({ filter: v })} keys={keys}
            placeholder={"Filter: metrics.acc > 0.9 and params.lr = '0.01'   (/ to focus, Ctrl+Space: keys)"} />
          <button type="submit">Apply</button>
          {filter && <button type="button" onClick={() => { setFilterText(''); setUrl({ filter: undefined }); }}>Clear</button>}
        </form>
        <select aria-label="Run lifecycle" value={viewType} onChange={(e) => setUrl({ view: e.target.value })}>
          <option value="ACTIVE_ONLY">Active</option><option value="DELETED_ONLY">Deleted</option><option value="ALL">All</option>
        </select>
        <label className="check"><input type="checkbox" checked={group} onChange={(e) => setUrl({ group: e.target.checked ? undefined : '0' })} /> Group child runs</label>
        <button onClick={() => setChooser((c) => !c)} aria-expanded={chooser}>Columns ({colIds.length})</button>
      </div>
      {chooser && (
        <div className="chooser">
          <input placeholder="Find a column" aria-label="Find a column" value={colSearch} onChange={(e) => setColSearch(e.target.value)} />
          <span className="muted small"> {available.length} columns</span>
          <div className="chooser-list">
            {available.filter((a) => a.toLowerCase().includes(colSearch.toLowerCase())).slice(0, 500).map((a) => (
              <label key={a}><input type="checkbox" checked={colIds.includes(a)} onChange={() => toggleCol(a)} /> {a}</label>
            ))}
          </div>
        </div>
      )}
      <div className="toolbar">
        <span className="muted" data-testid="run-count">{runs.length}{done ? '' : '+'} {runs.length === 1 && done ? 'run' : 'runs'}{loading ? ' (loading…)' : ''}</span>
        <span className="muted" data-testid="selected-count">{selected.size} selected</span>
        {liveInView > 0 && <span className="live" title={`Running rows in view refresh every ${LIVE_POLL_MS / 1000}s`}>● live</span>}
        <button disabled={selected.size < 1} onClick={() => navigate('/compare', { runs: [...selected].join(',') })}>Compare</button>
        <button disabled={!selected.size} className="danger" onClick={() => bulk(api.deleteRun)}>Delete</button>
        <button disabled={!selected.size} onClick={() => bulk(api.restoreRun)}>Restore</button>
        <button disabled={!selected.size} onClick={() => setMoving(true)} aria-expanded={moving}>Move…</button>
        <button onClick={() => setSelected(new Set(runs.map((r) => r.info.run_id)))}>Select all loaded</button>
        {selected.size > 0 && <button onClick={() => setSelected(new Set())}>Clear selection</button>}
      </div>
      {moving && selected.size > 0 && (
        <MoveRunsBar runIds={[...selected]} experimentIds={experimentIds} onError={setError} onClose={() => setMoving(false)}
          onMoved={(message) => { setNotice(message); setMoving(false); paged.reload(); }} />
      )}
      {notice && <div className="notice" role="status">{notice} <button className="link" onClick={() => setNotice(null)}>dismiss</button></div>}
      <ErrorBox error={error} />
      {done && !loading && !error && runs.length === 0 && (
        <p className="muted empty" data-testid="no-runs">{filter ? 'No runs match this filter.' : 'No runs in this view yet.'}</p>)}
      <VirtualTable columns={columns} rows={rows} rowKey={(r) => r.run.info.run_id} sort={sort} onSort={onSort}
        onEndReached={paged.loadMore} onRangeChange={onRangeChange} height={Math.max(300, window.innerHeight - 260)}
        pinned={colIds[0] === 'attributes.run_name' ? 2 : 1}
        rowClass={(r) => `${r.depth ? 'child' : ''}${selected.has(r.run.info.run_id) ? ' selected' : ''}`} />
    </div>
  );
}

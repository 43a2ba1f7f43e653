import { useMemo, useState } from 'react';
import { api, Metric, Run } from '../api/tracking';
import { fmtValue } from '../format';
import { href, navigate } from '../router';
import { Chart, PALETTE, Series, smooth } from '../components/Chart';
import { ErrorBox } from '../components/Common';
import { AxisValue, compareKeys, isNumeric, Item, keyLabel, runValue } from '../components/axes';
import { AxisChooser, KeyOptions } from '../components/AxisChooser';
import { ParallelCoordinates } from '../components/ParallelCoordinates';
import { Scatter } from '../components/Scatter';
import { useLoad } from '../components/useLoad';

export function paramDiff(runs: Run[]): { key: string; values: (string | undefined)[]; differs: boolean }[] {
  const keys = new Set<string>();
  runs.forEach((r) => r.data.params?.forEach((p) => keys.add(p.key)));
  return [...keys].sort().map((key) => {
    const values = runs.map((r) => r.data.params?.find((p) => p.key === key)?.value);
    return { key, values, differs: new Set(values).size > 1 };
  });
}

/** Keys whose values are not all the same across the runs (a run without the key counts as its own value). */
export function differingKeys(runs: Run[], keys: string[]): string[] {
  return keys.filter((k) => new Set(runs.map((r) => String(runValue(r, k)))).size > 1);
}

/** Default parallel-coordinates axes: params that differ (up to 6), then metrics (up to 4); at least two if possible. */
export function defaultAxes(runs: Run[], keys: string[]): string[] {
  const params = differingKeys(runs, keys.filter((k) => k.startsWith('params.'))).slice(0, 6);
  const metrics = keys.filter((k) => k.startsWith('metrics.')).slice(0, 4);
  const out = [...params, ...metrics];
  for (const k of keys) if (out.length < 2 && !out.includes(k)) out.push(k);
  return out;
}

/** Default scatter: x a differing numeric param (else the first key), y the first metric that is not x. */
export function defaultScatter(runs: Run[], keys: string[]): { x?: string; y?: string } {
  const numeric = (k: string) => isNumeric(runs.map((r) => runValue(r, k)));
  const diff = differingKeys(runs, keys.filter((k) => k.startsWith('params.')));
  const x = diff.find(numeric) || diff[0] || keys[0];
  const y = keys.find((k) => k.startsWith('metrics.') && k !== x) || keys.find((k) => k !== x);
  return { x, y };
}

/** Points per run asked of the server: about 40,000 in all, 200 to 1000 per run (M4 keeps each run's peaks). */
export function pointsPerRun(runs: number): number {
  return Math.max(200, Math.min(1000, Math.floor(40000 / Math.max(1, runs))));
}

const NO_RUNS: Run[] = [];
const NO_POINTS: Metric[] = [];

export function ComparePage({ params }: { params: URLSearchParams }) {
  const ids = (params.get('runs') || '').split(',').filter(Boolean);
  const metricParam = params.get('metric');
  const xMode = params.get('x') || 'step';
  const logY = params.get('log') === '1';
  const smoothing = Number(params.get('smooth') || 0);
  const onlyDiff = params.get('diff') === '1';
  const [hoverRun, setHoverRun] = useState<string | null>(null);

  const setUrl = (patch: Record<string, string | undefined>) => {
    const cur: Record<string, string | undefined> = {};
    params.forEach((v, k) => { cur[k] = v; });
    navigate('/compare', { ...cur, ...patch }, true);
  };

  const runsLoad = useLoad(() => Promise.all(ids.map((id) => api.getRun(id).then((r) => r.run))), [ids.join(',')]);
  const runs = runsLoad.data || NO_RUNS;

  const keys = useMemo(() => compareKeys(runs), [runs]);
  const metricRows = useMemo(() => keys.filter((k) => k.startsWith('metrics.')), [keys]);
  const metricKeys = useMemo(() => metricRows.map(keyLabel), [metricRows]);
  const metric = metricParam && metricKeys.includes(metricParam) ? metricParam : metricKeys[0];

  const pointsLoad = useLoad(() => (metric && ids.length
    ? api.historyDownsampled(ids.slice(0, 100), metric, pointsPerRun(Math.min(ids.length, 100))).then((r) => r.metrics || [])
    : undefined), [metric, ids.join(',')]);
  const points = pointsLoad.data || NO_POINTS;
  const error = runsLoad.error || pointsLoad.error;

  // The chart's points by run, in step order (one pass over what the server sent).
  const pointsByRun = useMemo(() => {
    const by = new Map<string, Metric[]>();
    for (const p of points) {
      const own = by.get(p.run_id || '');
      if (own) own.push(p); else by.set(p.run_id || '', [p]);
    }
    by.forEach((own) => own.sort((a, b) => a.step - b.step));
    return by;
  }, [points]);

  const series: Series[] = useMemo(() => runs.map((r) => {
    const own = pointsByRun.get(r.info.run_id) || [];
    const t0 = own.length ? Math.min(...own.map((p) => Number(p.timestamp))) : 0;
    const pts = own.map((p) => ({
      x: xMode === 'time' ? Number(p.timestamp) / 1000 : xMode === 'relative' ? (Number(p.timestamp) - t0) / 1000 : Number(p.step),
      y: Number(p.value),
    }));
    return { label: r.info.run_name || r.info.run_id, points: smooth(pts, smoothing) };
  }), [runs, pointsByRun, xMode, smoothing]);

  const summary = runs.map((r) => {
    const vs = (pointsByRun.get(r.info.run_id) || []).map((p) => Number(p.value));
    return { run: r, min: vs.length ? Math.min(...vs) : undefined, max: vs.length ? Math.max(...vs) : undefined,
      last: r.data.metrics?.find((m) => m.key === metric)?.value };
  });
  const diff = paramDiff(runs).filter((d) => !onlyDiff || d.differs);

  const items: Item[] = useMemo(() => runs.map((r, i) => ({
    id: r.info.run_id, label: r.info.run_name || r.info.run_id, color: PALETTE[i % PALETTE.length],
    values: Object.fromEntries(keys.map((k) => [k, runValue(r, k)])) as Record<string, AxisValue>,
  })), [runs, keys]);
  const pcParam = params.get('pc');
  const axes = useMemo(() => (pcParam !== null ? pcParam.split(',').filter((k) => keys.includes(k)) : defaultAxes(runs, keys)),
    [pcParam, keys, runs]);
  const pcLog = (params.get('pclog') || '').split(',').filter(Boolean);
  const numericKeys = useMemo(() => keys.filter((k) => isNumeric(items.map((i) => i.values[k]))), [keys, items]);
  const colorParam = params.get('color') || undefined;
  const colorKey = colorParam && numericKeys.includes(colorParam) ? colorParam : undefined;
  const scatterDefault = useMemo(() => defaultScatter(runs, keys), [runs, keys]);
  const sx = params.get('sx') && keys.includes(params.get('sx')!) ? params.get('sx')! : scatterDefault.x;
  const sy = params.get('sy') && keys.includes(params.get('sy')!) ? params.get('sy')! : scatterDefault.y;
  const open = (id: string) => navigate(`/runs/${id}`);
  const experimentIds = [...new Set(runs.map((r) => r.info.experiment_id))];

  return (
    <div className="page">
      <div className="crumbs"><a href="#/">Experiments</a>
        {experimentIds.length > 0 && <> / <a href={href(`/experiments/${experimentIds.join(',')}`)}>runs</a></>} / compare {ids.length} runs</div>
      <h1>Compare runs</h1>
      <ErrorBox error={error} />
      {!ids.length && <p className="muted">Select runs in a runs table and press Compare.</p>}
      <div className="toolbar">
        <label>Metric <select aria-label="Metric" value={metric || ''} onChange={(e) => setUrl({ metric: e.target.value })}>
          {metricKeys.map((k) => <option key={k} value={k}>{k}</option>)}</select></label>
        <label>X axis <select aria-label="X axis" value={xMode} onChange={(e) => setUrl({ x: e.target.value })}>
          <option value="step">Step</option><option value="relative">Relative time (s)</option><option value="time">Wall time (s)</option></select></label>
        <label><input type="checkbox" checked={logY} onChange={(e) => setUrl({ log: e.target.checked ? '1' : undefined })} /> Log scale</label>
        <label>Smoothing <input type="range" min={0} max={0.99} step={0.01} value={smoothing}
          onChange={(e) => setUrl({ smooth: e.target.value === '0' ? undefined : e.target.value })} /> {smoothing}</label>
      </div>
      {metric && series.length > 0 && <Chart series={series} xLabel={xMode} logY={logY} title={metric} />}
      <h3>{metric} summary</h3>
      <table className="grid summary"><thead><tr><th>Run</th><th>Min</th><th>Max</th><th>Last</th></tr></thead>
        <tbody>{summary.map((s, i) => (
          <tr key={s.run.info.run_id} className={hoverRun === s.run.info.run_id ? 'highlighted' : ''}
            onMouseEnter={() => setHoverRun(s.run.info.run_id)} onMouseLeave={() => setHoverRun(null)}><td><span className="swatch" style={{ background: PALETTE[i % PALETTE.length] }} />
            <a href={href(`/runs/${s.run.info.run_id}`)}>{s.run.info.run_name || s.run.info.run_id}</a></td>
            <td className="mono">{fmtValue(s.min)}</td><td className="mono">{fmtValue(s.max)}</td><td className="mono">{fmtValue(s.last)}</td></tr>))}
        </tbody></table>
      <h3>Parallel coordinates</h3>
      {keys.length > 0 && (
        <div className="toolbar">
          <AxisChooser all={keys} chosen={axes} onChange={(k) => setUrl({ pc: k.join(',') })} onReset={() => setUrl({ pc: undefined })} />
          <ColorBy label="Parallel coordinates color by" keys={numericKeys} value={colorKey} onChange={(c) => setUrl({ color: c })} />
        </div>
      )}
      {runs.length > 0 && <ParallelCoordinates items={items} axes={axes} colorKey={colorKey} onOpen={open} logAxes={pcLog}
        highlight={hoverRun} onHover={setHoverRun}
        onToggleLog={(k) => setUrl({ pclog: (pcLog.includes(k) ? pcLog.filter((x) => x !== k) : [...pcLog, k]).join(',') || undefined })} />}
      <h3>Scatter</h3>
      {keys.length > 0 && sx && sy && (
        <>
          <div className="toolbar">
            <label>X <select aria-label="Scatter X" value={sx} onChange={(e) => setUrl({ sx: e.target.value })}><KeyOptions keys={keys} /></select></label>
            <label><input type="checkbox" checked={params.get('slx') === '1'}
              onChange={(e) => setUrl({ slx: e.target.checked ? '1' : undefined })} /> log X</label>
            <label>Y <select aria-label="Scatter Y" value={sy} onChange={(e) => setUrl({ sy: e.target.value })}><KeyOptions keys={keys} /></select></label>
            <label><input type="checkbox" checked={params.get('sly') === '1'}
              onChange={(e) => setUrl({ sly: e.target.checked ? '1' : undefined })} /> log Y</label>
            <button type="button" onClick={() => setUrl({ sx: sy, sy: sx })}>Swap</button>
            <ColorBy label="Scatter color by" keys={numericKeys} value={colorKey} onChange={(c) => setUrl({ color: c })} />
          </div>
          <Scatter items={items} x={sx} y={sy} colorKey={colorKey} logX={params.get('slx') === '1'} logY={params.get('sly') === '1'}
            onOpen={open} highlight={hoverRun} onHover={setHoverRun} />
        </>
      )}
      <h3>Metrics</h3>
      <table className="grid metric-diff"><thead><tr><th>Metric</th>{runs.map((r) => <th key={r.info.run_id}>{r.info.run_name || r.info.run_id}</th>)}</tr></thead>
        <tbody>{metricRows.map((k) => (
          <tr key={k}><td>{keyLabel(k)}</td>{items.map((it) => <td key={it.id} className="mono">{fmtValue(it.values[k]) || '—'}</td>)}</tr>))}
        </tbody></table>
      <h3>Params <label className="muted small"><input type="checkbox" checked={onlyDiff}
        onChange={(e) => setUrl({ diff: e.target.checked ? '1' : undefined })} /> only differences</label></h3>
      <table className="grid param-diff"><thead><tr><th>Param</th>{runs.map((r) => <th key={r.info.run_id}>{r.info.run_name || r.info.run_id}</th>)}</tr></thead>
        <tbody>{diff.map((d) => (
          <tr key={d.key} className={d.differs ? 'differs' : ''}><td>{d.key}</td>{d.values.map((v, i) => <td key={i} className="mono">{v ?? '—'}</td>)}</tr>))}
        </tbody></table>
    </div>
  );
}

function ColorBy({ label, keys, value, onChange }:
  { label: string; keys: string[]; value?: string; onChange: (key: string | undefined) => void }) {
  return (
    <label>Color by <select aria-label={label} value={value || ''} onChange={(e) => onChange(e.target.value || undefined)}>
      <option value="">Run</option><KeyOptions keys={keys} /></select></label>
  );
}

// Parallel coordinates over compared runs, drawn in SVG: one vertical axis per chosen param or metric (numeric or
// categorical), one polyline per run. Hover highlights a run and names it; click opens it; drag along an axis to
// keep only the runs inside that range (click the axis to clear).
import { MouseEvent as ReactMouseEvent, PointerEvent as ReactPointerEvent, useMemo, useRef, useState } from 'react';
import { Axis, buildAxis, colorItems, fmtTick, Item, keyLabel, RAMP_GRADIENT } from './axes';
import { relativePoint, Tooltip, useChartHover } from './Tooltip';
import { useWidth } from './useWidth';

const M = { top: 46, bottom: 26, left: 64, right: 64 };

export interface PCProps {
  items: Item[];
  axes: string[];
  colorKey?: string;
  /** Numeric axes drawn on a log scale (where every value is positive); a click on a title toggles it. */
  logAxes?: string[];
  onToggleLog?: (key: string) => void;
  height?: number;
  onOpen?: (id: string) => void;
  /** A run hovered elsewhere (another chart, a table), drawn highlighted here too. */
  highlight?: string | null;
  onHover?: (id: string | null) => void;
}

/** The SVG path of an item through the axes; a missing value breaks the line there. */
export function linePath(values: (number | null)[], xs: number[], y: (p: number) => number): string {
  let d = '';
  let pen = false;
  values.forEach((p, i) => {
    if (p === null) { pen = false; return; }
    d += `${pen ? 'L' : 'M'}${xs[i].toFixed(1)},${y(p).toFixed(1)}`;
    pen = true;
  });
  return d;
}

/** Whether an item lies inside every brush (ranges in axis positions); a missing value is outside. */
export function insideBrushes(positions: (number | null)[], axes: Axis[], brushes: Record<string, [number, number]>): boolean {
  return axes.every((a, i) => {
    const b = brushes[a.key];
    if (!b) return true;
    const p = positions[i];
    return p !== null && p >= b[0] - 1e-9 && p <= b[1] + 1e-9;
  });
}

function shorten(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

export function ParallelCoordinates(
  { items, axes: keys, colorKey, logAxes = [], onToggleLog, height = 380, onOpen, highlight = null, onHover }: PCProps,
) {
  const box = useRef<HTMLDivElement>(null);
  const width = Math.max(360, useWidth(box));
  const { hover, setHover, tip, setTip, clear } = useChartHover(highlight, onHover);
  const [brushes, setBrushes] = useState<Record<string, [number, number]>>({});
  const [drag, setDrag] = useState<{ key: string; from: number; to: number } | null>(null);

  const axes = useMemo(() => keys.map((k) => buildAxis(k, items.map((i) => i.values[k]), logAxes.includes(k))),
    [keys, items, logAxes.join(',')]);
  const { colors, range } = useMemo(() => colorItems(items, colorKey), [items, colorKey]);
  const plotH = height - M.top - M.bottom;
  const xs = axes.map((_, i) => (axes.length === 1 ? width / 2 : M.left + (i * (width - M.left - M.right)) / (axes.length - 1)));
  const y = (p: number) => M.top + (1 - p) * plotH;
  const posOf = (clientY: number, svg: SVGSVGElement) => {
    const top = svg.getBoundingClientRect().top;
    return Math.min(1, Math.max(0, 1 - (clientY - top - M.top) / plotH));
  };

  const lines = items.map((item, i) => {
    const positions = axes.map((a) => a.pos(item.values[a.key]));
    return { item, color: colors[i], d: linePath(positions, xs, y), active: insideBrushes(positions, axes, brushes) };
  });
  const activeCount = lines.filter((l) => l.active).length;
  const ordered = [...lines.filter((l) => !l.active), ...lines.filter((l) => l.active && l.item.id !== hover),
    ...lines.filter((l) => l.item.id === hover)];

  const showTip = (e: ReactMouseEvent, item: Item, color: string) => {
    const p = relativePoint(box.current, e);
    setHover(item.id);
    setTip({ ...p, flip: p.x > width * 0.6, title: item.label, color,
      rows: keys.map((k) => [keyLabel(k), item.values[k]]) });
  };
  const down = (e: ReactPointerEvent<SVGRectElement>, key: string) => {
    const svg = e.currentTarget.ownerSVGElement!;
    e.currentTarget.setPointerCapture?.(e.pointerId);
    const p = posOf(e.clientY, svg);
    setDrag({ key, from: p, to: p });
  };
  const move = (e: ReactPointerEvent<SVGRectElement>) => {
    if (drag) setDrag({ ...drag, to: posOf(e.clientY, e.currentTarget.ownerSVGElement!) });
  };
  const up = () => {
    if (!drag) return;
    const snap = 4 / plotH; // a drag that starts or ends within a few pixels of an end covers that end
    let lo = Math.min(drag.from, drag.to);
    let hi = Math.max(drag.from, drag.to);
    if (lo < snap) lo = 0;
    if (hi > 1 - snap) hi = 1;
    const next = { ...brushes };
    if (hi - lo < 0.01) delete next[drag.key];
    else next[drag.key] = [lo, hi];
    setBrushes(next);
    setDrag(null);
  };

  if (axes.length < 2) return <p className="muted">Choose at least two axes.</p>;
  return (
    <div className="pc" ref={box} data-testid="parallel-coordinates">
      <svg width={width} height={height} role="img" aria-label="Parallel coordinates" onMouseLeave={clear}>
        <g className={hover ? 'pc-lines has-hover' : 'pc-lines'}>
          {ordered.map(({ item, color, d, active }) => (
            <g key={item.id}>
              <path className={`pc-line${active ? '' : ' inactive'}${hover === item.id ? ' hovered' : ''}`}
                data-run={item.id} d={d} stroke={color} />
              {active && <path className="pc-hit" data-run={item.id} d={d} aria-label={item.label}
                onMouseMove={(e) => showTip(e, item, color)} onMouseLeave={clear}
                onClick={() => onOpen?.(item.id)} />}
            </g>
          ))}
        </g>
        {axes.map((a, i) => {
          const b = drag && drag.key === a.key ? [Math.min(drag.from, drag.to), Math.max(drag.from, drag.to)] : brushes[a.key];
          return (
            <g key={a.key} className="pc-axis" data-axis={a.key} transform={`translate(${xs[i]},0)`}>
              <text className={`axis-title${a.kind === 'numeric' && onToggleLog ? ' toggles' : ''}`} y={M.top - 26} textAnchor="middle"
                onClick={() => a.kind === 'numeric' && onToggleLog?.(a.key)}>
                <title>{a.key}{a.kind === 'categorical' ? ' (categorical)' : onToggleLog ? ' (click for a log or linear scale)' : ''}</title>
                {shorten(keyLabel(a.key), a.log ? 15 : 20)}{a.log ? ' (log)' : ''}
              </text>
              <text className="axis-kind" y={M.top - 12} textAnchor="middle">{a.key.startsWith('metrics.') ? 'metric' : 'param'}</text>
              <line y1={M.top} y2={M.top + plotH} />
              {a.ticks.map((t) => (
                <g key={t.label} transform={`translate(0,${y(t.pos)})`}>
                  <line x1={-4} x2={0} />
                  <text x={-7} dy="0.32em" textAnchor="end">{shorten(t.label, 12)}</text>
                </g>
              ))}
              {b && <rect className="pc-brush" x={-9} width={18} y={y(b[1])} height={Math.max(1, y(b[0]) - y(b[1]))} />}
              <rect className="pc-brush-area" x={-12} width={24} y={M.top} height={plotH}
                onPointerDown={(e) => down(e, a.key)} onPointerMove={move} onPointerUp={up}>
                <title>Drag to keep a range of {keyLabel(a.key)}; click to clear</title>
              </rect>
            </g>
          );
        })}
      </svg>
      <Tooltip tip={tip} />
      <div className="pc-footer muted small">
        <span data-testid="pc-count">{activeCount === items.length ? `${items.length} runs`
          : `${activeCount} of ${items.length} runs in range`}</span>
        {Object.keys(brushes).length > 0 && <button type="button" className="link" onClick={() => setBrushes({})}>Clear ranges</button>}
        {range && colorKey && <ColorLegend label={keyLabel(colorKey)} range={range} />}
      </div>
    </div>
  );
}

export function ColorLegend({ label, range }: { label: string; range: [number, number] }) {
  return (
    <span className="color-legend" data-testid="color-legend">
      {label}: <span className="mono">{fmtTick(range[0])}</span>
      <span className="ramp" style={{ background: RAMP_GRADIENT }} />
      <span className="mono">{fmtTick(range[1])}</span>
    </span>
  );
}

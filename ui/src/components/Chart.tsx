// uPlot line chart for metric series (already downsampled by the server).
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';

export interface Series { label: string; points: { x: number; y: number }[] }

export const PALETTE = ['#2f7ed8', '#e4572e', '#29a36a', '#a05ad8', '#f0a202', '#17a2b8', '#d63384', '#6c757d',
  '#8bc34a', '#795548'];

/** Merge series with different x values into uPlot's aligned columns (null where a series has no point). */
export function align(series: Series[]): (number | null)[][] {
  const xs = Array.from(new Set(series.flatMap((s) => s.points.map((p) => p.x)))).sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const cols: (number | null)[][] = [xs];
  for (const s of series) {
    const col: (number | null)[] = new Array(xs.length).fill(null);
    for (const p of s.points) col[index.get(p.x)!] = p.y;
    cols.push(col);
  }
  return cols;
}

export function smooth(points: { x: number; y: number }[], weight: number) {
  if (!weight) return points;
  let last = points.length ? points[0].y : 0;
  return points.map((p) => { last = last * weight + (1 - weight) * p.y; return { x: p.x, y: last }; });
}

export function Chart({ series, height = 300, xLabel = 'step', logY = false, title }:
  { series: Series[]; height?: number; xLabel?: string; logY?: boolean; title?: string }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el || typeof window.matchMedia !== 'function') return;
    const dark = window.matchMedia('(prefers-color-scheme: dark)').matches;
    const fg = dark ? '#ccc' : '#333';
    const grid = dark ? '#333' : '#e5e5e5';
    const axis = { stroke: fg, grid: { stroke: grid }, ticks: { stroke: grid } };
    const opts: uPlot.Options = {
      title, width: Math.max(300, el.clientWidth || 800), height,
      scales: { x: { time: false }, y: logY ? { distr: 3 } : {} },
      axes: [{ ...axis, label: xLabel }, { ...axis }],
      series: [{ label: xLabel }, ...series.map((s, i) => ({
        label: s.label, stroke: PALETTE[i % PALETTE.length], width: 1.5, spanGaps: true, points: { show: false },
      }))],
      // The plotted y-range, for tests and tools that read the page (uPlot draws the axes on a canvas).
      hooks: { setScale: [(u, key) => {
        if (key === 'y' && u.scales.y.max != null) Object.assign(el.dataset, { yMin: u.scales.y.min, yMax: u.scales.y.max });
      }] },
    };
    const plot = new uPlot(opts, align(series) as uPlot.AlignedData, el);
    const ro = typeof ResizeObserver !== 'undefined'
      ? new ResizeObserver(() => plot.setSize({ width: Math.max(300, el.clientWidth), height })) : null;
    ro?.observe(el);
    return () => { ro?.disconnect(); plot.destroy(); };
  }, [series, height, xLabel, logY, title]);
  return <div className="chart" ref={ref} data-series={series.length} />;
}

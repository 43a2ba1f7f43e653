// Axes shared by the parallel-coordinates and scatter charts: numeric (linear or log) or categorical, each mapping
// a value to a position in [0, 1] (0 = bottom/left), with tick marks chosen for people to read.
import type { Run } from '../api/tracking';

export type AxisValue = number | string | undefined;

export interface Tick { pos: number; label: string }

export interface Axis {
  key: string;
  kind: 'numeric' | 'categorical';
  /** Position in [0, 1] of a value, or null when the run has no (usable) value on this axis. */
  pos: (v: AxisValue) => number | null;
  ticks: Tick[];
  /** Numeric axes: the value range; categorical axes: the categories in axis order. */
  min?: number; max?: number; log?: boolean; categories?: string[];
}

/** A compared run, reduced to what the charts need. */
export interface Item { id: string; label: string; color: string; values: Record<string, AxisValue> }

const NUMBER = /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/;

/** The number a value stands for (params arrive as strings), or undefined for text, NaN and infinities. */
export function asNumber(v: AxisValue): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && NUMBER.test(v)) return Number(v);
  return undefined;
}

/** True when every present value is a finite number (or a string that reads as one), and there is at least one. */
export function isNumeric(values: AxisValue[]): boolean {
  const present = values.filter((v) => v !== undefined && v !== '' && !(typeof v === 'number' && Number.isNaN(v)));
  return present.length > 0 && present.every((v) => asNumber(v) !== undefined);
}

export function fmtTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(1).replace('e+', 'e');
  return String(Number(v.toPrecision(4)));
}

/** About `count` round tick values covering [min, max] (1, 2 or 5 times a power of ten apart). */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) || 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(min / step - 1e-9) * step; v <= max + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** Natural order for categories: "2" before "10", "a" before "B" regardless of case. */
export function compareCategories(a: string, b: string): number {
  return a.localeCompare(b, undefined, { numeric: true, sensitivity: 'base' });
}

/**
 * Build an axis for `key` over the values the runs have there. Numbers (and numeric strings) give a numeric axis;
 * anything else a categorical one. `log` asks for a log scale, honoured when every value is positive.
 */
export function buildAxis(key: string, values: AxisValue[], log = false): Axis {
  if (isNumeric(values)) {
    const nums = values.map(asNumber).filter((v): v is number => v !== undefined);
    const min = Math.min(...nums);
    const max = Math.max(...nums);
    const useLog = log && min > 0;
    if (useLog) {
      const lo = Math.log10(min);
      const hi = Math.log10(max);
      const pos = (v: AxisValue) => {
        const n = asNumber(v);
        if (n === undefined || n <= 0) return null;
        return hi > lo ? (Math.log10(n) - lo) / (hi - lo) : 0.5;
      };
      let ticks: number[] = [];
      for (let e = Math.ceil(lo - 1e-9); e <= Math.floor(hi + 1e-9); e++) ticks.push(10 ** e);
      if (ticks.length < 2) ticks = niceTicks(min, max, 4).filter((t) => t > 0);
      return { key, kind: 'numeric', pos, min, max, log: true, ticks: ticks.map((t) => ({ pos: pos(t)!, label: fmtTick(t) })) };
    }
    const pos = (v: AxisValue) => {
      const n = asNumber(v);
      if (n === undefined) return null;
      return max > min ? (n - min) / (max - min) : 0.5;
    };
    const ticks = max > min ? niceTicks(min, max) : [min];
    return { key, kind: 'numeric', pos, min, max, log: false, ticks: ticks.map((t) => ({ pos: pos(t)!, label: fmtTick(t) })) };
  }
  const categories = [...new Set(values.filter((v) => v !== undefined && v !== '').map(String))].sort(compareCategories);
  const index = new Map(categories.map((c, i) => [c, i]));
  const n = categories.length;
  const pos = (v: AxisValue) => {
    if (v === undefined || v === '') return null;
    const i = index.get(String(v));
    return i === undefined ? null : n === 1 ? 0.5 : i / (n - 1);
  };
  return { key, kind: 'categorical', pos, categories, ticks: categories.map((c) => ({ pos: pos(c)!, label: c })) };
}

/** The value a run has for `params.<k>` (a string) or `metrics.<k>` (the latest value). */
export function runValue(run: Run, key: string): AxisValue {
  if (key.startsWith('params.')) return run.data.params?.find((p) => p.key === key.slice(7))?.value;
  if (key.startsWith('metrics.')) {
    const m = run.data.metrics?.find((x) => x.key === key.slice(8));
    return m === undefined ? undefined : Number(m.value);
  }
  return undefined;
}

/** Every param and metric key of the runs, as `params.<k>` then `metrics.<k>`, each group sorted. */
export function compareKeys(runs: Run[]): string[] {
  const params = new Set<string>();
  const metrics = new Set<string>();
  runs.forEach((r) => {
    r.data.params?.forEach((p) => params.add(p.key));
    r.data.metrics?.forEach((m) => metrics.add(m.key));
  });
  return [...[...params].sort().map((k) => `params.${k}`), ...[...metrics].sort().map((k) => `metrics.${k}`)];
}

/** A short label for a key: the name without its `params.`/`metrics.` prefix. */
export function keyLabel(key: string): string {
  return key.replace(/^(params|metrics)\./, '');
}

// A blue -> green -> yellow -> red ramp that reads on light and dark backgrounds alike.
const RAMP = ['#2c7bb6', '#00a6ca', '#00ccbc', '#90eb9d', '#f9d057', '#f29e2e', '#d7191c'];

function hex(c: string): number[] {
  return [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16));
}

/** The ramp's colour at t in [0, 1] (clamped). */
export function rampColor(t: number): string {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(x));
  const a = hex(RAMP[i]);
  const b = hex(RAMP[i + 1]);
  const f = x - i;
  return `#${a.map((v, j) => Math.round(v + (b[j] - v) * f).toString(16).padStart(2, '0')).join('')}`;
}

export const RAMP_GRADIENT = `linear-gradient(to right, ${RAMP.join(', ')})`;

/**
 * Colours for the items: by `colorKey`'s value on the ramp where it is given and numeric (grey for runs without
 * a value), else each item's own colour. Returns the colours and the numeric range used, if any.
 */
export function colorItems(items: Item[], colorKey?: string): { colors: string[]; range?: [number, number] } {
  if (!colorKey) return { colors: items.map((i) => i.color) };
  const nums = items.map((i) => asNumber(i.values[colorKey]));
  const present = nums.filter((n): n is number => n !== undefined);
  if (!present.length) return { colors: items.map((i) => i.color) };
  const min = Math.min(...present);
  const max = Math.max(...present);
  return {
    colors: nums.map((n) => (n === undefined ? '#8a8f98' : rampColor(max > min ? (n - min) / (max - min) : 0.5))),
    range: [min, max],
  };
}

// A small floating box beside the pointer, naming a run and its values (used by the SVG charts).
import { useState } from 'react';
import { fmtValue } from '../format';
import type { AxisValue } from './axes';

export interface TipState {
  x: number; y: number; title: string; color: string; rows: [string, AxisValue][];
  /** Show the box left of the pointer (near the right edge). */
  flip?: boolean;
}

export function Tooltip({ tip }: { tip: TipState | null }) {
  if (!tip) return null;
  return (
    <div className="chart-tip" role="tooltip" style={tip.flip
      ? { left: tip.x - 14, top: tip.y + 12, transform: 'translateX(-100%)' } : { left: tip.x + 14, top: tip.y + 12 }}>
      <div className="chart-tip-title"><span className="swatch" style={{ background: tip.color }} />{tip.title}</div>
      <table><tbody>{tip.rows.map(([k, v]) => (
        <tr key={k}><th>{k}</th><td className="mono">{v === undefined ? '—' : fmtValue(v)}</td></tr>))}</tbody></table>
    </div>
  );
}

/** The pointer's position relative to `el` (the chart's container). */
export function relativePoint(el: HTMLElement | null, e: { clientX: number; clientY: number }): { x: number; y: number } {
  const r = el?.getBoundingClientRect();
  return { x: e.clientX - (r?.left || 0), y: e.clientY - (r?.top || 0) };
}

/**
 * The hover state of an SVG chart linked to other views: the run under the pointer (else `highlight`, from a linked
 * view), reported through `onHover` when it changes, and the tooltip; `clear` ends both when the pointer leaves.
 */
export function useChartHover(highlight: string | null, onHover?: (id: string | null) => void) {
  const [own, setOwn] = useState<string | null>(null);
  const [tip, setTip] = useState<TipState | null>(null);
  const setHover = (id: string | null) => { if (id !== own) { setOwn(id); onHover?.(id); } };
  const clear = () => { setHover(null); setTip(null); };
  return { hover: own ?? highlight, setHover, tip, setTip, clear };
}

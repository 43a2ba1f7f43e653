// A scatter of compared runs in SVG: any param or metric against another (numeric axes, linear or log; text values
// as categories). Hover names the run and its values; click opens it.
import { MouseEvent as ReactMouseEvent, useMemo, useRef } from 'react';
import { buildAxis, colorItems, Item, keyLabel } from './axes';
import { ColorLegend } from './ParallelCoordinates';
import { relativePoint, TipState, Tooltip, useChartHover } from './Tooltip';
import { useWidth } from './useWidth';

const M = { top: 14, bottom: 46, left: 70, right: 20 };
const PAD = 0.04; // keep points off the frame

export interface ScatterProps {
  items: Item[];
  x: string;
  y: string;
  colorKey?: string;
  logX?: boolean;
  logY?: boolean;
  height?: number;
  onOpen?: (id: string) => void;
  /** A run hovered elsewhere (another chart, a table), drawn highlighted here too. */
  highlight?: string | null;
  onHover?: (id: string | null) => void;
}

export function Scatter(
  { items, x, y, colorKey, logX = false, logY = false, height = 380, onOpen, highlight = null, onHover }: ScatterProps,
) {
  const box = useRef<HTMLDivElement>(null);
  const width = Math.max(360, useWidth(box));
  const { hover, setHover, tip, setTip, clear } = useChartHover(highlight, onHover);
  const ax = useMemo(() => buildAxis(x, items.map((i) => i.values[x]), logX), [x, items, logX]);
  const ay = useMemo(() => buildAxis(y, items.map((i) => i.values[y]), logY), [y, items, logY]);
  const { colors, range } = useMemo(() => colorItems(items, colorKey), [items, colorKey]);
  const plotW = width - M.left - M.right;
  const plotH = height - M.top - M.bottom;
  const px = (p: number) => M.left + (PAD + p * (1 - 2 * PAD)) * plotW;
  const py = (p: number) => M.top + (1 - PAD - p * (1 - 2 * PAD)) * plotH;

  const points = items.map((item, i) => ({ item, color: colors[i], px: ax.pos(item.values[x]), py: ay.pos(item.values[y]) }))
    .filter((p): p is typeof p & { px: number; py: number } => p.px !== null && p.py !== null);
  const missing = items.length - points.length;
  const ordered = [...points.filter((p) => p.item.id !== hover), ...points.filter((p) => p.item.id === hover)];

  const showTip = (e: ReactMouseEvent, item: Item, color: string) => {
    const p = relativePoint(box.current, e);
    setHover(item.id);
    const rows: TipState['rows'] = [[keyLabel(x), item.values[x]], [keyLabel(y), item.values[y]]];
    if (colorKey && colorKey !== x && colorKey !== y) rows.push([keyLabel(colorKey), item.values[colorKey]]);
    setTip({ ...p, flip: p.x > width * 0.6, title: item.label, color, rows });
  };

  return (
    <div className="scatter" ref={box} data-testid="scatter">
      <svg width={width} height={height} role="img" aria-label={`${keyLabel(y)} against ${keyLabel(x)}`}>
        <g className="grid-lines">
          {ax.ticks.map((t) => <line key={`x${t.label}`} x1={px(t.pos)} x2={px(t.pos)} y1={M.top} y2={M.top + plotH} />)}
          {ay.ticks.map((t) => <line key={`y${t.label}`} y1={py(t.pos)} y2={py(t.pos)} x1={M.left} x2={M.left + plotW} />)}
        </g>
        <rect className="frame" x={M.left} y={M.top} width={plotW} height={plotH} />
        <g className="ticks">
          {ax.ticks.map((t) => <text key={t.label} x={px(t.pos)} y={M.top + plotH + 16} textAnchor="middle">{t.label}</text>)}
          {ay.ticks.map((t) => <text key={t.label} x={M.left - 7} y={py(t.pos)} dy="0.32em" textAnchor="end">{t.label}</text>)}
        </g>
        <text className="axis-title" x={M.left + plotW / 2} y={height - 8} textAnchor="middle">{x}{ax.log ? ' (log)' : ''}</text>
        <text className="axis-title" transform={`translate(14,${M.top + plotH / 2}) rotate(-90)`} textAnchor="middle">
          {y}{ay.log ? ' (log)' : ''}</text>
        {ordered.map(({ item, color, px: a, py: b }) => (
          <circle key={item.id} className={`dot${hover === item.id ? ' hovered' : ''}`} data-run={item.id} aria-label={item.label}
            cx={px(a)} cy={py(b)} r={hover === item.id ? 7 : 5} fill={color}
            onMouseMove={(e) => showTip(e, item, color)} onMouseLeave={clear}
            onClick={() => onOpen?.(item.id)} />
        ))}
      </svg>
      <Tooltip tip={tip} />
      <div className="pc-footer muted small">
        <span data-testid="scatter-count">{points.length} runs{missing ? `; ${missing} without both values` : ''}</span>
        {range && colorKey && <ColorLegend label={keyLabel(colorKey)} range={range} />}
      </div>
    </div>
  );
}

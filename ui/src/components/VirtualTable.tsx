// A windowed table: only the rows and columns in view are in the DOM, so 10,000 runs x 1,000 columns stay smooth.
import { ReactNode, useCallback, useEffect, useMemo, useRef, useState } from 'react';

export interface Column<T> {
  id: string;
  label: string;
  width: number;
  render: (row: T, index: number) => ReactNode;
  title?: (row: T) => string;
  sortable?: boolean;
}

export interface VirtualTableProps<T> {
  columns: Column<T>[];
  rows: T[];
  rowKey: (row: T) => string;
  rowHeight?: number;
  height?: number;
  sort?: { id: string; asc: boolean } | null;
  onSort?: (id: string) => void;
  onEndReached?: () => void;
  rowClass?: (row: T) => string;
  overscan?: number;
  /** Called with the [first, last) indexes of the rows in view (without overscan) when they change. */
  onRangeChange?: (first: number, last: number) => void;
  /** How many leading columns stay in view while scrolling sideways (e.g. the checkbox and the name). */
  pinned?: number;
}

export function visibleRange(scroll: number, viewport: number, itemSize: number, count: number, overscan: number) {
  const first = Math.max(0, Math.floor(scroll / itemSize) - overscan);
  const last = Math.min(count, Math.ceil((scroll + viewport) / itemSize) + overscan);
  return [first, last] as const;
}

export function visibleColumns(offsets: number[], widths: number[], scroll: number, viewport: number, overscan = 2) {
  let first = 0;
  while (first < widths.length && offsets[first] + widths[first] < scroll) first++;
  let last = first;
  while (last < widths.length && offsets[last] < scroll + viewport) last++;
  return [Math.max(0, first - overscan), Math.min(widths.length, last + overscan)] as const;
}

export function VirtualTable<T>(props: VirtualTableProps<T>) {
  const { columns, rows, rowKey, rowHeight = 32, height = 560, sort, onSort, onEndReached, rowClass, overscan = 8, onRangeChange, pinned = 0 } = props;
  const ref = useRef<HTMLDivElement>(null);
  const [scroll, setScroll] = useState({ top: 0, left: 0, width: 1200 });
  const offsets = useMemo(() => {
    const out: number[] = [];
    let x = 0;
    for (const c of columns) { out.push(x); x += c.width; }
    return out;
  }, [columns]);
  const totalWidth = columns.reduce((s, c) => s + c.width, 0);
  const bodyHeight = height - rowHeight;

  const onScroll = useCallback(() => {
    const el = ref.current;
    if (!el) return;
    setScroll({ top: el.scrollTop, left: el.scrollLeft, width: el.clientWidth });
    if (onEndReached && el.scrollTop + el.clientHeight >= el.scrollHeight - rowHeight * 20) onEndReached();
  }, [onEndReached, rowHeight]);

  useEffect(() => {
    const el = ref.current;
    if (el) setScroll((s) => ({ ...s, width: el.clientWidth || s.width }));
  }, []);

  const [r0, r1] = visibleRange(scroll.top, bodyHeight, rowHeight, rows.length, overscan);
  const [v0, v1] = visibleRange(scroll.top, bodyHeight, rowHeight, rows.length, 0);
  useEffect(() => { if (onRangeChange) onRangeChange(v0, v1); }, [v0, v1, onRangeChange]);
  const [c0, c1] = visibleColumns(offsets, columns.map((c) => c.width), scroll.left, scroll.width);
  const pin = Math.min(pinned, columns.length);
  const pinWidth = offsets[pin] ?? totalWidth;
  const pinCols = columns.slice(0, pin);
  const first = Math.max(c0, pin);
  const cols = columns.slice(first, Math.max(first, c1));
  const header = (c: Column<T>, left: number) => {
    const active = sort && sort.id === c.id;
    return (
      <div key={c.id} role="columnheader" className={`vt-cell vt-th${c.sortable ? ' sortable' : ''}`}
        style={{ left, width: c.width, height: rowHeight }} title={c.label} data-col={c.id}
        onClick={() => c.sortable && onSort && onSort(c.id)}>
        {c.label}{active ? (sort!.asc ? ' ▲' : ' ▼') : ''}
      </div>
    );
  };
  const cell = (c: Column<T>, left: number, row: T, i: number) => (
    <div key={c.id} role="cell" className="vt-cell" style={{ left, width: c.width, height: rowHeight }}
      title={c.title ? c.title(row) : undefined}>
      {c.render(row, i)}
    </div>
  );

  return (
    <div className="vt" ref={ref} style={{ height }} onScroll={onScroll} role="table" data-rows={rows.length}>
      <div className="vt-inner" style={{ width: totalWidth, height: rows.length * rowHeight + rowHeight }}>
        <div className="vt-header" style={{ width: totalWidth, height: rowHeight }} role="row">
          {pin > 0 && <div className="vt-pin" style={{ width: pinWidth, height: rowHeight }}>{pinCols.map((c, k) => header(c, offsets[k]))}</div>}
          {cols.map((c, k) => header(c, offsets[first + k]))}
        </div>
        {rows.slice(r0, r1).map((row, j) => {
          const i = r0 + j;
          return (
            <div key={rowKey(row)} role="row" className={`vt-row ${i % 2 ? 'odd' : ''} ${rowClass ? rowClass(row) : ''}`}
              style={{ top: (i + 1) * rowHeight, height: rowHeight, width: totalWidth }}>
              {pin > 0 && <div className="vt-pin" style={{ width: pinWidth, height: rowHeight }}>{pinCols.map((c, k) => cell(c, offsets[k], row, i))}</div>}
              {cols.map((c, k) => cell(c, offsets[first + k], row, i))}
            </div>
          );
        })}
      </div>
    </div>
  );
}

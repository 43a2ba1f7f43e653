import { describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen } from '@testing-library/react';
import { Column, VirtualTable, visibleColumns, visibleRange } from '../components/VirtualTable';

interface Row { id: string; n: number }
const rows: Row[] = Array.from({ length: 10_000 }, (_, i) => ({ id: `r${i}`, n: i }));
const columns: Column<Row>[] = Array.from({ length: 1000 }, (_, c) => ({
  id: `c${c}`, label: `col ${c}`, width: 100, sortable: true, render: (r: Row) => `${r.n}:${c}`,
}));

describe('VirtualTable', () => {
  it('renders only a window of rows and columns', () => {
    const { container } = render(<VirtualTable columns={columns} rows={rows} rowKey={(r) => r.id} height={400} />);
    const rendered = container.querySelectorAll('[role=row]').length - 1; // minus the header
    expect(rendered).toBeGreaterThan(5);
    expect(rendered).toBeLessThan(40);
    expect(container.querySelectorAll('[role=columnheader]').length).toBeLessThan(30);
    expect(screen.getByText('0:0')).toBeTruthy();
    expect(screen.queryByText('9999:0')).toBeNull();
  });

  it('calls onSort with the column id and shows the direction', () => {
    const onSort = vi.fn();
    render(<VirtualTable columns={columns.slice(0, 3)} rows={rows.slice(0, 3)} rowKey={(r) => r.id}
      sort={{ id: 'c1', asc: false }} onSort={onSort} />);
    expect(screen.getByText('col 1 ▼')).toBeTruthy();
    fireEvent.click(screen.getByText('col 2'));
    expect(onSort).toHaveBeenCalledWith('c2');
  });

  it('computes visible ranges', () => {
    expect(visibleRange(0, 320, 32, 100, 0)).toEqual([0, 10]);
    expect(visibleRange(3200, 320, 32, 100, 2)).toEqual([98, 100]);
    const widths = [100, 100, 100, 100, 100];
    expect(visibleColumns([0, 100, 200, 300, 400], widths, 150, 100, 0)).toEqual([1, 3]);
  });
});

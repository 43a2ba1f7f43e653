import { describe, expect, it, vi } from 'vitest';
import { act, fireEvent, render, screen } from '@testing-library/react';
import { useState } from 'react';
import { completions, FilterInput, quoteKey } from '../components/FilterInput';
import { buildTree, runIndex } from '../components/RunTree';
import { KeyCatalog } from '../pages/Runs';
import { sqlString } from '../api/http';
import { Run } from '../api/tracking';
import { VirtualTable } from '../components/VirtualTable';
import { replaceRuns } from '../components/useLiveRows';

const mk = (id: string, parent?: string, extra: Partial<Run['data']> = {}): Run => ({
  info: { run_id: id, run_name: id, experiment_id: '1', status: 'FINISHED', lifecycle_stage: 'active' },
  data: { tags: parent ? [{ key: 'mlflow.parentRunId', value: parent }] : [], ...extra },
});
const keys = { metrics: ['acc', 'val loss', 'val_acc'], params: ['lr', 'batch.size'], tags: ['mlflow.parentRunId', 'team'] };

describe('filter completion', () => {
  it('offers the prefixes at the start of a clause', () => {
    const r = completions('me', 2, keys)!;
    expect(r.items.map((i) => i.label)).toEqual(['metrics.']);
    expect([r.start, r.end]).toEqual([0, 2]);
    expect(completions('metrics.acc > 1 and ', 20, keys)!.items.map((i) => i.label)).toContain('params.');
    expect(completions('metrics.acc > 1', 15, keys)).toBeNull();
  });
  it('offers keys after a prefix, prefix matches first, quoting odd keys', () => {
    const r = completions('metrics.ac', 10, keys)!;
    expect(r.items.map((i) => i.insert)).toEqual(['metrics.acc', 'metrics.val_acc']);
    expect(completions('metrics.val', 11, keys)!.items.map((i) => i.insert)).toEqual(['metrics.`val loss`', 'metrics.val_acc']);
    expect(completions('params.', 7, keys)!.items.map((i) => i.insert)).toEqual(['params.batch.size', 'params.lr']);
    expect(completions('x = 1 and tags.par', 18, keys)!.items[0]).toMatchObject({ insert: 'tags.mlflow.parentRunId', kind: 'tag' });
    expect(completions('attributes.st', 13, keys)!.items.map((i) => i.label)).toEqual(['start_time', 'status']);
  });
  it('replaces the whole key under the cursor and offers status values', () => {
    const r = completions('metrics.acXYZ > 1', 10, keys)!;
    expect([r.start, r.end]).toEqual([0, 13]);
    const s = completions("attributes.status = 'F", 22, keys)!;
    expect(s.items.map((i) => i.insert)).toEqual(["'FAILED'", "'FINISHED'"]);
    expect(s.start).toBe(20);
  });
  it('quotes keys and strings for the search language', () => {
    expect(quoteKey('plain_key')).toBe('plain_key');
    expect(quoteKey('with space')).toBe('`with space`');
    expect(sqlString("it's")).toBe("'it\\'s'");
  });
  it('is navigable with the keyboard', () => {
    const onSubmit = vi.fn();
    function Harness() {
      const [v, setV] = useState('');
      return <FilterInput value={v} onChange={setV} onSubmit={onSubmit} keys={keys} />;
    }
    render(<Harness />);
    const box = screen.getByLabelText('Filter runs') as HTMLInputElement;
    fireEvent.change(box, { target: { value: 'pa', selectionStart: 2 } });
    expect(screen.getAllByRole('option').map((o) => o.textContent)).toEqual(['prefixparams.param']);
    fireEvent.keyDown(box, { key: 'Enter' });
    expect(box.value).toBe('params.');
    expect(screen.getAllByRole('option')).toHaveLength(2);
    fireEvent.keyDown(box, { key: 'ArrowDown' });
    expect(screen.getAllByRole('option')[1].getAttribute('aria-selected')).toBe('true');
    expect(box.getAttribute('aria-activedescendant')).toBe(screen.getAllByRole('option')[1].id);
    fireEvent.keyDown(box, { key: 'Tab' });
    expect(box.value).toBe('params.lr');
    expect(screen.queryByRole('listbox')).toBeNull();
    fireEvent.keyDown(box, { key: 'Enter' });
    expect(onSubmit).toHaveBeenCalledWith('params.lr');
  });
  it('takes the focus on "/" typed outside a text field', () => {
    render(<FilterInput value="" onChange={() => undefined} onSubmit={() => undefined} keys={keys} />);
    fireEvent.keyDown(document.body, { key: '/' });
    expect(document.activeElement).toBe(screen.getByLabelText('Filter runs'));
  });
  it('closes on Escape without changing the text', () => {
    function Harness() {
      const [v, setV] = useState('');
      return <FilterInput value={v} onChange={setV} onSubmit={() => undefined} keys={keys} />;
    }
    render(<Harness />);
    const box = screen.getByLabelText('Filter runs') as HTMLInputElement;
    fireEvent.change(box, { target: { value: 'tags.', selectionStart: 5 } });
    expect(screen.getByRole('listbox')).toBeTruthy();
    fireEvent.keyDown(box, { key: 'Escape' });
    expect(screen.queryByRole('listbox')).toBeNull();
    expect(box.value).toBe('tags.');
  });
});

describe('run tree', () => {
  const runs = [mk('c2', 'p'), mk('p'), mk('c1', 'p'), mk('g', 'c1'), mk('orphan', 'gone'), mk('solo')];
  it('hides children under collapsed parents and keeps orphans at the top', () => {
    const rows = buildTree(runs, true, new Set());
    expect(rows.map((r) => [r.run.info.run_id, r.depth, r.kids, r.orphan])).toEqual([
      ['p', 0, 2, false], ['orphan', 0, 0, true], ['solo', 0, 0, false],
    ]);
  });
  it('expands nested levels in load order', () => {
    const rows = buildTree(runs, true, new Set(['p', 'c1']));
    expect(rows.map((r) => `${'-'.repeat(r.depth)}${r.run.info.run_id}`)).toEqual(['p', '-c2', '-c1', '--g', 'orphan', 'solo']);
  });
  it('adds children fetched for an expanded parent once, and lists everything flat without grouping', () => {
    const extra = new Map([['p', [mk('c3', 'p'), runs[0]]]]);
    expect(buildTree(runs, true, new Set(['p']), extra).map((r) => r.run.info.run_id)).toEqual(['p', 'c2', 'c1', 'c3', 'orphan', 'solo']);
    expect(buildTree(runs, false, new Set()).map((r) => r.run.info.run_id)).toEqual(runs.map((r) => r.info.run_id));
  });
  it('stays fast at 10,000 runs', () => {
    const many: Run[] = [];
    for (let i = 0; i < 2000; i++) {
      many.push(mk(`p${i}`));
      for (let j = 0; j < 4; j++) many.push(mk(`p${i}c${j}`, `p${i}`));
    }
    const all = new Set(many.filter((r) => !r.data.tags?.length).map((r) => r.info.run_id));
    const rows = buildTree(many, true, all);
    expect(rows).toHaveLength(10_000);
    expect(rows[1]).toMatchObject({ depth: 1 });
  });
  it('indexes a run once for cell lookups', () => {
    const r = mk('x', undefined, { params: [{ key: 'lr', value: '0.1' }], metrics: [{ key: 'acc', value: 1, step: 0, timestamp: 0 }] });
    expect(runIndex(r).get('params.lr')).toBe('0.1');
    expect(runIndex(r)).toBe(runIndex(r));
  });
});

describe('key catalog', () => {
  it('adds keys of new runs only and reports growth', () => {
    const c = new KeyCatalog();
    const a = mk('a', undefined, { params: [{ key: 'lr', value: '1' }] });
    expect(c.add([a])).toBe(true);
    expect(c.add([a])).toBe(false);
    expect(c.add([mk('b', 'a', { metrics: [{ key: 'm', value: 1, step: 0, timestamp: 0 }] })])).toBe(true);
    expect([...c.params, ...c.metrics, ...c.tags]).toEqual(['lr', 'm', 'mlflow.parentRunId']);
  });
});

describe('live refresh helper', () => {
  it('is exported with a sane interval', async () => {
    const { LIVE_POLL_MS } = await import('../pages/Runs');
    await act(async () => undefined);
    expect(LIVE_POLL_MS).toBeGreaterThanOrEqual(1000);
  });
});

describe('virtual table range', () => {
  it('reports the rows in view (without overscan) and follows the scroll', () => {
    const onRange = vi.fn();
    const rows = Array.from({ length: 1000 }, (_, i) => ({ id: `r${i}` }));
    const { container } = render(<VirtualTable columns={[{ id: 'a', label: 'A', width: 100, render: (r: { id: string }) => r.id }]}
      rows={rows} rowKey={(r) => r.id} height={32 * 11} rowHeight={32} onRangeChange={onRange} />);
    expect(onRange).toHaveBeenLastCalledWith(0, 10);
    const el = container.querySelector('.vt') as HTMLDivElement;
    el.scrollTop = 3200;
    fireEvent.scroll(el);
    expect(onRange).toHaveBeenLastCalledWith(100, 110);
  });
});

describe('live rows', () => {
  it('replaces fresh copies in place and keeps the array when nothing changed', () => {
    const list = [mk('a'), mk('b'), mk('c')];
    const fresh = { ...mk('b'), info: { ...mk('b').info, status: 'FINISHED' } };
    const out = replaceRuns(list, new Map([['b', fresh]]));
    expect(out.map((r) => r.info.run_id)).toEqual(['a', 'b', 'c']);
    expect(out[1]).toBe(fresh);
    expect(out[0]).toBe(list[0]);
    expect(replaceRuns(list, new Map([['zzz', fresh]]))).toBe(list);
  });
});

describe('pinned columns', () => {
  it('keeps the leading columns rendered while scrolled far to the right', () => {
    const rows = Array.from({ length: 50 }, (_, i) => ({ id: `r${i}` }));
    const columns = Array.from({ length: 1000 }, (_, c) => ({ id: `c${c}`, label: `col ${c}`, width: 100, render: (r: { id: string }) => `${r.id}:${c}` }));
    const { container } = render(<VirtualTable columns={columns} rows={rows} rowKey={(r) => r.id} height={400} pinned={2} />);
    const el = container.querySelector('.vt') as HTMLDivElement;
    Object.defineProperty(el, 'clientWidth', { value: 800 });
    el.scrollLeft = 50_000;
    fireEvent.scroll(el);
    const headers = [...container.querySelectorAll('[role=columnheader]')].map((h) => h.textContent);
    expect(headers.slice(0, 2)).toEqual(['col 0', 'col 1']);
    expect(headers).toContain('col 500');
    expect(headers).not.toContain('col 100');
    expect(container.querySelectorAll('.vt-row .vt-pin [role=cell]').length).toBe(2 * container.querySelectorAll('.vt-row').length);
  });
});

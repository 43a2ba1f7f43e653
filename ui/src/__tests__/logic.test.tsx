import { describe, expect, it } from 'vitest';
import { render, screen } from '@testing-library/react';
import { cellValue, orderByClause, parseColId } from '../pages/Runs';
import { paramDiff, pointsPerRun } from '../pages/Compare';
import { align, smooth } from '../components/Chart';
import { query } from '../api/http';
import { Run } from '../api/tracking';
import { fmtDuration, fmtValue } from '../format';
import { href, parseHash } from '../router';
import { ErrorBox } from '../components/Common';

const run = (id: string, params: Record<string, string>, metrics: Record<string, number> = {}): Run => ({
  info: { run_id: id, experiment_id: '1', status: 'FINISHED', lifecycle_stage: 'active', run_name: id },
  data: {
    params: Object.entries(params).map(([key, value]) => ({ key, value })),
    metrics: Object.entries(metrics).map(([key, value]) => ({ key, value, step: 0, timestamp: 0 })),
  },
});

describe('runs table logic', () => {
  it('builds order_by clauses in the search language', () => {
    expect(orderByClause('metrics.val loss', false)).toBe('metrics.`val loss` DESC');
    expect(orderByClause('attributes.start_time', true)).toBe('attributes.start_time ASC');
    expect(orderByClause('params.lr', true)).toBe('params.`lr` ASC');
  });
  it('reads cell values', () => {
    const r = run('a', { lr: '0.1' }, { acc: 0.9 });
    expect(cellValue(r, parseColId('params.lr'))).toBe('0.1');
    expect(cellValue(r, parseColId('metrics.acc'))).toBe(0.9);
    expect(cellValue(r, parseColId('attributes.status'))).toBe('FINISHED');
    expect(cellValue(r, parseColId('tags.none'))).toBeUndefined();
  });
});

describe('compare', () => {
  it('marks params that differ', () => {
    const d = paramDiff([run('a', { lr: '0.1', opt: 'adam' }), run('b', { lr: '0.2', opt: 'adam' })]);
    expect(d).toEqual([
      { key: 'lr', values: ['0.1', '0.2'], differs: true },
      { key: 'opt', values: ['adam', 'adam'], differs: false },
    ]);
  });
  it('aligns series on a shared x axis', () => {
    const cols = align([
      { label: 'a', points: [{ x: 0, y: 1 }, { x: 2, y: 3 }] },
      { label: 'b', points: [{ x: 1, y: 5 }] },
    ]);
    expect(cols).toEqual([[0, 1, 2], [1, null, 3], [null, 5, null]]);
    expect(smooth([{ x: 0, y: 0 }, { x: 1, y: 10 }], 0.5)).toEqual([{ x: 0, y: 0 }, { x: 1, y: 5 }]);
  });
});

describe('helpers', () => {
  it('formats values and durations', () => {
    expect(fmtValue(0.123456789)).toBe('0.123457');
    expect(fmtValue(3)).toBe('3');
    expect(fmtDuration(1000, 62_000)).toBe('1m 1s');
  });
  it('round-trips shareable routes', () => {
    const h = href('/experiments/1', { filter: "params.lr = '0.1'", order: 'metrics.acc:desc' });
    const r = parseHash(h);
    expect(r.path).toEqual(['experiments', '1']);
    expect(r.params.get('filter')).toBe("params.lr = '0.1'");
    expect(query({ run_ids: ['a', 'b'], x: undefined })).toBe('?run_ids=a&run_ids=b');
  });
  it('shows errors as alerts', () => {
    render(<ErrorBox error="bad filter" />);
    expect(screen.getByRole('alert').textContent).toBe('bad filter');
  });
});

describe('compare chart requests', () => {
  it('asks for fewer points per run as more runs are compared, within 200..1000', () => {
    expect(pointsPerRun(1)).toBe(1000);
    expect(pointsPerRun(40)).toBe(1000);
    expect(pointsPerRun(100)).toBe(400);
    expect(pointsPerRun(500)).toBe(200);
    expect(pointsPerRun(0)).toBe(1000);
  });
});

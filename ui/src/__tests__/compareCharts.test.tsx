import { describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen } from '@testing-library/react';
import { asNumber, buildAxis, colorItems, compareKeys, isNumeric, Item, niceTicks, rampColor, runValue } from '../components/axes';
import { insideBrushes, linePath, ParallelCoordinates } from '../components/ParallelCoordinates';
import { Scatter } from '../components/Scatter';
import { defaultAxes, defaultScatter, differingKeys } from '../pages/Compare';
import { Run } from '../api/tracking';

const run = (id: string, params: Record<string, string>, metrics: Record<string, number> = {}): Run => ({
  info: { run_id: id, experiment_id: '1', status: 'FINISHED', lifecycle_stage: 'active', run_name: `name-${id}` },
  data: {
    params: Object.entries(params).map(([key, value]) => ({ key, value })),
    metrics: Object.entries(metrics).map(([key, value]) => ({ key, value, step: 0, timestamp: 0 })),
  },
});

const items: Item[] = [
  { id: 'a', label: 'run-a', color: '#111111', values: { 'params.lr': '0.1', 'params.arch': 'vit', 'metrics.acc': 0.9 } },
  { id: 'b', label: 'run-b', color: '#222222', values: { 'params.lr': '0.01', 'params.arch': 'mlp', 'metrics.acc': 0.7 } },
  { id: 'c', label: 'run-c', color: '#333333', values: { 'params.lr': '0.001', 'params.arch': 'resnet' } },
];

describe('axes', () => {
  it('reads numbers from params and metrics, and nothing else', () => {
    expect(asNumber('1e-3')).toBe(0.001);
    expect(asNumber(' 42 ')).toBe(42);
    expect(asNumber('adam')).toBeUndefined();
    expect(asNumber(NaN)).toBeUndefined();
    expect(isNumeric(['1', 2, undefined])).toBe(true);
    expect(isNumeric(['1', 'x'])).toBe(false);
    expect(isNumeric([undefined])).toBe(false);
  });
  it('picks round ticks', () => {
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0.58, 0.82, 4)).toEqual([0.6, 0.7, 0.8]);
    expect(niceTicks(0.58, 0.82, 8)).toEqual([0.6, 0.65, 0.7, 0.75, 0.8]);
    expect(niceTicks(3, 3)).toEqual([3]);
  });
  it('builds numeric, log and categorical axes', () => {
    const lin = buildAxis('params.lr', ['0.1', '0.01', '0.001', undefined]);
    expect(lin.kind).toBe('numeric');
    expect(lin.pos('0.1')).toBe(1);
    expect(lin.pos('0.001')).toBe(0);
    expect(lin.pos(undefined)).toBeNull();
    const log = buildAxis('params.lr', ['0.1', '0.01', '0.001'], true);
    expect(log.log).toBe(true);
    expect(log.pos('0.01')).toBeCloseTo(0.5);
    expect(log.ticks.map((t) => t.label)).toEqual(['0.001', '0.01', '0.1']);
    expect(buildAxis('x', ['-1', '1'], true).log).toBe(false); // not all positive: stays linear
    const cat = buildAxis('params.arch', ['vit', 'mlp', 'resnet', 'mlp']);
    expect(cat.kind).toBe('categorical');
    expect(cat.categories).toEqual(['mlp', 'resnet', 'vit']);
    expect([cat.pos('mlp'), cat.pos('resnet'), cat.pos('vit')]).toEqual([0, 0.5, 1]);
    expect(buildAxis('k', ['2', '10', 'b']).categories).toEqual(['2', '10', 'b']); // natural order
  });
  it('colours by a metric on a ramp, grey without a value', () => {
    const { colors, range } = colorItems(items, 'metrics.acc');
    expect(range).toEqual([0.7, 0.9]);
    expect(colors).toEqual([rampColor(1), rampColor(0), '#8a8f98']);
    expect(rampColor(0)).toBe('#2c7bb6');
    expect(rampColor(1)).toBe('#d7191c');
    expect(colorItems(items).colors).toEqual(['#111111', '#222222', '#333333']);
  });
  it('lists run keys and values', () => {
    const runs = [run('a', { lr: '0.1', opt: 'adam' }, { acc: 0.5 }), run('b', { lr: '0.2', opt: 'adam' }, { acc: 0.6, loss: 1 })];
    expect(compareKeys(runs)).toEqual(['params.lr', 'params.opt', 'metrics.acc', 'metrics.loss']);
    expect(runValue(runs[0], 'params.lr')).toBe('0.1');
    expect(runValue(runs[1], 'metrics.loss')).toBe(1);
    expect(runValue(runs[0], 'metrics.loss')).toBeUndefined();
    const keys = compareKeys(runs);
    expect(differingKeys(runs, keys)).toEqual(['params.lr', 'metrics.acc', 'metrics.loss']);
    expect(defaultAxes(runs, keys)).toEqual(['params.lr', 'metrics.acc', 'metrics.loss']);
    expect(defaultScatter(runs, keys)).toEqual({ x: 'params.lr', y: 'metrics.acc' });
  });
});

describe('parallel coordinates', () => {
  it('breaks a line where a value is missing, and filters by brushes', () => {
    expect(linePath([1, null, 0], [0, 10, 20], (p) => 100 - p * 100)).toBe('M0.0,0.0M20.0,100.0');
    expect(linePath([0, 1], [0, 10], (p) => p)).toBe('M0.0,0.0L10.0,1.0');
    const axes = [buildAxis('x', [0, 10]), buildAxis('y', ['a', 'b'])];
    expect(insideBrushes([0.5, 0], axes, { x: [0.4, 0.6] })).toBe(true);
    expect(insideBrushes([0.9, 0], axes, { x: [0.4, 0.6] })).toBe(false);
    expect(insideBrushes([null, 0], axes, { x: [0, 1] })).toBe(false);
    expect(insideBrushes([null, 0], axes, {})).toBe(true);
  });
  it('draws a line per run, names the hovered run and opens it on click', () => {
    const onOpen = vi.fn();
    const { container } = render(<ParallelCoordinates items={items} axes={['params.arch', 'params.lr', 'metrics.acc']} onOpen={onOpen} />);
    expect(container.querySelectorAll('path.pc-line')).toHaveLength(3);
    expect([...container.querySelectorAll('.pc-axis')].map((a) => a.getAttribute('data-axis')))
      .toEqual(['params.arch', 'params.lr', 'metrics.acc']);
    const ticks = [...container.querySelectorAll(".pc-axis[data-axis='params.arch'] g text")].map((t) => t.textContent);
    expect(ticks).toEqual(['mlp', 'resnet', 'vit']);
    const hit = container.querySelector("path.pc-hit[data-run='b']")!;
    fireEvent.mouseMove(hit, { clientX: 50, clientY: 50 });
    expect(screen.getByRole('tooltip').textContent).toContain('run-b');
    expect(screen.getByRole('tooltip').textContent).toContain('mlp');
    expect(container.querySelector("path.pc-line.hovered")!.getAttribute('data-run')).toBe('b');
    fireEvent.click(hit);
    expect(onOpen).toHaveBeenCalledWith('b');
    fireEvent.mouseLeave(hit);
    expect(screen.queryByRole('tooltip')).toBeNull();
  });
  it('asks for two axes', () => {
    render(<ParallelCoordinates items={items} axes={['params.lr']} />);
    expect(screen.getByText('Choose at least two axes.')).toBeTruthy();
  });
});

describe('scatter', () => {
  it('places the runs that have both values, names one on hover, opens it on click', () => {
    const onOpen = vi.fn();
    const { container } = render(<Scatter items={items} x="params.lr" y="metrics.acc" onOpen={onOpen} />);
    const dots = container.querySelectorAll('circle.dot');
    expect(dots).toHaveLength(2);
    expect(screen.getByTestId('scatter-count').textContent).toBe('2 runs; 1 without both values');
    const a = container.querySelector("circle.dot[data-run='a']")!;
    const b = container.querySelector("circle.dot[data-run='b']")!;
    expect(Number(a.getAttribute('cx'))).toBeGreaterThan(Number(b.getAttribute('cx'))); // lr 0.1 right of 0.01
    expect(Number(a.getAttribute('cy'))).toBeLessThan(Number(b.getAttribute('cy'))); // acc 0.9 above 0.7
    fireEvent.mouseMove(a, { clientX: 10, clientY: 10 });
    expect(screen.getByRole('tooltip').textContent).toContain('run-a');
    expect(screen.getByRole('tooltip').textContent).toContain('0.9');
    fireEvent.click(a);
    expect(onOpen).toHaveBeenCalledWith('a');
  });
  it('puts text values in columns', () => {
    const { container } = render(<Scatter items={items} x="params.arch" y="params.lr" />);
    const xs = new Set([...container.querySelectorAll('circle.dot')].map((d) => d.getAttribute('cx')));
    expect(xs.size).toBe(3);
    expect([...container.querySelectorAll('.ticks text')].map((t) => t.textContent)).toContain('resnet');
  });
});

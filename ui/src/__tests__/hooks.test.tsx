import { afterEach, describe, expect, it, vi } from 'vitest';
import { act, renderHook, waitFor } from '@testing-library/react';
import { useLoad } from '../components/useLoad';
import { usePagedRuns, RunsQuery } from '../components/usePagedRuns';
import { ApiError } from '../api/http';
import { api, Run } from '../api/tracking';

/** A promise with its resolve/reject in hand, to settle requests in any order. */
function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

const mk = (id: string): Run => ({ info: { run_id: id, experiment_id: '1', status: 'FINISHED', lifecycle_stage: 'active' }, data: {} });

afterEach(() => { vi.restoreAllMocks(); });

describe('useLoad', () => {
  it('loads, reports loading, and reloads keeping the data meanwhile', async () => {
    const calls: ReturnType<typeof deferred<string>>[] = [];
    const fn = vi.fn(() => { const d = deferred<string>(); calls.push(d); return d.promise; });
    const { result } = renderHook(() => useLoad(fn, []));
    expect(result.current).toMatchObject({ data: undefined, error: null, loading: true });
    await act(async () => calls[0].resolve('first'));
    expect(result.current).toMatchObject({ data: 'first', error: null, loading: false });
    act(() => result.current.reload());
    expect(fn).toHaveBeenCalledTimes(2);
    expect(result.current).toMatchObject({ data: 'first', loading: true });
    await act(async () => calls[1].resolve('second'));
    expect(result.current).toMatchObject({ data: 'second', loading: false });
  });

  it("shows the server's message and clears it on the next success", async () => {
    let fail = true;
    const { result } = renderHook(() => useLoad(() => (fail ? Promise.reject(new ApiError('No run', 'RESOURCE_DOES_NOT_EXIST', 404))
      : Promise.resolve(1)), []));
    await waitFor(() => expect(result.current.error).toBe('No run'));
    expect(result.current).toMatchObject({ data: undefined, loading: false });
    fail = false;
    act(() => result.current.reload());
    await waitFor(() => expect(result.current.data).toBe(1));
    expect(result.current.error).toBeNull();
  });

  it('never lets an older response overwrite a newer one', async () => {
    const pending = new Map<string, ReturnType<typeof deferred<string>>>();
    const { result, rerender } = renderHook(({ id }) => useLoad(() => {
      const d = deferred<string>();
      pending.set(id, d);
      return d.promise;
    }, [id]), { initialProps: { id: 'a' } });
    rerender({ id: 'b' });
    await act(async () => pending.get('b')!.resolve('answer for b'));
    expect(result.current).toMatchObject({ data: 'answer for b', loading: false });
    await act(async () => pending.get('a')!.resolve('answer for a')); // the slow old request settles last
    expect(result.current.data).toBe('answer for b');
    await act(async () => pending.get('a')!.reject(new Error('late failure')));
    expect(result.current.error).toBeNull();
  });

  it('drops an older failure too, and keeps loading until the newest settles', async () => {
    const pending: ReturnType<typeof deferred<number>>[] = [];
    const { result, rerender } = renderHook(({ n }) => useLoad(() => {
      const d = deferred<number>();
      pending[n] = d;
      return d.promise;
    }, [n]), { initialProps: { n: 0 } });
    rerender({ n: 1 });
    await act(async () => pending[0].reject(new Error('old')));
    expect(result.current).toMatchObject({ error: null, loading: true });
    await act(async () => pending[1].resolve(1));
    expect(result.current).toMatchObject({ data: 1, error: null, loading: false });
  });

  it('skips when the loader returns nothing, and resets between loads when asked', async () => {
    const { result, rerender } = renderHook(({ key }) => useLoad(() => (key ? Promise.resolve(`v-${key}`) : undefined), [key],
      { reset: true }), { initialProps: { key: 'x' as string | null } });
    await waitFor(() => expect(result.current.data).toBe('v-x'));
    rerender({ key: null });
    expect(result.current).toMatchObject({ data: undefined, loading: false });
    rerender({ key: 'y' });
    await waitFor(() => expect(result.current.data).toBe('v-y'));
  });

  it('keeps the data when the loader skips without reset', async () => {
    const { result, rerender } = renderHook(({ key }) => useLoad(() => (key ? Promise.resolve(key) : undefined), [key]),
      { initialProps: { key: 'x' as string | null } });
    await waitFor(() => expect(result.current.data).toBe('x'));
    rerender({ key: null });
    expect(result.current).toMatchObject({ data: 'x', loading: false });
  });
});

describe('usePagedRuns', () => {
  const query = (filter = ''): RunsQuery => ({ experimentIds: ['1'], filter, orderBy: [], viewType: 'ACTIVE_ONLY' });

  it('loads the first page, then the next on demand, and stops at the last', async () => {
    const search = vi.spyOn(api, 'searchRuns').mockImplementation(async (_e, _f, _o, token) => (token
      ? { runs: [mk('c')] } : { runs: [mk('a'), mk('b')], next_page_token: 't1' }));
    const { result } = renderHook(() => usePagedRuns(query(), undefined, 2));
    await waitFor(() => expect(result.current.runs.map((r) => r.info.run_id)).toEqual(['a', 'b']));
    expect(result.current).toMatchObject({ done: false, loading: false, error: null });
    expect(search).toHaveBeenLastCalledWith(['1'], '', [], undefined, 2, 'ACTIVE_ONLY');
    act(() => result.current.loadMore());
    await waitFor(() => expect(result.current.runs.map((r) => r.info.run_id)).toEqual(['a', 'b', 'c']));
    expect(search).toHaveBeenLastCalledWith(['1'], '', [], 't1', 2, 'ACTIVE_ONLY');
    expect(result.current.done).toBe(true);
    act(() => result.current.loadMore());
    expect(search).toHaveBeenCalledTimes(2);
  });

  it('starts over when the query changes, dropping answers for the old one', async () => {
    const pending = new Map<string, ReturnType<typeof deferred<{ runs: Run[] }>>>();
    vi.spyOn(api, 'searchRuns').mockImplementation((_e, filter) => {
      const d = deferred<{ runs: Run[] }>();
      pending.set(filter, d);
      return d.promise;
    });
    const onReset = vi.fn();
    const { result, rerender } = renderHook(({ filter }) => usePagedRuns(query(filter), onReset), { initialProps: { filter: 'old' } });
    const gen = result.current.gen.current;
    rerender({ filter: 'new' });
    expect(onReset).toHaveBeenCalledTimes(2);
    expect(result.current.gen.current).toBe(gen + 1);
    await act(async () => pending.get('new')!.resolve({ runs: [mk('n')] }));
    await act(async () => pending.get('old')!.resolve({ runs: [mk('o')] }));
    expect(result.current.runs.map((r) => r.info.run_id)).toEqual(['n']);
    expect(result.current).toMatchObject({ done: true, loading: false });
  });

  it('reports a failed search as an empty, finished list and reloads the first page', async () => {
    const search = vi.spyOn(api, 'searchRuns').mockRejectedValueOnce(new ApiError('Bad filter', 'INVALID_PARAMETER_VALUE', 400))
      .mockResolvedValue({ runs: [mk('a')] });
    const onReset = vi.fn();
    const { result } = renderHook(() => usePagedRuns(query('metrics.x >'), onReset));
    await waitFor(() => expect(result.current.error).toBe('Bad filter'));
    expect(result.current).toMatchObject({ runs: [], done: true, loading: false });
    act(() => result.current.reload());
    await waitFor(() => expect(result.current.runs).toHaveLength(1));
    expect(result.current.error).toBeNull();
    expect(search).toHaveBeenCalledTimes(2);
    expect(onReset).toHaveBeenCalledTimes(2);
  });
});

// Load data for a component: `data`, the server's message in `error`, `loading` while a request is out, `reload`.
import { DependencyList, Dispatch, SetStateAction, useCallback, useEffect, useState } from 'react';
import { errorMessage, isForbidden } from '../api/http';

export interface Loaded<T> {
  /** The latest answer; `undefined` until one arrives (and, with `reset`, while a new load is out). */
  data: T | undefined;
  /** The latest failure's message; cleared by the next success. */
  error: string | null;
  /** Whether the latest failure was a 403 (signed in, without permission): pages show it in place of their content. */
  forbidden: boolean;
  loading: boolean;
  /** Load again with the same dependencies (keeps `data` meanwhile). */
  reload: () => void;
  setData: Dispatch<SetStateAction<T | undefined>>;
  setError: Dispatch<SetStateAction<string | null>>;
}

/**
 * Calls `load` when `deps` change (and on `reload`). `load` may return `undefined` to skip (nothing to load yet);
 * `data` then stays as it was. Only the latest call's answer is used: an older request that settles after a newer
 * one started, or after the component is gone, is dropped, so a slow old response never overwrites a new one.
 * `reset` clears `data` and `error` whenever a load starts (a preview of another file, not a refresh of this one).
 */
export function useLoad<T>(load: () => Promise<T> | undefined, deps: DependencyList, { reset = false } = {}): Loaded<T> {
  const [data, setData] = useState<T | undefined>();
  const [error, setError] = useState<string | null>(null);
  const [forbidden, setForbidden] = useState(false);
  const [loading, setLoading] = useState(false);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (reset) { setData(undefined); setError(null); setForbidden(false); }
    const pending = load();
    if (!pending) { setLoading(false); return; }
    let latest = true;
    setLoading(true);
    pending.then((value) => { if (latest) { setData(() => value); setError(null); setForbidden(false); } },
      (e) => { if (latest) { setError(errorMessage(e)); setForbidden(isForbidden(e)); } })
      .finally(() => { if (latest) setLoading(false); });
    return () => { latest = false; };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, forbidden, loading, reload, setData, setError };
}

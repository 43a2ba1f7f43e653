// The runs table's paging: the first page when the query changes (or on `reload`), the next on `loadMore`.
import { useCallback, useEffect, useRef, useState } from 'react';
import { errorMessage } from '../api/http';
import { api, Run } from '../api/tracking';

export const PAGE = 200;

export interface RunsQuery { experimentIds: string[]; filter: string; orderBy: string[]; viewType: string }

/**
 * Runs of a search, page by page. `gen` is the load generation: it grows when the first page is asked for again,
 * and answers for an older generation (a previous filter, order or reload) are dropped, here and by callers that
 * fetch beside the table (child runs, live rows). `onReset` runs when the list starts over.
 */
export function usePagedRuns({ experimentIds, filter, orderBy, viewType }: RunsQuery, onReset: () => void = () => undefined,
  pageSize = PAGE) {
  const expKey = experimentIds.join(',');
  const orderKey = orderBy.join('\n'); // by value: a caller's new but equal list is the same query
  const [runs, setRuns] = useState<Run[]>([]);
  const [token, setToken] = useState<string | undefined>();
  const [loading, setLoading] = useState(false);
  const [done, setDone] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  const gen = useRef(0);
  const onResetRef = useRef(onReset);
  onResetRef.current = onReset;

  const load = useCallback((pageToken: string | undefined, g: number) => {
    setLoading(true);
    api.searchRuns(experimentIds, filter, orderBy, pageToken, pageSize, viewType).then((r) => {
      if (g !== gen.current) return;
      setRuns((prev) => (pageToken ? [...prev, ...(r.runs || [])] : r.runs || []));
      setToken(r.next_page_token);
      setDone(!r.next_page_token);
      setError(null);
    }).catch((e) => { if (g === gen.current) { setError(errorMessage(e)); setRuns([]); setDone(true); } })
      .finally(() => { if (g === gen.current) setLoading(false); });
  }, [expKey, filter, orderKey, viewType, pageSize]);

  useEffect(() => {
    const g = ++gen.current;
    setRuns([]); setToken(undefined); setDone(false); onResetRef.current();
    load(undefined, g);
  }, [load, tick]);

  /** The next page, unless one is loading or there is none (the table calls this near its end). */
  const loadMore = useCallback(() => {
    if (!loading && !done && token) load(token, gen.current);
  }, [loading, done, token, load]);
  /** The first page again, with the same query (after runs were deleted, restored or moved). */
  const reload = useCallback(() => setTick((t) => t + 1), []);

  return { runs, setRuns, loading, done, error, setError, gen, loadMore, reload };
}

// Live updates for a runs table: running rows in view are re-read every `pollMs` and handed back as fresh copies,
// so the caller replaces them in place and scroll position, selection and expansion stay as they are.
import { MutableRefObject, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Run, runsApi } from '../api/tracking';
import { TreeRow } from './RunTree';

export const LIVE_POLL_MS = 5000;
const LIVE_MAX = 100;

/** `list` with the runs found in `fresh` replaced (the same array when none is). */
export function replaceRuns(list: Run[], fresh: Map<string, Run>): Run[] {
  let changed = false;
  const out = list.map((r) => { const f = fresh.get(r.info.run_id); if (f) { changed = true; return f; } return r; });
  return changed ? out : list;
}

/**
 * Polls the running runs among the rows in view. `gen` is the table's load generation: answers that arrive after
 * a reload are dropped. Returns the range callback for the table and how many running rows are in view.
 */
export function useLiveRows(rows: TreeRow[], experimentIds: string[], gen: MutableRefObject<number>,
  onFresh: (fresh: Map<string, Run>) => void, pollMs = LIVE_POLL_MS) {
  const range = useRef<[number, number]>([0, 0]);
  const rowsRef = useRef(rows);
  rowsRef.current = rows;
  const onFreshRef = useRef(onFresh);
  onFreshRef.current = onFresh;
  const [liveInView, setLiveInView] = useState(0);

  const runningInView = useCallback(() => {
    const [a, b] = range.current;
    const ids: string[] = [];
    for (let i = a; i < b && i < rowsRef.current.length; i++) {
      const run = rowsRef.current[i].run;
      if (run.info.status === 'RUNNING') ids.push(run.info.run_id);
    }
    return ids;
  }, []);
  // the same count again makes React skip the render, so scrolling does not re-render the page
  const recount = useCallback(() => setLiveInView(runningInView().length), [runningInView]);
  const onRangeChange = useCallback((a: number, b: number) => { range.current = [a, b]; recount(); }, [recount]);
  useEffect(recount, [rows]);

  const hasRunning = useMemo(() => rows.some((r) => r.run.info.status === 'RUNNING'), [rows]);
  const expKey = experimentIds.join(',');
  useEffect(() => {
    if (!hasRunning) return;
    let busy = false;
    const timer = setInterval(() => {
      if (busy || document.hidden) return;
      const ids = runningInView().slice(0, LIVE_MAX);
      if (!ids.length) return;
      busy = true;
      const g = gen.current;
      runsApi.runsByIds(experimentIds, ids).then((res) => {
        if (g === gen.current) onFreshRef.current(new Map((res.runs || []).map((r) => [r.info.run_id, r])));
      }).catch(() => undefined).finally(() => { busy = false; });
    }, pollMs);
    return () => clearInterval(timer);
  }, [hasRunning, expKey, pollMs]);

  return { onRangeChange, liveInView: hasRunning ? liveInView : 0 };
}

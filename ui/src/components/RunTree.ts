// Runs grouped under their parents (the `mlflow.parentRunId` tag), flattened for a virtualized table.
import { Run } from '../api/tracking';

export const PARENT_TAG = 'mlflow.parentRunId';

export interface TreeRow { run: Run; depth: number; kids: number; expanded: boolean; orphan: boolean }

const indexes = new WeakMap<Run, Map<string, unknown>>();

/** `metrics.k` / `params.k` / `tags.k` -> value, built once per run object (fast cells at 1,000+ columns). */
export function runIndex(run: Run): Map<string, unknown> {
  let m = indexes.get(run);
  if (!m) {
    m = new Map();
    for (const p of run.data.params || []) m.set(`params.${p.key}`, p.value);
    for (const p of run.data.metrics || []) m.set(`metrics.${p.key}`, p.value);
    for (const p of run.data.tags || []) m.set(`tags.${p.key}`, p.value);
    indexes.set(run, m);
  }
  return m;
}

export function parentOf(run: Run): string | undefined {
  return runIndex(run).get(`tags.${PARENT_TAG}`) as string | undefined;
}

/**
 * Rows in display order. With `group`, a run whose parent is loaded sits under it (shown when the parent is
 * expanded); runs whose parent is not loaded stay at the top level, marked `orphan`. `extra` holds children
 * fetched for expanded parents that the paged list has not reached; duplicates are shown once.
 */
export function buildTree(runs: Run[], group: boolean, expanded: Set<string>, extra?: Map<string, Run[]>): TreeRow[] {
  if (!group) return runs.map((run) => ({ run, depth: 0, kids: 0, expanded: false, orphan: !!parentOf(run) }));
  const byId = new Map<string, Run>();
  for (const r of runs) byId.set(r.info.run_id, r);
  if (extra) for (const list of extra.values()) for (const r of list) if (!byId.has(r.info.run_id)) byId.set(r.info.run_id, r);
  const children = new Map<string, Run[]>();
  const add = (r: Run) => {
    const p = parentOf(r);
    if (!p || !byId.has(p) || p === r.info.run_id) return;
    const list = children.get(p);
    if (list) { if (!list.some((x) => x.info.run_id === r.info.run_id)) list.push(r); } else children.set(p, [r]);
  };
  runs.forEach(add);
  if (extra) for (const list of extra.values()) list.forEach(add);
  const out: TreeRow[] = [];
  const seen = new Set<string>();
  const visit = (run: Run, depth: number, orphan: boolean) => {
    const id = run.info.run_id;
    if (seen.has(id)) return;
    seen.add(id);
    const kids = children.get(id) || [];
    const open = expanded.has(id);
    out.push({ run, depth, kids: kids.length, expanded: open, orphan });
    if (open) for (const k of kids) visit(k, depth + 1, false);
  };
  for (const r of runs) {
    const p = parentOf(r);
    if (p && byId.has(p) && p !== r.info.run_id) continue; // shown under its parent
    visit(r, 0, !!p);
  }
  return out;
}

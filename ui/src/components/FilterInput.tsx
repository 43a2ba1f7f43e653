// The runs filter box: the search language with a keyboard-navigable completion popup for
// `metrics.`, `params.`, `tags.` and `attributes.` keys.
import { KeyboardEvent, useEffect, useId, useLayoutEffect, useRef, useState } from 'react';

export interface FilterKeys { metrics: Iterable<string>; params: Iterable<string>; tags: Iterable<string> }
export interface Completion { label: string; insert: string; kind: string; detail?: string }
export interface CompletionResult { start: number; end: number; items: Completion[] }

export const ATTRIBUTE_KEYS = ['run_name', 'status', 'start_time', 'end_time', 'user_id', 'run_id', 'artifact_uri'];
const PREFIXES: [string, string][] = [
  ['metrics.', 'metric'], ['params.', 'param'], ['tags.', 'tag'], ['attributes.', 'attribute'], ['datasets.', 'dataset'],
];
const ALIASES: Record<string, string> = {
  metric: 'metrics', metrics: 'metrics', param: 'params', params: 'params', parameter: 'params', parameters: 'params',
  tag: 'tags', tags: 'tags', attribute: 'attributes', attributes: 'attributes', attr: 'attributes', run: 'attributes',
};
const STATUSES = ['RUNNING', 'FINISHED', 'FAILED', 'KILLED', 'SCHEDULED'];
const MAX_ITEMS = 50;

/** A key as the search language writes it: bare when it is a plain identifier, else in backticks. */
export function quoteKey(key: string): string {
  return /^[A-Za-z_][\w.]*$/.test(key) ? key : `\`${key.replace(/`/g, '\\`')}\``;
}

function rank(items: Completion[], needle: string, key: (c: Completion) => string): Completion[] {
  const n = needle.toLowerCase();
  const scored: [number, Completion][] = [];
  for (const c of items) {
    const k = key(c).toLowerCase();
    const at = k.indexOf(n);
    if (at < 0) continue;
    scored.push([at === 0 ? 0 : 1, c]);
  }
  scored.sort((a, b) => a[0] - b[0] || key(a[1]).localeCompare(key(b[1])));
  return scored.slice(0, MAX_ITEMS).map((x) => x[1]);
}

/**
 * What to offer at `cursor` in `text`: keys after a `prefix.`, prefixes at the start of a clause, status values
 * after `status =`. `start..end` is the span that accepting a completion replaces.
 */
export function completions(text: string, cursor: number, keys: FilterKeys): CompletionResult | null {
  const before = text.slice(0, cursor);
  // after `status =` / `status !=` / `status IN (`: the status values
  const st = /(?:attributes\.|attribute\.|attr\.|run\.)?status\s*(?:=|!=|<>)\s*('?)(\w*)$/i.exec(before);
  if (st) {
    const word = st[2];
    const items = STATUSES.map((s) => ({ label: s, insert: `'${s}'`, kind: 'value' }));
    return { start: cursor - word.length - st[1].length, end: cursor, items: rank(items, word, (c) => c.label) };
  }
  // `prefix.partial` or `prefix.\`partial`
  const m = /(?:^|[\s(])([A-Za-z]+)\.(`[^`]*|[\w.\-/]*)$/.exec(before);
  if (m && ALIASES[m[1].toLowerCase()]) {
    const kind = ALIASES[m[1].toLowerCase()];
    const partial = m[2].replace(/^`/, '');
    const start = cursor - m[2].length - m[1].length - 1;
    const source: Iterable<string> = kind === 'attributes' ? ATTRIBUTE_KEYS
      : kind === 'metrics' ? keys.metrics : kind === 'params' ? keys.params : keys.tags;
    const items: Completion[] = [];
    for (const k of source) items.push({ label: k, insert: `${kind}.${quoteKey(k)}`, kind: kind.slice(0, -1) });
    let end = cursor;
    while (end < text.length && /[\w.\-/`]/.test(text[end])) end++;
    return { start, end, items: rank(items, partial, (c) => c.label) };
  }
  // a bare word at the start of a clause: the prefixes
  const w = /(?:^|\(|\s(?:and|or)\s+|^\s+)([A-Za-z]*)$/i.exec(before);
  if (w && !/^(and|or)$/i.test(w[1])) {
    const word = w[1];
    const items = PREFIXES.map(([p, kind]) => ({ label: p, insert: p, kind: 'prefix', detail: kind }));
    const found = rank(items, word, (c) => c.label);
    return found.length ? { start: cursor - word.length, end: cursor, items: found } : null;
  }
  return null;
}

export function FilterInput({ value, onChange, onSubmit, keys, placeholder }: {
  value: string; onChange: (v: string) => void; onSubmit: (v: string) => void; keys: FilterKeys; placeholder?: string;
}) {
  const ref = useRef<HTMLInputElement>(null);
  const [result, setResult] = useState<CompletionResult | null>(null);
  const [active, setActive] = useState(0);
  const listId = useId();
  const open = !!result && result.items.length > 0;

  // Where the caret goes after accepting a completion: placed in the same commit that shows the new value (a later
  // frame would move it back over whatever the user typed in between).
  const caret = useRef<{ value: string; cursor: number } | null>(null);
  useLayoutEffect(() => {
    const el = ref.current;
    const want = caret.current;
    if (!el || !want || el.value !== want.value) return;
    caret.current = null;
    if (document.activeElement !== el) el.focus();
    el.setSelectionRange(want.cursor, want.cursor);
  });

  const refresh = (text: string, cursor: number) => {
    setResult(completions(text, cursor, keys));
    setActive(0);
  };
  const accept = (c: Completion) => {
    if (!result) return;
    const next = value.slice(0, result.start) + c.insert + value.slice(result.end);
    const cursor = result.start + c.insert.length;
    caret.current = { value: next, cursor };
    onChange(next);
    // a prefix chains into its keys; a full key closes the popup
    if (c.insert.endsWith('.')) setResult(completions(next, cursor, keys)); else setResult(null);
    setActive(0);
  };
  useEffect(() => { if (!value) setResult(null); }, [value]);
  // "/" anywhere on the page (outside a text field) jumps to the filter, as in many search UIs
  useEffect(() => {
    const onKey = (e: globalThis.KeyboardEvent) => {
      const t = e.target as HTMLElement | null;
      if (e.key !== '/' || e.ctrlKey || e.metaKey || e.altKey) return;
      if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
      e.preventDefault();
      ref.current?.focus();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);

  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (open && result) {
      if (e.key === 'ArrowDown') { e.preventDefault(); setActive((a) => (a + 1) % result.items.length); return; }
      if (e.key === 'ArrowUp') { e.preventDefault(); setActive((a) => (a - 1 + result.items.length) % result.items.length); return; }
      if (e.key === 'Enter' || e.key === 'Tab') { e.preventDefault(); accept(result.items[active]); return; }
      if (e.key === 'Escape') { e.preventDefault(); setResult(null); return; }
    }
    if (e.key === 'Enter') { e.preventDefault(); setResult(null); onSubmit(value); }
    if (e.key === ' ' && e.ctrlKey) { e.preventDefault(); const el = e.currentTarget; refresh(el.value, el.selectionStart ?? el.value.length); }
  };

  useEffect(() => {
    if (!open) return;
    const el = document.getElementById(`${listId}-${active}`);
    if (el && typeof el.scrollIntoView === 'function') el.scrollIntoView({ block: 'nearest' });
  }, [active, open]);

  return (
    <div className="filter-input grow">
      <input ref={ref} className="mono" aria-label="Filter runs" role="combobox" aria-autocomplete="list"
        aria-expanded={open} aria-controls={listId} aria-activedescendant={open ? `${listId}-${active}` : undefined}
        placeholder={placeholder} value={value} spellCheck={false} autoComplete="off"
        onChange={(e) => { onChange(e.target.value); refresh(e.target.value, e.target.selectionStart ?? e.target.value.length); }}
        onKeyDown={onKeyDown}
        onClick={(e) => { const el = e.currentTarget; refresh(el.value, el.selectionStart ?? el.value.length); }}
        onBlur={() => setTimeout(() => setResult(null), 120)} />
      {open && result && (
        <ul className="completions" role="listbox" id={listId} data-testid="completions">
          {result.items.map((c, i) => (
            <li key={`${c.kind}:${c.label}`} id={`${listId}-${i}`} role="option" aria-selected={i === active}
              className={i === active ? 'active' : ''}
              onMouseDown={(e) => { e.preventDefault(); accept(c); }} onMouseEnter={() => setActive(i)}>
              <span className={`kind kind-${c.kind}`}>{c.kind}</span>
              <span className="mono">{c.label}</span>
              {c.detail && <span className="muted small">{c.detail}</span>}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

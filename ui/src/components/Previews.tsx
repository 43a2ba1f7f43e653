// Artifact previews that need more than a <pre>: YAML (highlighted), CSV/TSV and Parquet (as tables).
import { ReactNode } from 'react';
import { parquetMetadata, parquetReadObjects, parquetSchema } from 'hyparquet';
import { load } from 'js-yaml';
import { apiFetch, errorMessage } from '../api/http';
import { fmtValue } from '../format';
import { ErrorBox } from './Common';
import { useLoad } from './useLoad';

export const MAX_TABLE_ROWS = 500;
const MAX_PARQUET_BYTES = 64 * 1024 * 1024;

/** One YAML line split into indentation/dash, key, and value parts for highlighting. */
export function yamlLine(line: string): { lead: string; key: string; rest: string; comment: string } {
  const hash = line.search(/(^|\s)#/);
  const body = hash >= 0 && !/['"]/.test(line.slice(0, hash)) ? line.slice(0, hash) : line;
  const comment = line.slice(body.length);
  const m = /^(\s*(?:-\s+)?)([^\s:'"#][^:#]*?|'[^']*'|"[^"]*"):(\s.*|)$/.exec(body);
  if (!m) return { lead: '', key: '', rest: body, comment };
  return { lead: m[1], key: m[2], rest: m[3], comment };
}

export function YamlView({ text }: { text: string }) {
  let problem: string | null = null;
  try { load(text); } catch (e: any) { problem = String(e.reason || e.message || e); }
  return (
    <div>
      {problem && <p className="muted small">Not valid YAML ({problem}); shown as text.</p>}
      <pre className="artifact-text yaml" data-testid="artifact-text">
        {text.split('\n').map((line, i) => {
          const p = yamlLine(line);
          return (
            <span key={i}>{p.lead}{p.key && <span className="y-key">{p.key}</span>}{p.key ? ':' : ''}
              <span className={/^\s*(-?\d|true|false|null|~)/.test(p.rest) ? 'y-lit' : ''}>{p.rest}</span>
              {p.comment && <span className="y-comment">{p.comment}</span>}{'\n'}</span>
          );
        })}
      </pre>
    </div>
  );
}

/** Parse CSV/TSV with quoted fields ("a,b", doubled quotes), up to `limit` records. */
export function parseDelimited(text: string, sep: string, limit = MAX_TABLE_ROWS + 1): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length && rows.length < limit; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') { field += '"'; i++; } else quoted = false;
      } else field += ch;
    } else if (ch === '"' && field === '') quoted = true;
    else if (ch === sep) { row.push(field); field = ''; }
    else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field); field = '';
      if (row.length > 1 || row[0] !== '') rows.push(row);
      row = [];
    } else field += ch;
  }
  if (rows.length < limit && (field !== '' || row.length)) { row.push(field); rows.push(row); }
  return rows;
}

export function DataTable({ header, types, rows, total, note }: {
  header: string[]; types?: string[]; rows: ReactNode[][]; total?: number; note?: string;
}) {
  return (
    <div>
      <p className="muted small" data-testid="table-summary">
        {total !== undefined ? `${total.toLocaleString()} rows` : `${rows.length} rows`} × {header.length} columns
        {total !== undefined && total > rows.length ? ` (showing the first ${rows.length})` : ''}{note ? ` · ${note}` : ''}
      </p>
      <div className="table-scroll">
        <table className="grid data-table">
          <thead><tr><th className="rownum">#</th>{header.map((h, i) => (
            <th key={i}>{h}{types && types[i] ? <div className="muted small mono">{types[i]}</div> : null}</th>
          ))}</tr></thead>
          <tbody>{rows.map((r, i) => (
            <tr key={i}><td className="rownum muted">{i}</td>{r.map((c, j) => <td key={j} className="mono">{c}</td>)}</tr>
          ))}</tbody>
        </table>
      </div>
    </div>
  );
}

export function CsvView({ text, sep, truncated }: { text: string; sep: string; truncated: boolean }) {
  const rows = parseDelimited(text, sep);
  if (!rows.length) return <p className="muted">Empty file.</p>;
  const body = rows.slice(1, MAX_TABLE_ROWS + 1);
  return <DataTable header={rows[0]} rows={body}
    note={truncated || rows.length > MAX_TABLE_ROWS ? `first ${body.length} rows shown` : undefined} />;
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'number') return fmtValue(v);
  if (typeof v === 'object') {
    try { return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)); } catch { return String(v); }
  }
  return String(v);
}

/** A Parquet file read in the browser (hyparquet): its schema, row count and first rows. */
export function ParquetView({ url, size }: { url: string; size?: number }) {
  const { data: state, error } = useLoad(async () => {
    if (size !== undefined && size > MAX_PARQUET_BYTES) throw new Error(`File too large to preview (${size} bytes); download it instead.`);
    try {
      const res = await apiFetch(url);
      if (!res.ok) throw new Error(`${res.status} ${res.statusText}`);
      const file = await res.arrayBuffer();
      const meta = parquetMetadata(file);
      const fields = parquetSchema(meta).children;
      const header = fields.map((f) => f.element.name);
      const types = fields.map((f) => String(f.element.logical_type?.type || f.element.converted_type || f.element.type || (f.children.length ? 'nested' : '')));
      const objects = await parquetReadObjects({ file, metadata: meta, rowStart: 0, rowEnd: Math.min(Number(meta.num_rows), MAX_TABLE_ROWS) });
      return { header, types, total: Number(meta.num_rows), rows: objects.map((o) => header.map((h) => cell(o[h]))) };
    } catch (e) {
      throw new Error(`Could not read Parquet: ${errorMessage(e)}`);
    }
  }, [url], { reset: true });
  if (error) return <ErrorBox error={error} />;
  if (!state) return <p className="muted">Reading Parquet…</p>;
  return <div data-testid="parquet"><DataTable header={state.header} types={state.types} rows={state.rows} total={state.total} /></div>;
}

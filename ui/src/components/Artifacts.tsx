// An artifacts browser (tree + preview) over a run's or a logged model's artifacts.
import { useEffect, useState } from 'react';
import { apiFetch } from '../api/http';
import type { FileInfo } from '../api/tracking';
import { fmtBytes } from '../format';
import { ErrorBox } from './Common';
import { MLmodelView } from './MLmodelView';
import { CsvView, ParquetView, YamlView } from './Previews';
import { useLoad } from './useLoad';

export interface ArtifactSource {
  /** Identity of the source: effects reload when it changes. */
  key: string;
  list: (path?: string) => Promise<FileInfo[]>;
  url: (path: string) => string;
}

const IMAGE = /\.(png|jpe?g|gif|svg|webp|bmp)$/i;
const TEXT = /(\.(txt|log|md|py|json|jsonl|ya?ml|csv|tsv|cfg|ini|toml|sh|html|xml|r|sql|ipynb)|\/?(MLmodel|MLproject|requirements\.txt|conda\.yaml|python_env\.yaml|LICENSE|README))$/i;
const TEXT_LIMIT = 1024 * 1024;

export type PreviewKind = 'image' | 'mlmodel' | 'yaml' | 'json' | 'csv' | 'tsv' | 'parquet' | 'text' | 'none';

/** Which preview a file gets, from its name. */
export function previewKind(path: string): PreviewKind {
  const base = path.split('/').pop() || path;
  if (base === 'MLmodel') return 'mlmodel';
  if (IMAGE.test(base)) return 'image';
  if (/\.parquet$/i.test(base)) return 'parquet';
  if (/\.ya?ml$/i.test(base) || base === 'MLproject') return 'yaml';
  if (/\.json$/i.test(base)) return 'json';
  if (/\.csv$/i.test(base)) return 'csv';
  if (/\.tsv$/i.test(base)) return 'tsv';
  if (TEXT.test(path)) return 'text';
  return 'none';
}

/** A tree of files on the left, a preview of the selected one on the right; `path`/`onSelect` make it URL-driven. */
export function ArtifactBrowser({ source, path, onSelect, autoSelect }: {
  source: ArtifactSource; path: string; onSelect: (p: string) => void;
  /** A top-level file to open when none is selected and it exists (a model's `MLmodel`). */
  autoSelect?: string;
}) {
  const [sizes, setSizes] = useState<Record<string, number | undefined>>({});
  const { data: root = null, error } = useLoad(() => source.list(), [source.key], { reset: true });
  useEffect(() => {
    const auto = root && autoSelect && !path ? root.find((f) => f.path === autoSelect && !f.is_dir) : undefined;
    if (auto) onSelect(auto.path);
  }, [root]);
  const pick = (f: FileInfo) => { setSizes((s) => ({ ...s, [f.path]: f.file_size })); onSelect(f.path); };
  return (
    <div className="artifacts">
      <ErrorBox error={error} />
      <div className="tree">
        {root === null ? <p className="muted">Loading…</p> : root.length === 0 ? <p className="muted">No artifacts.</p>
          : root.map((f) => <TreeNode key={f.path} source={source} file={f} selected={path} onSelect={pick} />)}
      </div>
      <div className="preview">{path ? <Preview source={source} path={path} size={sizes[path]} /> : <p className="muted">Select a file to preview.</p>}</div>
    </div>
  );
}

function TreeNode({ source, file, selected, onSelect }: { source: ArtifactSource; file: FileInfo; selected: string; onSelect: (f: FileInfo) => void }) {
  const [open, setOpen] = useState(selected.startsWith(file.path + '/'));
  const { data: kids } = useLoad((): Promise<FileInfo[]> | undefined => (open && file.is_dir && kids === undefined
    ? source.list(file.path).catch((): FileInfo[] => []) : undefined), [open]);
  const name = file.path.split('/').pop();
  if (file.is_dir) {
    return (
      <div className="node">
        <button className="link" onClick={() => setOpen(!open)}>{open ? '▾' : '▸'} {name}/</button>
        {open && <div className="children">{(kids || []).map((k) => <TreeNode key={k.path} source={source} file={k} selected={selected} onSelect={onSelect} />)}</div>}
      </div>
    );
  }
  return (
    <div className={`node file${selected === file.path ? ' selected' : ''}`}>
      <button className="link" onClick={() => onSelect(file)}>{name}</button> <span className="muted">{fmtBytes(file.file_size)}</span>
    </div>
  );
}

export function Preview({ source, path, size }: { source: ArtifactSource; path: string; size?: number }) {
  const url = source.url(path);
  const kind = previewKind(path);
  const textual = kind !== 'image' && kind !== 'parquet' && kind !== 'none';
  const { data: text = null, error } = useLoad(() => (textual ? apiFetch(url).then(async (r) => {
    if (!r.ok) throw new Error((await r.json().catch(() => ({}))).message || `${r.status} ${r.statusText}`);
    const blob = await r.blob();
    return { body: await blob.slice(0, TEXT_LIMIT).text(), truncated: blob.size > TEXT_LIMIT };
  }) : undefined), [url], { reset: true });
  let body;
  if (kind === 'image') body = <img className="artifact-image" src={url} alt={path} />;
  else if (kind === 'parquet') body = <ParquetView url={url} size={size} />;
  else if (kind === 'none') body = <p className="muted">No preview for this file type.</p>;
  else if (error) body = <ErrorBox error={error} />;
  else if (text === null) body = <p className="muted">Loading…</p>;
  else if (kind === 'mlmodel') body = <MLmodelView text={text.body} />;
  else if (kind === 'yaml') body = <YamlView text={text.body} />;
  else if (kind === 'csv' || kind === 'tsv') body = <CsvView text={text.body} sep={kind === 'tsv' ? '\t' : ','} truncated={text.truncated} />;
  else {
    let shown = text.body;
    if (kind === 'json') { try { shown = JSON.stringify(JSON.parse(text.body), null, 2); } catch { /* raw */ } }
    body = <pre className="artifact-text" data-testid="artifact-text">{shown}</pre>;
  }
  return (
    <div>
      <div className="toolbar"><strong className="mono">{path}</strong>
        <a className="button" href={url} download={path.split('/').pop()}>Download</a>
        {text?.truncated && <span className="muted small">showing the first 1 MB</span>}</div>
      {body}
    </div>
  );
}

// Markdown rendered safely: raw HTML in the source is shown as text, and the produced HTML is sanitized again.
import { Marked } from 'marked';
import DOMPurify from 'dompurify';
import { useMemo, useState } from 'react';
import { ErrorBox } from './Common';
import { useAction } from './useAction';

const escapeHtml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const md = new Marked({
  gfm: true,
  breaks: true,
  renderer: {
    // Raw HTML blocks and inline tags are never passed through: they render as literal text.
    html(token) { return escapeHtml(token.text); },
  },
});

let hooked = false;
function purifier(): typeof DOMPurify {
  if (!hooked) {
    DOMPurify.addHook('afterSanitizeAttributes', (node) => {
      if (node.tagName === 'A' && node.getAttribute('href')) {
        node.setAttribute('target', '_blank');
        node.setAttribute('rel', 'noopener noreferrer nofollow');
      }
    });
    hooked = true;
  }
  return DOMPurify;
}

/** Markdown source -> sanitized HTML (no scripts, no event handlers, no javascript: links, no raw HTML). */
export function renderMarkdown(src: string): string {
  const html = md.parse(src, { async: false }) as string;
  return purifier().sanitize(html, { USE_PROFILES: { html: true }, FORBID_TAGS: ['style', 'form', 'input'] });
}

export function Markdown({ source, className = '' }: { source: string; className?: string }) {
  const html = useMemo(() => renderMarkdown(source), [source]);
  return <div className={`markdown ${className}`} data-testid="markdown" dangerouslySetInnerHTML={{ __html: html }} />;
}

/** A markdown description with view and edit modes (Write / Preview tabs while editing). */
export function MarkdownEditor({ value, onSave, label = 'Description', empty = 'No description.' }: {
  value: string; onSave: (text: string) => Promise<unknown>; label?: string; empty?: string;
}) {
  const [draft, setDraft] = useState<string | null>(null);
  const [preview, setPreview] = useState(false);
  const { busy: saving, error, setError, run } = useAction();
  if (draft === null) {
    return (
      <div className="md-view">
        {value ? <Markdown source={value} /> : <p className="muted">{empty}</p>}
        <button onClick={() => { setDraft(value); setPreview(false); setError(null); }}>Edit</button>
      </div>
    );
  }
  const save = () => run(() => onSave(draft), () => setDraft(null));
  return (
    <div className="md-edit">
      <div className="md-tabs" role="tablist">
        <button role="tab" aria-selected={!preview} className={preview ? '' : 'active'} onClick={() => setPreview(false)}>Write</button>
        <button role="tab" aria-selected={preview} className={preview ? 'active' : ''} onClick={() => setPreview(true)}>Preview</button>
        <span className="muted small">Markdown: **bold**, _italic_, `code`, lists, tables, [links](https://…)</span>
      </div>
      {preview
        ? <div className="md-preview">{draft ? <Markdown source={draft} /> : <p className="muted">Nothing to preview.</p>}</div>
        : <textarea aria-label={label} rows={8} value={draft} autoFocus
            onChange={(e) => setDraft(e.target.value)}
            onKeyDown={(e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) save(); }} />}
      <ErrorBox error={error} />
      <div className="toolbar">
        <button onClick={save} disabled={saving}>{saving ? 'Saving…' : 'Save'}</button>
        <button onClick={() => setDraft(null)} disabled={saving}>Cancel</button>
      </div>
    </div>
  );
}

// Editable key/value tags (registered models, model versions): edit a value, delete a tag, add one.
// Every change goes to the server; its error message is shown beside the table.
import { FormEvent, useState } from 'react';
import type { KV } from '../api/tracking';
import { ErrorBox } from './Common';
import { useAction } from './useAction';

export interface TagEditorProps {
  tags: KV[];
  onSet: (key: string, value: string) => Promise<unknown>;
  onDelete: (key: string) => Promise<unknown>;
  /** Called after a successful change, to reload. */
  onChanged: () => void;
}

export function TagEditor({ tags, onSet, onDelete, onChanged }: TagEditorProps) {
  const [editing, setEditing] = useState<string | null>(null);
  const [value, setValue] = useState('');
  const [newKey, setNewKey] = useState('');
  const [newValue, setNewValue] = useState('');
  const { busy, error, setError, run } = useAction(onChanged);

  const add = (e: FormEvent) => {
    e.preventDefault();
    if (!newKey.trim()) { setError('A tag needs a key.'); return; }
    run(() => onSet(newKey.trim(), newValue), () => { setNewKey(''); setNewValue(''); });
  };
  const sorted = [...tags].sort((a, b) => a.key.localeCompare(b.key));
  return (
    <div className="tag-editor">
      {sorted.length === 0 ? <p className="muted">No tags.</p> : (
        <table className="grid tags"><thead><tr><th>Key</th><th>Value</th><th /></tr></thead>
          <tbody>{sorted.map((t) => (
            <tr key={t.key} data-tag={t.key}>
              <td className="mono">{t.key}</td>
              {editing === t.key ? (
                <td colSpan={2}>
                  <form className="inline-form" onSubmit={(e) => { e.preventDefault(); run(() => onSet(t.key, value), () => setEditing(null)); }}>
                    <input aria-label={`Value of ${t.key}`} value={value} autoFocus onChange={(e) => setValue(e.target.value)} />
                    <button type="submit" disabled={busy}>Save</button>
                    <button type="button" onClick={() => setEditing(null)}>Cancel</button>
                  </form>
                </td>
              ) : (
                <>
                  <td className="mono pre">{t.value}</td>
                  <td className="actions">
                    <button type="button" aria-label={`Edit tag ${t.key}`} onClick={() => { setEditing(t.key); setValue(t.value); }}>Edit</button>
                    <button type="button" className="danger" aria-label={`Delete tag ${t.key}`} disabled={busy}
                      onClick={() => run(() => onDelete(t.key))}>Delete</button>
                  </td>
                </>
              )}
            </tr>
          ))}</tbody>
        </table>
      )}
      <form className="toolbar" onSubmit={add}>
        <input aria-label="New tag key" placeholder="key" value={newKey} onChange={(e) => setNewKey(e.target.value)} />
        <input aria-label="New tag value" placeholder="value" value={newValue} onChange={(e) => setNewValue(e.target.value)} />
        <button type="submit" disabled={busy}>Add tag</button>
      </form>
      <ErrorBox error={error} />
    </div>
  );
}

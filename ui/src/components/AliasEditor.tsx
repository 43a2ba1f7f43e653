// A registered model's aliases: chips (`@champion → v3`) with a delete button, and a form that sets an alias on a
// version (moving it there if it named another). The server's message is shown for a bad alias name.
import { FormEvent, useState } from 'react';
import { href } from '../router';
import { ErrorBox } from './Common';
import { useAction } from './useAction';

export interface AliasEditorProps {
  model: string;
  aliases: { alias: string; version: string }[];
  /** Versions to choose from; without it the form sets aliases on `version`. */
  versions?: string[];
  version?: string;
  onSet: (alias: string, version: string) => Promise<unknown>;
  onDelete: (alias: string) => Promise<unknown>;
  onChanged: () => void;
}

export function AliasEditor({ model, aliases, versions, version, onSet, onDelete, onChanged }: AliasEditorProps) {
  const [alias, setAlias] = useState('');
  const [target, setTarget] = useState(version || versions?.[0] || '');
  const { busy, error, setError, run } = useAction(onChanged);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const name = alias.trim().replace(/^@/, '');
    const v = version || target || versions?.[0];
    if (!name) { setError('An alias needs a name.'); return; }
    if (!v) { setError('Choose a version.'); return; }
    run(() => onSet(name, v), () => setAlias(''));
  };
  const shown = version ? aliases.filter((a) => a.version === version) : aliases;
  const elsewhere = version && aliases.find((a) => a.alias === alias.trim().replace(/^@/, '') && a.version !== version);
  return (
    <div className="alias-editor">
      <div className="aliases" data-testid="aliases">
        {shown.length === 0 && <span className="muted">No aliases.</span>}
        {shown.map((a) => (
          <span key={a.alias} className="chip alias" data-alias={a.alias}>
            @{a.alias}{!version && <> → <a href={href(`/models/${encodeURIComponent(model)}/versions/${a.version}`)}>v{a.version}</a></>}
            <button type="button" className="link" aria-label={`Delete alias ${a.alias}`} disabled={busy}
              onClick={() => run(() => onDelete(a.alias))}>×</button>
          </span>
        ))}
      </div>
      <form className="toolbar" onSubmit={submit}>
        <input aria-label="Alias" placeholder="alias, e.g. champion" value={alias} onChange={(e) => setAlias(e.target.value)} />
        {!version && (
          <select aria-label="Alias version" value={target || versions?.[0] || ''} onChange={(e) => setTarget(e.target.value)}>
            {(versions || []).map((v) => <option key={v} value={v}>v{v}</option>)}
          </select>
        )}
        <button type="submit" disabled={busy}>Set alias</button>
        {elsewhere && <span className="muted small">moves @{elsewhere.alias} from v{elsewhere.version}</span>}
      </form>
      <ErrorBox error={error} />
    </div>
  );
}

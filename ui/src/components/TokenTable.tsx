// Access tokens in a table (name, owner, dates) with a Revoke button; and the box that shows a new token's secret once.
import { useRef, useState } from 'react';
import { AccessToken, toMs } from '../api/auth';
import { fmtTime } from '../format';
import { ErrorBox } from './Common';
import { useAction } from './useAction';

export interface TokenTableProps {
  tokens: AccessToken[];
  /** Show the owner column (the admin's view of everyone's tokens). */
  showUser?: boolean;
  onRevoke: (token: AccessToken) => Promise<unknown>;
  onChanged: () => void;
  now?: number;
}

export function TokenTable({ tokens, showUser = false, onRevoke, onChanged, now = Date.now() }: TokenTableProps) {
  const { busy, error, run } = useAction(onChanged);
  if (!tokens.length) return <p className="muted" data-testid="no-tokens">No access tokens.</p>;
  return (
    <div>
      <table className="grid tokens">
        <thead><tr>{showUser && <th>User</th>}<th>Name</th><th>Created</th><th>Expires</th><th>Last used</th><th /></tr></thead>
        <tbody>{tokens.map((t) => {
          const expires = toMs(t.expires_at);
          const expired = expires !== undefined && expires < now;
          return (
            <tr key={String(t.id)} data-token={t.name} className={expired ? 'muted' : ''}>
              {showUser && <td>{t.username}</td>}
              <td>{t.name}</td>
              <td>{fmtTime(toMs(t.created_at))}</td>
              <td>{expires === undefined ? <span className="muted">never</span> : <>{fmtTime(expires)}{expired && ' (expired)'}</>}</td>
              <td>{fmtTime(toMs(t.last_used_at)) || <span className="muted">never</span>}</td>
              <td className="actions">
                <button type="button" className="danger" disabled={busy} aria-label={`Revoke token ${t.name}${showUser ? ` of ${t.username}` : ''}`}
                  onClick={() => {
                    if (window.confirm(`Revoke the token "${t.name}"${showUser ? ` of ${t.username}` : ''}? Clients using it stop working.`)) {
                      run(() => onRevoke(t));
                    }
                  }}>Revoke</button>
              </td>
            </tr>
          );
        })}</tbody>
      </table>
      <ErrorBox error={error} />
    </div>
  );
}

/** A new token's secret with a copy button, and the warning that it will not be shown again. */
export function SecretBox({ name, secret, onDone }: { name: string; secret: string; onDone: () => void }) {
  const input = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState<string | null>(null);
  const copy = () => {
    const fallback = () => {
      input.current?.select();
      const ok = typeof document.execCommand === 'function' && document.execCommand('copy');
      setCopied(ok ? 'Copied.' : 'Select the token and copy it.');
    };
    if (navigator.clipboard?.writeText) navigator.clipboard.writeText(secret).then(() => setCopied('Copied.'), fallback);
    else fallback();
  };
  return (
    <div className="secret" data-testid="token-secret">
      <p><strong>Token "{name}" created.</strong> Copy it now: it will not be shown again.</p>
      <div className="toolbar">
        <input ref={input} className="mono grow" readOnly aria-label="New token secret" value={secret} onFocus={(e) => e.target.select()} />
        <button type="button" onClick={copy}>Copy</button>
        {copied && <span className="muted small" role="status">{copied}</span>}
        <button type="button" onClick={onDone}>Done</button>
      </div>
      <p className="muted small">Use it as <code>MLFLOW_TRACKING_TOKEN</code> (sent as <code>Authorization: Bearer …</code>).</p>
    </div>
  );
}

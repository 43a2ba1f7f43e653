// The signed-in user's personal access tokens: list, create (the secret is shown once), revoke.
import { FormEvent, useState } from 'react';
import { tokensApi } from '../api/auth';
import { ErrorBox } from '../components/Common';
import { SecretBox, TokenTable } from '../components/TokenTable';
import { useAction } from '../components/useAction';
import { useLoad } from '../components/useLoad';
import { useAuth } from '../components/useSession';

export function TokensPage() {
  const { config, user } = useAuth();
  const list = useLoad(() => (user ? tokensApi.list() : undefined), [user?.username]);
  const [name, setName] = useState('');
  const [days, setDays] = useState('');
  const [created, setCreated] = useState<{ name: string; secret: string } | null>(null);
  const { busy, error, setError, run } = useAction(list.reload);

  if (!config.auth_enabled || !user) {
    return <div className="page"><h1>Access tokens</h1><p className="muted">Authentication is off on this server: no tokens are needed.</p></div>;
  }
  const create = (e: FormEvent) => {
    e.preventDefault();
    const n = name.trim();
    const d = days.trim() ? Number(days) : undefined;
    if (!n) { setError('A token needs a name.'); return; }
    if (d !== undefined && !(Number.isInteger(d) && d > 0)) { setError('Expiry must be a whole number of days.'); return; }
    run(() => tokensApi.create(n, d).then((r) => setCreated({ name: r.token?.name || n, secret: r.secret })),
      () => { setName(''); setDays(''); });
  };
  return (
    <div className="page">
      <h1>Access tokens</h1>
      <p className="muted">Personal access tokens let scripts and the MLflow client act as <strong>{user.username}</strong> without
        your password.</p>
      <form className="toolbar" onSubmit={create} aria-label="New access token">
        <input aria-label="Token name" placeholder="Token name (e.g. laptop)" value={name} onChange={(e) => setName(e.target.value)} />
        <input aria-label="Expires in days" type="number" min={1} placeholder="Expires in days (optional)" value={days}
          onChange={(e) => setDays(e.target.value)} />
        <button type="submit" disabled={busy}>Create token</button>
      </form>
      <ErrorBox error={error} />
      {created && <SecretBox name={created.name} secret={created.secret} onDone={() => setCreated(null)} />}
      <h3>Your tokens</h3>
      <ErrorBox error={list.error} />
      {list.data === undefined ? (!list.error && <p className="muted">Loading…</p>)
        : <TokenTable tokens={list.data} onRevoke={(t) => tokensApi.revoke(t.id)} onChanged={list.reload} />}
    </div>
  );
}

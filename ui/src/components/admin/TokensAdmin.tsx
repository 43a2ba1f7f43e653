// Admin: everyone's access tokens, with Revoke.
import { tokensApi } from '../../api/auth';
import { ErrorBox } from '../Common';
import { TokenTable } from '../TokenTable';
import { useLoad } from '../useLoad';

export function TokensAdmin() {
  const list = useLoad(() => tokensApi.list(true), []);
  const tokens = [...(list.data || [])].sort((a, b) => a.username.localeCompare(b.username) || a.name.localeCompare(b.name));
  return (
    <section aria-label="Tokens">
      <ErrorBox error={list.error} />
      {list.data === undefined ? (!list.error && <p className="muted">Loading…</p>)
        : <TokenTable tokens={tokens} showUser onRevoke={(t) => tokensApi.revoke(t.id)} onChanged={list.reload} />}
    </section>
  );
}

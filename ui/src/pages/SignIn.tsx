// The sign-in page: username and password (posted as JSON to `auth/login`) and, when configured, single sign-on.
// It shows in place of whatever page was asked for, so after signing in that page is what the user sees.
import { FormEvent, useState } from 'react';
import { AuthConfig, authApi, currentPath, SessionUser, signInError, ssoHref } from '../api/auth';
import { ErrorBox } from '../components/Common';

export interface SignInProps {
  config: AuthConfig;
  onSignedIn: (user: SessionUser) => void;
  /** Why the page shows ("Your session has ended ..."), if not a first visit. */
  notice?: string | null;
}

export function SignInPage({ config, onSignedIn, notice }: SignInProps) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const sso = config.sso.enabled && config.sso.login_url ? config.sso : null;

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!username.trim() || !password) { setError('Enter your username and password.'); return; }
    setBusy(true);
    setError(null);
    authApi.login(username.trim(), password).then(onSignedIn, (err) => {
      setError(signInError(err));
      setPassword('');
      setBusy(false);
    });
  };
  return (
    <div className="signin">
      <div className="signin-card">
        <div className="brand">mltrail</div>
        <h1>Sign in</h1>
        {notice && <p className="muted" role="status">{notice}</p>}
        {config.password_login && (
          <form onSubmit={submit} aria-label="Sign in">
            <label>Username
              <input name="username" autoComplete="username" autoFocus value={username} onChange={(e) => setUsername(e.target.value)} />
            </label>
            <label>Password
              <input name="password" type="password" autoComplete="current-password" value={password}
                onChange={(e) => setPassword(e.target.value)} />
            </label>
            <button type="submit" className="primary" disabled={busy}>{busy ? 'Signing in…' : 'Sign in'}</button>
          </form>
        )}
        <ErrorBox error={error} />
        {sso && (
          <>
            {config.password_login && <div className="signin-or muted">or</div>}
            <a className="button sso" href={ssoHref(sso.login_url!, currentPath())}>
              Sign in with {sso.display_name || 'single sign-on'}</a>
          </>
        )}
        {!config.password_login && !sso && <p className="muted">This server offers no way to sign in from the browser.</p>}
      </div>
    </div>
  );
}

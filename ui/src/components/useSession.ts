// The web UI's session: the server's auth settings (`auth/config`), who is signed in, sign-in and sign-out, and what a
// 401 from the API does (the user is signed out, so the app shows the sign-in page in place of the one they wanted).
import { createContext, useCallback, useContext, useEffect, useRef, useState } from 'react';
import { AuthConfig, authApi, NO_AUTH, SessionUser } from '../api/auth';
import { errorMessage, onUnauthenticated } from '../api/http';

export interface Session {
  /** `null` until `auth/config` answers. */
  config: AuthConfig | null;
  user: SessionUser | null;
  /** `auth/config` failed (other than a 404, which means a server without authentication). */
  error: string | null;
  /** Why the sign-in page shows, when it is not the first visit ("Your session has ended ..."). */
  notice: string | null;
  signedIn: (user: SessionUser) => void;
  signOut: () => Promise<void>;
  retry: () => void;
}

export const SESSION_ENDED = 'Your session has ended. Sign in again to continue.';

export function useSession(): Session {
  const [config, setConfig] = useState<AuthConfig | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const load = useCallback(() => {
    authApi.config().then((c) => { setConfig(c); setError(null); }, (e) => setError(errorMessage(e)));
  }, []);
  useEffect(load, [load]);
  const current = useRef(config);
  current.current = config;
  useEffect(() => onUnauthenticated(() => {
    const c = current.current;
    // a server we thought open now wants credentials: read its settings again (the sign-in page follows)
    if (!c || !c.auth_enabled) { load(); return; }
    if (c.user) setNotice(SESSION_ENDED);
    setConfig({ ...c, user: null });
  }), [load]);
  const signedIn = useCallback((user: SessionUser) => {
    setNotice(null);
    setConfig((c) => ({ ...(c || NO_AUTH), auth_enabled: true, user }));
  }, []);
  const signOut = useCallback(async () => {
    // signed out here either way: a failed request leaves at worst a session cookie that expires by itself
    await authApi.logout().catch(() => undefined);
    setNotice('You have signed out.');
    setConfig((c) => (c ? { ...c, user: null } : c));
  }, []);
  return { config, user: config?.user || null, error, notice, signedIn, signOut, retry: load };
}

/** What pages and panels read: the server's auth settings and the signed-in user. */
export interface AuthInfo { config: AuthConfig; user: SessionUser | null }

export const AuthContext = createContext<AuthInfo>({ config: NO_AUTH, user: null });

export function useAuth(): AuthInfo {
  return useContext(AuthContext);
}

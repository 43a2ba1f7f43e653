// Authentication and permissions (docs/auth.md): the web UI's session (`auth/config`, `auth/login`, `auth/logout`),
// users and groups, access tokens, per-resource grants and the audit log.
import { ApiError, EXT_API, get, post } from './http';

export interface SessionUser { id?: number; username: string; is_admin: boolean }
export interface AuthConfig {
  auth_enabled: boolean;
  password_login: boolean;
  sso: { enabled: boolean; display_name?: string; login_url?: string };
  user: SessionUser | null;
}

export const PERMISSIONS = ['READ', 'USE', 'EDIT', 'MANAGE', 'NO_PERMISSIONS'] as const;
export type Permission = typeof PERMISSIONS[number];
export type ResourceType = 'experiment' | 'registered_model';

export interface User {
  id: number; username: string; is_admin: boolean; source?: string; created_at?: number | string; groups?: string[];
  experiment_permissions?: { experiment_id: string; permission: string }[];
  registered_model_permissions?: { name: string; permission: string }[];
}
export interface Group { id: number; name: string; members?: string[] }
export interface AccessToken {
  id: number | string; username: string; name: string; created_at?: number | string; expires_at?: number | string | null;
  last_used_at?: number | string | null;
}
export interface AuditEvent {
  id: number | string; timestamp: number | string; username?: string | null; method: string; path: string; status: number;
  address?: string | null; action?: string | null; target?: unknown;
}
export interface Grant { kind: 'user' | 'group'; name: string; permission: string }

/** The session's configuration when the server has no `auth/config` (an older mltrail): no sign-in at all. */
export const NO_AUTH: AuthConfig = { auth_enabled: false, password_login: false, sso: { enabled: false }, user: null };

/** What a failed sign-in says: wrong credentials, too many tries, or the server's own message. */
export function signInError(e: unknown): string {
  if (e instanceof ApiError && e.status === 401) return 'Invalid username or password';
  if (e instanceof ApiError && e.status === 429) return 'Too many failed sign-ins, try again later';
  return String((e as { message?: unknown } | null)?.message || e);
}

/** The single sign-on link, with `next` (the page to come back to) added to the provider's login URL. */
export function ssoHref(loginUrl: string, next: string): string {
  return `${loginUrl}${loginUrl.includes('?') ? '&' : '?'}next=${encodeURIComponent(next)}`;
}

/** The page to come back to after an SSO sign-in: this document's path and hash route. */
export function currentPath(loc: Pick<Location, 'pathname' | 'search' | 'hash'> = window.location): string {
  return `${loc.pathname || '/'}${loc.search}${loc.hash}`;
}

/** A JSON request to the session endpoints; a failure is an {@link ApiError} (never the app's 401 handler). */
async function session<T>(path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, body === undefined ? undefined : {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  const text = await res.text();
  let json: any = {};
  try { json = text ? JSON.parse(text) : {}; } catch { json = { message: text }; }
  if (!res.ok) throw new ApiError(json.message || res.statusText, json.error_code, res.status);
  return json as T;
}

export const authApi = {
  /** The server's auth settings and the signed-in user; {@link NO_AUTH} from a server without authentication. */
  config: () => session<Partial<AuthConfig>>('auth/config').then((c): AuthConfig => (typeof c.auth_enabled !== 'boolean'
    ? NO_AUTH // not the auth settings (a server without authentication answers its web page for unknown paths)
    : { ...NO_AUTH, ...c, sso: { ...NO_AUTH.sso, ...(c.sso || {}) }, user: c.user || null }), (e) => {
    if (e instanceof ApiError && e.status === 404) return NO_AUTH;
    throw e;
  }),
  login: (username: string, password: string) =>
    session<{ user: SessionUser }>('auth/login', { username, password }).then((r) => r.user),
  logout: () => session<unknown>('auth/logout', {}),
};

/** Users and groups (admins), MLflow's auth API and mltrail's groups. */
export const usersApi = {
  list: () => get<{ users?: User[] }>('users/list').then((r) => r.users || []),
  create: (username: string, password: string) => post<{ user: User }>('users/create', { username, password }),
  delete: (username: string) => post('users/delete', { username }, 'DELETE'),
  setAdmin: (username: string, isAdmin: boolean) => post('users/update-admin', { username, is_admin: isAdmin }, 'PATCH'),
  /** `currentPassword`: needed when users change their own password. */
  setPassword: (username: string, password: string, currentPassword?: string) =>
    post('users/update-password', { username, password, current_password: currentPassword || undefined }, 'PATCH'),
  groups: () => get<{ groups?: Group[] }>('groups/list', {}, EXT_API).then((r) => r.groups || []),
  createGroup: (name: string) => post<{ group: Group }>('groups/create', { name }, 'POST', EXT_API),
  deleteGroup: (name: string) => post('groups/delete', { name }, 'DELETE', EXT_API),
  addMember: (group: string, username: string) => post('groups/members/add', { group, username }, 'POST', EXT_API),
  removeMember: (group: string, username: string) => post('groups/members/remove', { group, username }, 'POST', EXT_API),
};

/** Personal access tokens: one's own, or (admins) everyone's. */
export const tokensApi = {
  list: (all = false) => get<{ tokens?: AccessToken[] }>('tokens/list', { all: all ? 'true' : undefined }, EXT_API)
    .then((r) => r.tokens || []),
  create: (name: string, expiresInDays?: number) =>
    post<{ token: AccessToken; secret: string }>('tokens/create', { name, expires_in_days: expiresInDays }, 'POST', EXT_API),
  revoke: (id: number | string) => post('tokens/revoke', { id }, 'POST', EXT_API),
};

/** Grants on one experiment or registered model (MANAGE on it needed), by user or group. */
export const permissionsApi = {
  list: (resourceType: ResourceType, resourceId: string) =>
    get<{ permissions?: Grant[]; default_permission?: string }>('permissions/list',
      { resource_type: resourceType, resource_id: resourceId }, EXT_API)
      .then((r) => ({ grants: r.permissions || [], defaultPermission: r.default_permission || 'READ' })),
  set: (resourceType: ResourceType, resourceId: string, who: Pick<Grant, 'kind' | 'name'>, permission: string) =>
    post('permissions/set', { resource_type: resourceType, resource_id: resourceId, permission, ...principal(who) }, 'POST', EXT_API),
  remove: (resourceType: ResourceType, resourceId: string, who: Pick<Grant, 'kind' | 'name'>) =>
    post('permissions/delete', { resource_type: resourceType, resource_id: resourceId, ...principal(who) }, 'POST', EXT_API),
};

function principal(who: Pick<Grant, 'kind' | 'name'>): { username: string } | { group: string } {
  return who.kind === 'group' ? { group: who.name } : { username: who.name };
}

export const auditApi = {
  search: (username: string, pageToken?: string, maxResults = 50) =>
    get<{ events?: AuditEvent[]; next_page_token?: string }>('audit/search',
      { username: username || undefined, page_token: pageToken, max_results: maxResults }, EXT_API),
};

/** A timestamp as the API may send it (epoch ms, epoch seconds or ISO text) in epoch ms; undefined when absent. */
export function toMs(v: number | string | null | undefined): number | undefined {
  if (v === null || v === undefined || v === '') return undefined;
  if (typeof v === 'number') return v < 1e11 ? v * 1000 : v;
  if (/^\d+(\.\d+)?$/.test(v)) return toMs(Number(v));
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}


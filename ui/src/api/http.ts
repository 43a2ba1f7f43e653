// The HTTP layer of mltrail's MLflow-compatible REST API: requests, query strings, errors.
// Paths are relative so the UI works behind a prefix.
export const API = 'ajax-api/2.0/mlflow';
// mltrail's extensions beyond MLflow's API.
export const EXT_API = 'ajax-api/2.0/mltrail';

export class ApiError extends Error {
  /** `detail`: the server's own message when `message` was rewritten for people (a 403's "You do not have ..."). */
  constructor(message: string, public code?: string, public status?: number, public detail?: string) { super(message); }
}

/** Whether a failure is the server's 403: signed in, but without the permission the request needs. */
export function isForbidden(e: unknown): boolean {
  return e instanceof ApiError && e.status === 403;
}

// Who hears about a 401 (the session ended or never began): the app, which shows the sign-in page.
let unauthenticated: () => void = () => undefined;

/** Set what a 401 from the API does (the app shows the sign-in page); returns a function that unsets it. */
export function onUnauthenticated(handler: () => void): () => void {
  unauthenticated = handler;
  return () => { if (unauthenticated === handler) unauthenticated = () => undefined; };
}

/** `fetch` for the API: a 401 answer tells the app that the user must sign in (then the caller sees it as usual). */
export async function apiFetch(url: string, init?: RequestInit): Promise<Response> {
  const res = await fetch(url, init);
  if (res.status === 401) unauthenticated();
  return res;
}

// Per API path's first segment: the resource in words (one, many) and the parameter that names one.
const NOUNS: Record<string, [string, string, string?]> = {
  experiments: ['experiment', 'experiments', 'experiment_id'], runs: ['run', 'runs', 'run_id'], metrics: ['run', 'metrics', 'run_id'],
  'registered-models': ['registered model', 'registered models', 'name'],
  'model-versions': ['model version', 'model versions'], 'logged-models': ['logged model', 'logged models', 'model_id'],
  users: ['user', 'users', 'username'], groups: ['group', 'groups', 'name'], tokens: ['access token', 'access tokens'],
  audit: ['the audit log', 'the audit log'], permissions: ['permissions', 'permissions'], webhooks: ['webhook', 'webhooks'],
};
const ARTIFACTS = new Set(['artifacts', 'get-artifact', 'mlflow-artifacts']);
const VIEWS = new Set(['get', 'search', 'list', 'get-history', 'get-history-bulk', 'get-history-downsampled', 'current']);

const named = (x: unknown): string | undefined => {
  if (Array.isArray(x)) return x.length === 1 ? named(x[0]) : undefined;
  return typeof x === 'string' && x !== '' ? x : typeof x === 'number' ? String(x) : undefined;
};

/**
 * A 403 in words: "You do not have permission to view experiment 7." from the request's method, API path and
 * parameters (`experiment_id`, `run_id`, `name`, ...), so a page can say what was refused.
 */
export function deniedMessage(method: string, url: string, params: Record<string, unknown> = {}): string {
  const [path, q = ''] = url.split('?', 2);
  const all: Record<string, unknown> = { ...Object.fromEntries(new URLSearchParams(q)), ...params };
  const rest = path.replace(/^(?:.*?\/)?(?:ajax-)?api\/[0-9.]+\/(?:mlflow-artifacts|mlflow|mltrail)\//, '');
  const parts = rest.split('/').filter(Boolean);
  const last = parts[parts.length - 1] || '';
  const m = method.toUpperCase();
  const verb = m === 'GET' || m === 'HEAD' || VIEWS.has(last) ? 'view'
    : last === 'delete' || m === 'DELETE' ? 'delete' : last === 'create' ? 'create' : 'change';
  const experiment = named(all.experiment_id ?? all.experiment_ids);
  let what: string;
  if (ARTIFACTS.has(parts[0]) || (parts[1] === 'artifacts' && parts[0] !== 'logged-models')) {
    what = all.run_id ? `the artifacts of run ${all.run_id}` : 'these artifacts';
  } else if (parts[0] === 'model-versions' && named(all.name)) {
    what = all.version ? `version ${all.version} of registered model "${all.name}"` : `the versions of registered model "${all.name}"`;
  } else {
    const [one, many, key] = NOUNS[parts[0]] || ['this resource', 'these resources'];
    const id = key ? named(all[key]) : undefined;
    if (id !== undefined) what = `${one} ${key === 'name' || key === 'username' ? `"${id}"` : id}`;
    else if (experiment !== undefined && parts[0] !== 'experiments') what = `${many} ${verb === 'create' ? 'in' : 'of'} experiment ${experiment}`;
    else if (verb === 'create') what = one.startsWith('the ') ? one : `${/^[aeiou]/.test(one) ? 'an' : 'a'} ${one}`;
    else what = many;
  }
  return `You do not have permission to ${verb} ${what}.`;
}

/** The text to show for a failure: the server's message, or whatever was thrown. */
export function errorMessage(e: unknown): string {
  return String((e as { message?: unknown } | null)?.message || e);
}

/**
 * A response's JSON body; an {@link ApiError} with the server's message and error code when it is not ok. With the
 * request (`method`, `url`, `params`), a 403's message says what the user may not do ({@link deniedMessage}).
 */
export async function handle<T>(res: Response, request?: { method: string; url: string; params?: Record<string, unknown> }): Promise<T> {
  const text = await res.text();
  let body: any = {};
  try { body = text ? JSON.parse(text) : {}; } catch { body = { message: text }; }
  if (!res.ok) {
    const message = body.message || res.statusText;
    if (res.status === 403 && request) {
      throw new ApiError(deniedMessage(request.method, request.url, request.params), body.error_code, 403, message);
    }
    throw new ApiError(message, body.error_code, res.status);
  }
  return body as T;
}

export function query(params: Record<string, unknown>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) v.forEach((x) => q.append(k, String(x)));
    else q.append(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** A string literal of the search language: single quotes, backslash escapes. */
export function sqlString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export async function get<T = any>(path: string, params: Record<string, unknown> = {}, base = API): Promise<T> {
  const url = `${base}/${path}${query(params)}`;
  return handle<T>(await apiFetch(url), { method: 'GET', url });
}

export async function post<T = any>(path: string, body: unknown, method = 'POST', base = API): Promise<T> {
  const url = `${base}/${path}`;
  return handle<T>(await apiFetch(url, {
    method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  }), { method, url, params: body && typeof body === 'object' ? body as Record<string, unknown> : {} });
}

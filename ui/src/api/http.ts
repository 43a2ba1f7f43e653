// The HTTP layer of mltrail's MLflow-compatible REST API: requests, query strings, errors.
// Paths are relative so the UI works behind a prefix.
export const API = 'ajax-api/2.0/mlflow';
// mltrail's extensions beyond MLflow's API.
export const EXT_API = 'ajax-api/2.0/mltrail';

export class ApiError extends Error {
  constructor(message: string, public code?: string, public status?: number) { super(message); }
}

/** The text to show for a failure: the server's message, or whatever was thrown. */
export function errorMessage(e: unknown): string {
  return String((e as { message?: unknown } | null)?.message || e);
}

/** A response's JSON body; an {@link ApiError} with the server's message and error code when it is not ok. */
export async function handle<T>(res: Response): Promise<T> {
  const text = await res.text();
  let body: any = {};
  try { body = text ? JSON.parse(text) : {}; } catch { body = { message: text }; }
  if (!res.ok) throw new ApiError(body.message || res.statusText, body.error_code, res.status);
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
  return handle<T>(await fetch(`${base}/${path}${query(params)}`));
}

export async function post<T = any>(path: string, body: unknown, method = 'POST', base = API): Promise<T> {
  return handle<T>(await fetch(`${base}/${path}`, {
    method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  }));
}

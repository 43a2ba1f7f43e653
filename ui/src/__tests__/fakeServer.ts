// A stand-in for the mltrail server in unit tests: `fetch` answered by a handler, every request recorded.
import { vi } from 'vitest';

export interface FakeRequest { method: string; path: string; query: URLSearchParams; body: any }
export type Answer = [number, unknown] | undefined;
export type FakeHandler = (req: FakeRequest) => Answer;

/** Replaces `fetch` (restore with `vi.unstubAllGlobals()`); requests nobody answers get MLflow's 404. */
export function fakeServer(handler: FakeHandler) {
  const calls: FakeRequest[] = [];
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const [path, q = ''] = String(input).split('?', 2);
    const method = (init?.method || 'GET').toUpperCase();
    const body = init?.body ? JSON.parse(String(init.body)) : undefined;
    const req = { method, path, query: new URLSearchParams(q), body };
    calls.push(req);
    const [status, json] = handler(req) ?? [404, { error_code: 'ENDPOINT_NOT_FOUND', message: `No ${method} ${path}` }];
    return new Response(JSON.stringify(json), { status, headers: { 'Content-Type': 'application/json' } });
  });
  vi.stubGlobal('fetch', fetchMock);
  /** The requests to a path (relative, as the UI sends them: `ajax-api/2.0/mltrail/tokens/list`). */
  const to = (path: string, method?: string) => calls.filter((c) => c.path === path && (!method || c.method === method));
  return { calls, to, fetch: fetchMock };
}

export const ML = 'ajax-api/2.0/mlflow';
export const MT = 'ajax-api/2.0/mltrail';
export const denied = (message = 'Permission denied'): Answer => [403, { error_code: 'PERMISSION_DENIED', message }];
export const unauthenticated: Answer = [401, { error_code: 'UNAUTHENTICATED', message: 'Authentication required' }];

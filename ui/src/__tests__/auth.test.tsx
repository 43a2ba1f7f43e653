import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { act, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { App } from '../App';
import { AuthConfig, authApi, currentPath, NO_AUTH, SessionUser, signInError, ssoHref, toMs } from '../api/auth';
import { ApiError, deniedMessage, get, isForbidden, onUnauthenticated, post } from '../api/http';
import { api } from '../api/tracking';
import { RunsPage } from '../pages/Runs';
import { SignInPage } from '../pages/SignIn';
import { denied, fakeServer, FakeRequest, ML, unauthenticated } from './fakeServer';

afterEach(() => { vi.unstubAllGlobals(); vi.restoreAllMocks(); window.location.hash = ''; });

const ALICE = { id: 1, username: 'alice', is_admin: true };
const BOB = { id: 2, username: 'bob', is_admin: false };
const authOn = (user: SessionUser | null = null, extra: Partial<AuthConfig> = {}): AuthConfig => ({
  auth_enabled: true, password_login: true, sso: { enabled: false, display_name: '', login_url: '' }, user, ...extra,
});
const EXPERIMENT = { experiment_id: '7', name: 'vision', lifecycle_stage: 'active' };

describe('403 in words', () => {
  it('says what the user may not do, from the method, the path and the ids', () => {
    expect(deniedMessage('GET', 'ajax-api/2.0/mlflow/experiments/get?experiment_id=7')).toBe(
      'You do not have permission to view experiment 7.');
    expect(deniedMessage('POST', 'ajax-api/2.0/mlflow/experiments/delete', { experiment_id: '7' })).toBe(
      'You do not have permission to delete experiment 7.');
    expect(deniedMessage('POST', 'ajax-api/2.0/mlflow/runs/log-batch', { run_id: 'abc' })).toBe(
      'You do not have permission to change run abc.');
    expect(deniedMessage('POST', 'ajax-api/2.0/mlflow/runs/create', { experiment_id: '3' })).toBe(
      'You do not have permission to create runs in experiment 3.');
    expect(deniedMessage('GET', 'ajax-api/2.0/mlflow/model-versions/get?name=m&version=2')).toBe(
      'You do not have permission to view version 2 of registered model "m".');
    expect(deniedMessage('PATCH', 'ajax-api/2.0/mlflow/registered-models/update', { name: 'm', description: '' })).toBe(
      'You do not have permission to change registered model "m".');
    expect(deniedMessage('POST', 'ajax-api/2.0/mlflow/registered-models/create', {})).toBe(
      'You do not have permission to create a registered model.');
    expect(deniedMessage('GET', 'ajax-api/2.0/mlflow/artifacts/list?run_id=r1')).toBe(
      'You do not have permission to view the artifacts of run r1.');
    expect(deniedMessage('POST', 'ajax-api/2.0/mlflow/runs/search', { experiment_ids: ['1'] })).toBe(
      'You do not have permission to view runs of experiment 1.');
    expect(deniedMessage('POST', 'ajax-api/2.0/mlflow/runs/search', { experiment_ids: ['1', '2'] })).toBe(
      'You do not have permission to view runs.');
    expect(deniedMessage('GET', 'ajax-api/2.0/mltrail/audit/search')).toBe('You do not have permission to view the audit log.');
    expect(deniedMessage('GET', '/prefix/ajax-api/2.0/mltrail/users/list')).toBe('You do not have permission to view users.');
  });

  it('rewrites a 403 from the API and keeps the server message as detail', async () => {
    fakeServer(() => denied('User bob lacks READ on experiment 7'));
    const e = await get('experiments/get', { experiment_id: '7' }).catch((x) => x);
    expect(e).toBeInstanceOf(ApiError);
    expect(isForbidden(e)).toBe(true);
    expect(e.message).toBe('You do not have permission to view experiment 7.');
    expect(e.detail).toBe('User bob lacks READ on experiment 7');
    const e2 = await post('experiments/delete', { experiment_id: '7' }).catch((x) => x);
    expect(e2.message).toBe('You do not have permission to delete experiment 7.');
    expect(isForbidden(new ApiError('x', 'NOT_FOUND', 404))).toBe(false);
  });

  it('tells the app about a 401 from any API call, and only a 401', async () => {
    const server = fakeServer((r) => (r.path.endsWith('runs/get') ? unauthenticated : [400, { message: 'bad' }]));
    const heard = vi.fn();
    const unset = onUnauthenticated(heard);
    await expect(api.getRun('r')).rejects.toMatchObject({ status: 401 });
    expect(heard).toHaveBeenCalledTimes(1);
    await expect(api.getExperiment('1')).rejects.toMatchObject({ status: 400, message: 'bad' });
    expect(heard).toHaveBeenCalledTimes(1);
    unset();
    await expect(api.getRun('r')).rejects.toMatchObject({ status: 401 });
    expect(heard).toHaveBeenCalledTimes(1);
    expect(server.calls).toHaveLength(3);
  });
});

describe('auth API', () => {
  it('reads the config, and a server without one is a server without authentication', async () => {
    fakeServer((r) => (r.path === 'auth/config' ? [200, authOn(BOB, { sso: { enabled: true, login_url: '/auth/oidc/login' } })] : undefined));
    expect(await authApi.config()).toMatchObject({ auth_enabled: true, user: BOB, sso: { enabled: true, login_url: '/auth/oidc/login' } });
    fakeServer(() => undefined);
    expect(await authApi.config()).toEqual(NO_AUTH);
    vi.stubGlobal('fetch', vi.fn(async () => new Response('<!doctype html><html></html>', { status: 200 })));
    expect(await authApi.config()).toEqual(NO_AUTH); // a server without auth: its SPA fallback page
    fakeServer(() => [500, { message: 'boom' }]);
    await expect(authApi.config()).rejects.toMatchObject({ status: 500 });
  });

  it('signs in with JSON, and a failed sign-in never counts as a lost session', async () => {
    const heard = vi.fn();
    const unset = onUnauthenticated(heard);
    const server = fakeServer((r) => (r.body?.password === 'right' ? [200, { user: BOB }] : [401, { message: 'no' }]));
    expect(await authApi.login('bob', 'right')).toEqual(BOB);
    expect(server.calls[0]).toMatchObject({ method: 'POST', path: 'auth/login', body: { username: 'bob', password: 'right' } });
    const e = await authApi.login('bob', 'wrong').catch((x) => x);
    expect(signInError(e)).toBe('Invalid username or password');
    expect(signInError(new ApiError('slow down', 'RATE_LIMITED', 429))).toBe('Too many failed sign-ins, try again later');
    expect(signInError(new Error('offline'))).toBe('offline');
    expect(heard).not.toHaveBeenCalled();
    unset();
  });

  it('builds the single sign-on link back to the current page', () => {
    expect(ssoHref('/auth/oidc/login', '/#/experiments/7?x=1')).toBe('/auth/oidc/login?next=%2F%23%2Fexperiments%2F7%3Fx%3D1');
    expect(ssoHref('auth/oidc/login?prompt=login', '/')).toBe('auth/oidc/login?prompt=login&next=%2F');
    expect(currentPath({ pathname: '/ml/', search: '', hash: '#/models' })).toBe('/ml/#/models');
  });

  it('reads timestamps in milliseconds, seconds or ISO text', () => {
    expect(toMs(1_700_000_000_000)).toBe(1_700_000_000_000);
    expect(toMs(1_700_000_000)).toBe(1_700_000_000_000);
    expect(toMs('2024-01-02T03:04:05Z')).toBe(Date.UTC(2024, 0, 2, 3, 4, 5));
    expect(toMs(null)).toBeUndefined();
  });
});

describe('sign-in page', () => {
  it('says why a sign-in failed and offers single sign-on', async () => {
    let answer: [number, unknown] = [401, { error_code: 'UNAUTHENTICATED', message: 'bad credentials' }];
    fakeServer(() => answer);
    const onSignedIn = vi.fn();
    window.location.hash = '#/experiments/7';
    render(<SignInPage config={authOn(null, { sso: { enabled: true, display_name: 'Company SSO', login_url: '/auth/oidc/login' } })}
      onSignedIn={onSignedIn} />);
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(screen.getByRole('alert').textContent).toBe('Enter your username and password.');
    fireEvent.change(screen.getByLabelText('Username'), { target: { value: 'bob' } });
    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'nope' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    await waitFor(() => expect(screen.getByRole('alert').textContent).toBe('Invalid username or password'));
    expect((screen.getByLabelText('Password') as HTMLInputElement).value).toBe('');
    answer = [429, { error_code: 'REQUEST_LIMIT_EXCEEDED', message: 'Too many requests' }];
    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'nope' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    await waitFor(() => expect(screen.getByRole('alert').textContent).toBe('Too many failed sign-ins, try again later'));
    const sso = screen.getByRole('link', { name: 'Sign in with Company SSO' });
    expect(sso.getAttribute('href')).toBe(`/auth/oidc/login?next=${encodeURIComponent('/#/experiments/7')}`);
    answer = [200, { user: BOB }];
    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'right' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    await waitFor(() => expect(onSignedIn).toHaveBeenCalledWith(BOB));
  });

  it('shows only single sign-on when passwords are off', () => {
    render(<SignInPage config={authOn(null, { password_login: false, sso: { enabled: true, login_url: '/sso' } })} onSignedIn={vi.fn()} />);
    expect(screen.queryByLabelText('Password')).toBeNull();
    expect(screen.getByRole('link', { name: 'Sign in with single sign-on' })).toBeTruthy();
  });
});

/** A server with experiment 7 that only `alice` may read, sessions by cookie (here: a variable). */
function teamServer(opts: { sessionUser?: typeof ALICE | null } = {}) {
  let session: typeof ALICE | null = opts.sessionUser ?? null;
  const passwords: Record<string, [string, typeof ALICE]> = { alice: ['secret', ALICE], bob: ['hunter2', BOB] };
  const server = fakeServer((r: FakeRequest) => {
    if (r.path === 'auth/config') return [200, authOn(session)];
    if (r.path === 'auth/login') {
      const known = passwords[r.body.username];
      if (!known || known[0] !== r.body.password) return [401, { error_code: 'UNAUTHENTICATED', message: 'Invalid credentials' }];
      session = known[1];
      return [200, { user: session }];
    }
    if (r.path === 'auth/logout') { session = null; return [200, {}]; }
    if (!session) return unauthenticated;
    if (r.path === `${ML}/experiments/search`) return [200, { experiments: session.is_admin ? [EXPERIMENT] : [] }];
    if (r.path === `${ML}/experiments/get`) return session.is_admin ? [200, { experiment: EXPERIMENT }] : denied();
    if (r.path === `${ML}/runs/search`) return session.is_admin ? [200, { runs: [] }] : denied();
    return undefined;
  });
  return { ...server, endSession: () => { session = null; } };
}

describe('the app with authentication', () => {
  beforeEach(() => { window.location.hash = ''; });

  it('without authentication: no sign-in and no account menu', async () => {
    fakeServer((r) => (r.path === 'auth/config' ? [200, NO_AUTH]
      : r.path === `${ML}/experiments/search` ? [200, { experiments: [EXPERIMENT] }] : undefined));
    render(<App />);
    await screen.findByText('vision');
    expect(screen.queryByText('Sign out')).toBeNull();
    expect(screen.queryByText('Admin')).toBeNull();
    expect(screen.queryByTestId('current-user')).toBeNull();
  });

  it('signs in (wrong, then right) and shows the page that was asked for, then signs out', async () => {
    const server = teamServer();
    window.location.hash = '#/experiments/7';
    render(<App />);
    fireEvent.change(await screen.findByLabelText('Username'), { target: { value: 'alice' } });
    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'wrong' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect((await screen.findByRole('alert')).textContent).toBe('Invalid username or password');
    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'secret' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect((await screen.findByTestId('current-user')).textContent).toBe('alice');
    expect(screen.getByText('admin').className).toBe('badge');
    expect(screen.getByRole('link', { name: 'Admin' }).getAttribute('href')).toBe('#/admin');
    expect(screen.getByRole('link', { name: 'Access tokens' }).getAttribute('href')).toBe('#/tokens');
    expect(await screen.findByRole('heading', { name: 'vision' })).toBeTruthy(); // the runs page of experiment 7
    expect(window.location.hash).toBe('#/experiments/7');

    fireEvent.click(screen.getByRole('button', { name: 'Sign out' }));
    expect(await screen.findByRole('button', { name: 'Sign in' })).toBeTruthy();
    expect(server.to('auth/logout', 'POST')).toHaveLength(1);
    expect(screen.getByRole('status').textContent).toBe('You have signed out.');
  });

  it('a non-admin sees no Admin link, and a forbidden experiment says so in place of the page', async () => {
    teamServer({ sessionUser: BOB });
    window.location.hash = '#/experiments/7';
    render(<App />);
    expect((await screen.findByTestId('current-user')).textContent).toBe('bob');
    expect(screen.queryByText('admin')).toBeNull();
    expect(screen.queryByRole('link', { name: 'Admin' })).toBeNull();
    const box = await screen.findByTestId('forbidden');
    expect(box.textContent).toContain('You do not have permission to view experiment 7.');
    expect(screen.queryByTestId('run-count')).toBeNull(); // no runs table
    act(() => { window.location.hash = '#/admin'; window.dispatchEvent(new HashChangeEvent('hashchange')); });
    expect(await screen.findByText(/for admins only/)).toBeTruthy();
  });

  it('a 401 in the middle of a session shows the sign-in page, and signing in returns to the page', async () => {
    const server = teamServer({ sessionUser: ALICE });
    render(<App />);
    await screen.findByText('vision');
    server.endSession();
    act(() => { window.location.hash = '#/experiments/7'; window.dispatchEvent(new HashChangeEvent('hashchange')); });
    expect((await screen.findByRole('status')).textContent).toContain('Your session has ended');
    fireEvent.change(screen.getByLabelText('Username'), { target: { value: 'alice' } });
    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'secret' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByRole('heading', { name: 'vision' })).toBeTruthy();
  });

  it('says when the server cannot be reached, and retries', async () => {
    let up = false;
    fakeServer((r) => (!up ? [502, { message: 'Bad Gateway' }] : r.path === 'auth/config' ? [200, NO_AUTH]
      : r.path === `${ML}/experiments/search` ? [200, { experiments: [] }] : undefined));
    render(<App />);
    expect((await screen.findByRole('alert')).textContent).toContain('Could not reach the mltrail server: Bad Gateway');
    up = true;
    fireEvent.click(screen.getByRole('button', { name: 'Retry' }));
    expect(await screen.findByText('No experiments.')).toBeTruthy();
  });
});

describe('forbidden pages', () => {
  it('the runs page of an experiment the user cannot read', async () => {
    fakeServer(() => denied());
    render(<RunsPage experimentIds={['7']} params={new URLSearchParams()} />);
    const box = await screen.findByTestId('forbidden');
    expect(box.textContent).toContain('Permission denied');
    expect(box.textContent).toContain('You do not have permission to view experiment 7.');
  });
});

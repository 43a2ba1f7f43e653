import { afterEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { ReactNode } from 'react';
import { AccessToken, AuthConfig, NO_AUTH, SessionUser } from '../api/auth';
import { AuditLog, targetText } from '../components/admin/AuditLog';
import { GroupsAdmin } from '../components/admin/GroupsAdmin';
import { UsersAdmin } from '../components/admin/UsersAdmin';
import { PermissionsPanel } from '../components/PermissionsPanel';
import { TokenTable } from '../components/TokenTable';
import { AuthContext } from '../components/useSession';
import { AdminPage } from '../pages/Admin';
import { TokensPage } from '../pages/Tokens';
import { denied, fakeServer, ML, MT } from './fakeServer';

afterEach(() => { vi.unstubAllGlobals(); vi.restoreAllMocks(); });

const ALICE: SessionUser = { id: 1, username: 'alice', is_admin: true };
const BOB: SessionUser = { id: 2, username: 'bob', is_admin: false };
const ON: AuthConfig = { ...NO_AUTH, auth_enabled: true, password_login: true };

function as(user: SessionUser | null, ui: ReactNode, config: AuthConfig = ON) {
  return render(<AuthContext.Provider value={{ config: { ...config, user }, user }}>{ui}</AuthContext.Provider>);
}

describe('permissions panel', () => {
  const grants = [{ kind: 'user', name: 'carol', permission: 'READ' }, { kind: 'group', name: 'vision', permission: 'EDIT' }];

  it('lists grants and the default, changes, removes and adds them', async () => {
    let list = grants;
    const server = fakeServer((r) => {
      if (r.path === `${MT}/permissions/list`) return [200, { permissions: list, default_permission: 'READ' }];
      if (r.path === `${MT}/permissions/set` || r.path === `${MT}/permissions/delete`) return [200, {}];
      return undefined;
    });
    as(ALICE, <PermissionsPanel resourceType="experiment" resourceId="7" />);
    const panel = await screen.findByTestId('permissions');
    expect(server.to(`${MT}/permissions/list`)[0].query.toString()).toBe('resource_type=experiment&resource_id=7');
    expect(within(panel).getByTestId('default-permission').textContent).toBe('READ');
    expect(panel.querySelectorAll('tr[data-grant]')).toHaveLength(2);
    expect((screen.getByLabelText('Permission of group vision') as HTMLSelectElement).value).toBe('EDIT');

    fireEvent.change(screen.getByLabelText('Permission of user carol'), { target: { value: 'MANAGE' } });
    await waitFor(() => expect(server.to(`${MT}/permissions/set`)).toHaveLength(1));
    expect(server.to(`${MT}/permissions/set`)[0].body).toEqual(
      { resource_type: 'experiment', resource_id: '7', permission: 'MANAGE', username: 'carol' });
    await waitFor(() => expect(server.to(`${MT}/permissions/list`)).toHaveLength(2)); // reloaded after the change

    fireEvent.click(screen.getByLabelText('Remove group vision'));
    await waitFor(() => expect(server.to(`${MT}/permissions/delete`)).toHaveLength(1));
    expect(server.to(`${MT}/permissions/delete`)[0].body).toEqual({ resource_type: 'experiment', resource_id: '7', group: 'vision' });

    fireEvent.click(screen.getByRole('button', { name: 'Grant' }));
    expect(screen.getByRole('alert').textContent).toBe('Name the user to grant READ to.');
    list = [...grants, { kind: 'user', name: 'dave', permission: 'EDIT' }];
    fireEvent.change(screen.getByLabelText('User or group name'), { target: { value: ' dave ' } });
    fireEvent.change(screen.getByLabelText('Permission to grant'), { target: { value: 'EDIT' } });
    fireEvent.click(screen.getByRole('button', { name: 'Grant' }));
    await waitFor(() => expect(server.to(`${MT}/permissions/set`)).toHaveLength(2));
    expect(server.to(`${MT}/permissions/set`)[1].body).toEqual(
      { resource_type: 'experiment', resource_id: '7', permission: 'EDIT', username: 'dave' });
    await screen.findByLabelText('Permission of user dave');
    expect((screen.getByLabelText('User or group name') as HTMLInputElement).value).toBe('');
  });

  it('is not there for users who do not manage the resource, nor without authentication', async () => {
    const server = fakeServer(() => denied());
    const { container } = as(BOB, <PermissionsPanel resourceType="registered_model" resourceId="m" />);
    await waitFor(() => expect(server.calls).toHaveLength(1));
    expect(server.calls[0].query.get('resource_type')).toBe('registered_model');
    await new Promise((r) => setTimeout(r, 0));
    expect(container.innerHTML).toBe('');

    const off = fakeServer(() => [200, { permissions: [] }]);
    const other = as(null, <PermissionsPanel resourceType="experiment" resourceId="1" />, NO_AUTH);
    await new Promise((r) => setTimeout(r, 0));
    expect(other.container.innerHTML).toBe('');
    expect(off.calls).toHaveLength(0);
  });

  it('opens on demand on the runs page and says the server error', async () => {
    fakeServer(() => [200, { permissions: [grants[0]], default_permission: 'NO_PERMISSIONS' }]);
    as(ALICE, <PermissionsPanel resourceType="experiment" resourceId="7" collapsible />);
    const summary = await screen.findByText('Permissions');
    expect(summary.closest('summary')!.textContent).toContain('1 grant, everyone else NO_PERMISSIONS');
    fakeServer(() => [500, { message: 'database is locked' }]);
    as(ALICE, <PermissionsPanel resourceType="experiment" resourceId="8" />);
    expect((await screen.findByRole('alert')).textContent).toBe('Could not load the permissions: database is locked');
  });
});

describe('access tokens page', () => {
  it('creates a token, shows its secret once with a copy button, and revokes tokens', async () => {
    let tokens: AccessToken[] = [{ id: 1, username: 'bob', name: 'laptop', created_at: 1_700_000_000_000, expires_at: null, last_used_at: null }];
    const server = fakeServer((r) => {
      if (r.path === `${MT}/tokens/list`) return [200, { tokens }];
      if (r.path === `${MT}/tokens/create`) {
        const token = { id: 2, username: 'bob', name: r.body.name, created_at: 1_700_000_000_000, expires_at: 1_800_000_000_000 };
        tokens = [...tokens, token];
        return [200, { token, secret: 'mlt_s3cret' }];
      }
      if (r.path === `${MT}/tokens/revoke`) { tokens = tokens.filter((t) => t.id !== r.body.id); return [200, {}]; }
      return undefined;
    });
    const writeText = vi.fn(() => Promise.resolve());
    vi.stubGlobal('navigator', { ...navigator, clipboard: { writeText } });
    vi.spyOn(window, 'confirm').mockReturnValue(true);
    as(BOB, <TokensPage />);
    await screen.findByText('laptop');
    expect(server.to(`${MT}/tokens/list`)[0].query.toString()).toBe(''); // one's own

    fireEvent.click(screen.getByRole('button', { name: 'Create token' }));
    expect(screen.getByRole('alert').textContent).toBe('A token needs a name.');
    fireEvent.change(screen.getByLabelText('Token name'), { target: { value: 'ci' } });
    fireEvent.change(screen.getByLabelText('Expires in days'), { target: { value: '30' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create token' }));
    const box = await screen.findByTestId('token-secret');
    expect(server.to(`${MT}/tokens/create`)[0].body).toEqual({ name: 'ci', expires_in_days: 30 });
    expect((screen.getByLabelText('New token secret') as HTMLInputElement).value).toBe('mlt_s3cret');
    expect(box.textContent).toContain('it will not be shown again');
    fireEvent.click(within(box).getByRole('button', { name: 'Copy' }));
    await waitFor(() => expect(writeText).toHaveBeenCalledWith('mlt_s3cret'));
    expect(await within(box).findByText('Copied.')).toBeTruthy();
    await screen.findByText('ci'); // the list reloaded
    fireEvent.click(within(box).getByRole('button', { name: 'Done' }));
    expect(screen.queryByTestId('token-secret')).toBeNull();
    expect(document.body.textContent).not.toContain('mlt_s3cret');

    fireEvent.click(screen.getByLabelText('Revoke token laptop'));
    await waitFor(() => expect(server.to(`${MT}/tokens/revoke`)[0]?.body).toEqual({ id: 1 }));
    await waitFor(() => expect(screen.queryByText('laptop')).toBeNull());
  });

  it('marks expired tokens and shows owners in the admin view', () => {
    const tokens = [{ id: 'a', username: 'carol', name: 'old', created_at: 1_600_000_000_000, expires_at: 1_700_000_000_000 }];
    render(<TokenTable tokens={tokens} showUser onRevoke={vi.fn()} onChanged={vi.fn()} now={1_800_000_000_000} />);
    expect(screen.getByText('carol')).toBeTruthy();
    expect(screen.getByText(/\(expired\)/)).toBeTruthy();
    expect(screen.getByLabelText('Revoke token old of carol')).toBeTruthy();
  });
});

describe('admin pages', () => {
  it('are for admins only', () => {
    as(BOB, <AdminPage params={new URLSearchParams()} />);
    expect(screen.getByTestId('forbidden').textContent).toContain('You do not have permission to open the admin pages');
  });

  it('users: create (with admin), toggle admin, set a password, delete', async () => {
    let users = [
      { id: 1, username: 'alice', is_admin: true, source: 'password', groups: [] },
      { id: 2, username: 'bob', is_admin: false, source: 'oidc', groups: ['vision'] },
    ];
    const server = fakeServer((r) => {
      if (r.path === `${ML}/users/list`) return [200, { users }];
      if (r.path === `${ML}/users/create`) {
        if (users.some((u) => u.username === r.body.username)) return [400, { message: `User '${r.body.username}' already exists` }];
        const u = { id: 3, username: r.body.username, is_admin: false, source: 'password', groups: [] };
        users = [...users, u];
        return [200, { user: u }];
      }
      if (r.path === `${ML}/users/update-admin`) {
        users = users.map((u) => (u.username === r.body.username ? { ...u, is_admin: r.body.is_admin } : u));
        return [200, {}];
      }
      if (r.path === `${ML}/users/update-password`) return [200, {}];
      if (r.path === `${ML}/users/delete`) { users = users.filter((u) => u.username !== r.body.username); return [200, {}]; }
      return undefined;
    });
    vi.spyOn(window, 'confirm').mockReturnValue(true);
    as(ALICE, <UsersAdmin me="alice" />);
    await screen.findByText('oidc');
    expect((screen.getByLabelText('Admin: alice') as HTMLInputElement).disabled).toBe(true); // not themself
    expect((screen.getByLabelText('Delete user alice') as HTMLButtonElement).disabled).toBe(true);

    fireEvent.change(screen.getByLabelText('New username'), { target: { value: 'bob' } });
    fireEvent.change(screen.getByLabelText("New user's password"), { target: { value: 'pw' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create user' }));
    expect((await screen.findByRole('alert')).textContent).toBe("User 'bob' already exists");
    fireEvent.change(screen.getByLabelText('New username'), { target: { value: 'carol' } });
    fireEvent.click(screen.getByRole('checkbox', { name: 'admin' }));
    fireEvent.click(screen.getByRole('button', { name: 'Create user' }));
    await screen.findByText('carol');
    expect(server.to(`${ML}/users/create`)[1].body).toEqual({ username: 'carol', password: 'pw' });
    expect(server.to(`${ML}/users/update-admin`)[0]).toMatchObject({ method: 'PATCH', body: { username: 'carol', is_admin: true } });
    await waitFor(() => expect((screen.getByLabelText('Admin: carol') as HTMLInputElement).checked).toBe(true));

    fireEvent.click(screen.getByLabelText('Admin: bob'));
    await waitFor(() => expect((screen.getByLabelText('Admin: bob') as HTMLInputElement).checked).toBe(true));

    fireEvent.click(screen.getByLabelText('Set password of bob'));
    fireEvent.change(screen.getByLabelText('New password for bob'), { target: { value: 'n3w' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(server.to(`${ML}/users/update-password`)).toHaveLength(1));
    expect(server.to(`${ML}/users/update-password`)[0]).toMatchObject({ method: 'PATCH', body: { username: 'bob', password: 'n3w' } });
    fireEvent.click(screen.getByLabelText('Set password of alice'));
    fireEvent.change(screen.getByLabelText('Your current password'), { target: { value: 'old' } });
    fireEvent.change(screen.getByLabelText('New password for alice'), { target: { value: 'new' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(server.to(`${ML}/users/update-password`)).toHaveLength(2));
    expect(server.to(`${ML}/users/update-password`)[1].body).toEqual({ username: 'alice', password: 'new', current_password: 'old' });

    fireEvent.click(screen.getByLabelText('Delete user bob'));
    await waitFor(() => expect(screen.queryByText('oidc')).toBeNull());
    expect(server.to(`${ML}/users/delete`)[0]).toMatchObject({ method: 'DELETE', body: { username: 'bob' } });
  });

  it('groups: create, add and remove members, delete', async () => {
    let groups = [{ id: 1, name: 'vision', members: ['bob'] }];
    const server = fakeServer((r) => {
      if (r.path === `${ML}/users/list`) return [200, { users: [{ id: 2, username: 'bob', is_admin: false }, { id: 3, username: 'carol', is_admin: false }] }];
      if (r.path === `${MT}/groups/list`) return [200, { groups }];
      if (r.path === `${MT}/groups/create`) { groups = [...groups, { id: 2, name: r.body.name, members: [] }]; return [200, {}]; }
      if (r.path === `${MT}/groups/delete`) { groups = groups.filter((g) => g.name !== r.body.name); return [200, {}]; }
      if (r.path === `${MT}/groups/members/add`) {
        if (r.body.username === 'nobody') return [404, { message: "User 'nobody' not found" }];
        groups = groups.map((g) => (g.name === r.body.group ? { ...g, members: [...g.members, r.body.username] } : g));
        return [200, {}];
      }
      if (r.path === `${MT}/groups/members/remove`) {
        groups = groups.map((g) => (g.name === r.body.group ? { ...g, members: g.members.filter((m) => m !== r.body.username) } : g));
        return [200, {}];
      }
      return undefined;
    });
    vi.spyOn(window, 'confirm').mockReturnValue(true);
    as(ALICE, <GroupsAdmin />);
    await screen.findByText('vision');
    fireEvent.change(screen.getByLabelText('New group name'), { target: { value: 'nlp' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create group' }));
    await screen.findByText('nlp');
    fireEvent.change(screen.getByLabelText('Add member to nlp'), { target: { value: 'nobody' } });
    fireEvent.click(within(screen.getByText('nlp').closest('tr')!).getByRole('button', { name: 'Add' }));
    expect((await screen.findByRole('alert')).textContent).toBe("User 'nobody' not found");
    expect((screen.getByLabelText('Add member to nlp') as HTMLInputElement).value).toBe('nobody'); // kept to fix
    fireEvent.change(screen.getByLabelText('Add member to nlp'), { target: { value: 'carol' } });
    fireEvent.click(within(screen.getByText('nlp').closest('tr')!).getByRole('button', { name: 'Add' }));
    await screen.findByLabelText('Remove carol from nlp');
    expect(server.to(`${MT}/groups/members/add`)[1].body).toEqual({ group: 'nlp', username: 'carol' });
    fireEvent.click(screen.getByLabelText('Remove bob from vision'));
    await waitFor(() => expect(screen.queryByLabelText('Remove bob from vision')).toBeNull());
    fireEvent.click(screen.getByLabelText('Delete group vision'));
    await waitFor(() => expect(screen.queryByText('vision')).toBeNull());
    expect(server.to(`${MT}/groups/delete`)[0]).toMatchObject({ method: 'DELETE', body: { name: 'vision' } });
    expect(document.querySelectorAll('#usernames option')).toHaveLength(2);
  });

  it('audit log: pages with Load more, filters by user', async () => {
    const events = Array.from({ length: 5 }, (_, i) => ({
      id: 5 - i, timestamp: 1_700_000_000_000 + (5 - i) * 1000, username: i % 2 ? 'bob' : 'alice', method: 'POST',
      path: '/api/2.0/mlflow/runs/create', status: i === 0 ? 403 : 200, address: '127.0.0.1', action: 'runs/create',
      target: i === 1 ? { experiment_id: '1' } : 'experiment 1',
    }));
    const server = fakeServer((r) => {
      if (r.path !== `${MT}/audit/search`) return undefined;
      const user = r.query.get('username');
      const mine = events.filter((e) => !user || e.username === user);
      const start = Number(r.query.get('page_token') || 0);
      const n = Number(r.query.get('max_results'));
      const next = start + n < mine.length ? String(start + n) : undefined;
      return [200, { events: mine.slice(start, start + n), next_page_token: next }];
    });
    as(ALICE, <AuditLog pageSize={2} />);
    await waitFor(() => expect(document.querySelectorAll('tr[data-event]')).toHaveLength(2));
    expect(screen.getByTestId('audit-count').textContent).toBe('2+ events');
    expect(screen.getByText('{"experiment_id":"1"}')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Load more' }));
    await waitFor(() => expect(document.querySelectorAll('tr[data-event]')).toHaveLength(4));
    fireEvent.click(screen.getByRole('button', { name: 'Load more' }));
    await waitFor(() => expect(document.querySelectorAll('tr[data-event]')).toHaveLength(5));
    expect(screen.queryByRole('button', { name: 'Load more' })).toBeNull();
    expect(server.to(`${MT}/audit/search`).map((c) => c.query.get('page_token'))).toEqual([null, '2', '4']);

    fireEvent.change(screen.getByLabelText('Filter by user'), { target: { value: 'bob' } });
    fireEvent.click(screen.getByRole('button', { name: 'Filter' }));
    await waitFor(() => expect(document.querySelectorAll('tr[data-event]')).toHaveLength(2));
    expect(server.to(`${MT}/audit/search`).slice(-1)[0].query.get('username')).toBe('bob');
    expect(screen.getByTestId('audit-count').textContent).toBe('2 events');
    expect(targetText(null)).toBe('');
  });

  it('switches tabs through the URL', async () => {
    fakeServer((r) => (r.path === `${MT}/tokens/list` ? [200, { tokens: [] }] : undefined));
    as(ALICE, <AdminPage params={new URLSearchParams('tab=tokens')} />);
    expect(screen.getByRole('tab', { name: 'Tokens' }).getAttribute('aria-selected')).toBe('true');
    expect(await screen.findByTestId('no-tokens')).toBeTruthy();
  });
});

// Admin: users. List them; create one (with a password, optionally an admin); make or unmake admins; set a password;
// delete. Admins cannot delete themselves or take away their own admin rights here.
import { FormEvent, useState } from 'react';
import { toMs, User, usersApi } from '../../api/auth';
import { fmtTime } from '../../format';
import { ErrorBox } from '../Common';
import { useAction } from '../useAction';
import { useLoad } from '../useLoad';

export function UsersAdmin({ me }: { me: string }) {
  const list = useLoad(() => usersApi.list(), []);
  const { busy, error, setError, run } = useAction(list.reload);
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [admin, setAdmin] = useState(false);
  const [editing, setEditing] = useState<string | null>(null);

  const create = (e: FormEvent) => {
    e.preventDefault();
    const u = username.trim();
    if (!u || !password) { setError('A new user needs a username and a password.'); return; }
    run(() => usersApi.create(u, password).then(() => (admin ? usersApi.setAdmin(u, true) : undefined)),
      () => { setUsername(''); setPassword(''); setAdmin(false); });
  };
  const users = [...(list.data || [])].sort((a, b) => a.username.localeCompare(b.username));
  return (
    <section aria-label="Users">
      <form className="toolbar" onSubmit={create} aria-label="New user">
        <input aria-label="New username" placeholder="Username" autoComplete="off" value={username}
          onChange={(e) => setUsername(e.target.value)} />
        <input aria-label="New user's password" type="password" placeholder="Password" autoComplete="new-password" value={password}
          onChange={(e) => setPassword(e.target.value)} />
        <label className="check"><input type="checkbox" checked={admin} onChange={(e) => setAdmin(e.target.checked)} /> admin</label>
        <button type="submit" disabled={busy}>Create user</button>
      </form>
      <ErrorBox error={error || list.error} />
      {list.data === undefined ? (!list.error && <p className="muted">Loading…</p>) : (
        <table className="grid users">
          <thead><tr><th>Username</th><th>Admin</th><th>Source</th><th>Groups</th><th>Created</th><th /></tr></thead>
          <tbody>{users.map((u) => (
            <UserRow key={u.username} user={u} self={u.username === me} busy={busy} editing={editing === u.username}
              onEdit={(on) => setEditing(on ? u.username : null)}
              onAdmin={(on) => run(() => usersApi.setAdmin(u.username, on))}
              onPassword={(pw, current) => run(() => usersApi.setPassword(u.username, pw, current), () => setEditing(null))}
              onDelete={() => {
                if (window.confirm(`Delete user "${u.username}"? Their grants and tokens go with them.`)) run(() => usersApi.delete(u.username));
              }} />
          ))}</tbody>
        </table>
      )}
    </section>
  );
}

interface UserRowProps {
  user: User; self: boolean; busy: boolean; editing: boolean;
  onEdit: (on: boolean) => void;
  onAdmin: (on: boolean) => void;
  onPassword: (password: string, currentPassword?: string) => void;
  onDelete: () => void;
}

function UserRow({ user: u, self, busy, editing, onEdit, onAdmin, onPassword, onDelete }: UserRowProps) {
  const [password, setPassword] = useState('');
  const [current, setCurrent] = useState('');
  return (
    <tr data-user={u.username}>
      <td>{u.username}{self && <span className="muted small"> (you)</span>}</td>
      <td><input type="checkbox" aria-label={`Admin: ${u.username}`} checked={u.is_admin} disabled={busy || self}
        title={self ? 'You cannot take away your own admin rights' : undefined} onChange={(e) => onAdmin(e.target.checked)} /></td>
      <td className="muted">{u.source || 'password'}</td>
      <td>{(u.groups || []).map((g) => <span key={g} className="chip">{g}</span>)}</td>
      <td>{fmtTime(toMs(u.created_at))}</td>
      <td className="actions">
        {editing ? (
          <form className="inline-form" onSubmit={(e) => { e.preventDefault(); if (password) onPassword(password, self ? current : undefined); }}>
            {self && <input type="password" aria-label="Your current password" placeholder="Current password" value={current}
              autoComplete="current-password" onChange={(e) => setCurrent(e.target.value)} />}
            <input type="password" aria-label={`New password for ${u.username}`} placeholder="New password" autoFocus value={password}
              autoComplete="new-password" onChange={(e) => setPassword(e.target.value)} />
            <button type="submit" disabled={busy || !password}>Save</button>
            <button type="button" onClick={() => { onEdit(false); setPassword(''); setCurrent(''); }}>Cancel</button>
          </form>
        ) : (
          <>
            <button type="button" aria-label={`Set password of ${u.username}`} onClick={() => onEdit(true)}>Set password</button>
            <button type="button" className="danger" aria-label={`Delete user ${u.username}`} disabled={busy || self}
              title={self ? 'You cannot delete yourself' : undefined} onClick={onDelete}>Delete</button>
          </>
        )}
      </td>
    </tr>
  );
}

// Admin: groups. Create and delete groups; add and remove members (grants given to a group apply to its members).
import { FormEvent, useState } from 'react';
import { Group, usersApi } from '../../api/auth';
import { ErrorBox } from '../Common';
import { useAction } from '../useAction';
import { useLoad } from '../useLoad';

export function GroupsAdmin() {
  const list = useLoad(() => usersApi.groups(), []);
  const users = useLoad(() => usersApi.list().then((us) => us.map((u) => u.username).sort(), () => []), []);
  const { busy, error, setError, run } = useAction(list.reload);
  const [name, setName] = useState('');
  const create = (e: FormEvent) => {
    e.preventDefault();
    if (!name.trim()) { setError('A group needs a name.'); return; }
    run(() => usersApi.createGroup(name.trim()), () => setName(''));
  };
  const groups = [...(list.data || [])].sort((a, b) => a.name.localeCompare(b.name));
  return (
    <section aria-label="Groups">
      <form className="toolbar" onSubmit={create} aria-label="New group">
        <input aria-label="New group name" placeholder="Group name" value={name} onChange={(e) => setName(e.target.value)} />
        <button type="submit" disabled={busy}>Create group</button>
      </form>
      <ErrorBox error={error || list.error} />
      <datalist id="usernames">{(users.data || []).map((u) => <option key={u} value={u} />)}</datalist>
      {list.data === undefined ? (!list.error && <p className="muted">Loading…</p>)
        : groups.length === 0 ? <p className="muted">No groups.</p> : (
          <table className="grid groups">
            <thead><tr><th>Group</th><th>Members</th><th>Add a member</th><th /></tr></thead>
            <tbody>{groups.map((g) => (
              <GroupRow key={g.name} group={g} busy={busy}
                onAdd={(u, done) => run(() => usersApi.addMember(g.name, u), done)}
                onRemove={(u) => run(() => usersApi.removeMember(g.name, u))}
                onDelete={() => { if (window.confirm(`Delete group "${g.name}"? Its members lose its grants.`)) run(() => usersApi.deleteGroup(g.name)); }} />
            ))}</tbody>
          </table>
        )}
    </section>
  );
}

interface GroupRowProps {
  group: Group; busy: boolean; onAdd: (u: string, done: () => void) => void; onRemove: (u: string) => void; onDelete: () => void;
}

function GroupRow({ group: g, busy, onAdd, onRemove, onDelete }: GroupRowProps) {
  const [member, setMember] = useState('');
  const members = [...(g.members || [])].sort();
  return (
    <tr data-group={g.name}>
      <td>{g.name}</td>
      <td>{members.length === 0 ? <span className="muted">none</span> : members.map((m) => (
        <span key={m} className="chip alias">{m}
          <button type="button" className="link" aria-label={`Remove ${m} from ${g.name}`} disabled={busy} onClick={() => onRemove(m)}>×</button>
        </span>))}</td>
      <td>
        <form className="inline-form" onSubmit={(e) => { e.preventDefault(); if (member.trim()) onAdd(member.trim(), () => setMember('')); }}>
          <input aria-label={`Add member to ${g.name}`} placeholder="username" list="usernames" value={member}
            onChange={(e) => setMember(e.target.value)} />
          <button type="submit" disabled={busy || !member.trim()}>Add</button>
        </form>
      </td>
      <td className="actions">
        <button type="button" className="danger" aria-label={`Delete group ${g.name}`} disabled={busy} onClick={onDelete}>Delete</button>
      </td>
    </tr>
  );
}

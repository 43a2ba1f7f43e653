import { useEffect, useState } from 'react';
import { errorMessage, sqlString } from '../api/http';
import { api } from '../api/tracking';
import { fmtTime } from '../format';
import { href, navigate } from '../router';
import { ErrorBox } from '../components/Common';
import { useLoad } from '../components/useLoad';

export function ExperimentsPage({ params }: { params: URLSearchParams }) {
  const q = params.get('q') || '';
  const view = params.get('view') || 'ACTIVE_ONLY';
  const [search, setSearch] = useState(q);
  const [newName, setNewName] = useState('');
  const [editing, setEditing] = useState<{ id: string; name: string } | null>(null);
  const [picked, setPicked] = useState<string[]>([]);

  const { data, error, setError, reload } = useLoad(() => {
    const filter = q ? `name ILIKE ${sqlString(`%${q}%`)}` : '';
    return api.searchExperiments(filter, view).then((r) => r.experiments || []);
  }, [q, view]);
  const items = data ?? null;
  // experiments that left the list (deleted, filtered out) leave the selection too
  useEffect(() => {
    if (data) setPicked((p) => p.filter((id) => data.some((e) => e.experiment_id === id)));
  }, [data]);

  const toggle = (id: string) => setPicked((p) => (p.includes(id) ? p.filter((x) => x !== id) : [...p, id]));
  const act = (p: Promise<unknown>) => p.then(reload).catch((e) => setError(errorMessage(e)));

  return (
    <div className="page">
      <h1>Experiments</h1>
      <div className="toolbar">
        <form onSubmit={(e) => { e.preventDefault(); navigate('/', { q: search, view }); }}>
          <input aria-label="Search experiments" placeholder="Search experiments by name" value={search}
            onChange={(e) => setSearch(e.target.value)} />
          <button type="submit">Search</button>
        </form>
        <select aria-label="Lifecycle" value={view} onChange={(e) => navigate('/', { q, view: e.target.value })}>
          <option value="ACTIVE_ONLY">Active</option>
          <option value="DELETED_ONLY">Deleted</option>
          <option value="ALL">All</option>
        </select>
        <form onSubmit={(e) => {
          e.preventDefault();
          if (newName.trim()) act(api.createExperiment(newName.trim()).then(() => setNewName('')));
        }}>
          <input aria-label="New experiment name" placeholder="New experiment name" value={newName}
            onChange={(e) => setNewName(e.target.value)} />
          <button type="submit">Create</button>
        </form>
      </div>
      <div className="toolbar">
        <button disabled={!picked.length} onClick={() => navigate(`/experiments/${picked.join(',')}`)}>
          {picked.length > 1 ? `Show runs of ${picked.length} experiments` : 'Show runs'}
        </button>
        {picked.length > 0 && <span className="muted" data-testid="picked-count">{picked.length} selected</span>}
        {picked.length > 0 && <button onClick={() => setPicked([])}>Clear selection</button>}
      </div>
      <ErrorBox error={error} />
      {items === null ? <p className="muted">Loading…</p> : items.length === 0 ? <p className="muted">No experiments.</p> : (
        <table className="grid experiments">
          <thead><tr><th className="pick">
            <input type="checkbox" aria-label="Select all experiments" checked={items.length > 0 && picked.length === items.length}
              onChange={(ev) => setPicked(ev.target.checked ? items.map((e) => e.experiment_id) : [])} />
          </th><th>Name</th><th>ID</th><th>Created</th><th>Last update</th><th>State</th><th /></tr></thead>
          <tbody>
            {items.map((e) => (
              <tr key={e.experiment_id} data-experiment={e.name} className={picked.includes(e.experiment_id) ? 'picked' : ''}>
                <td className="pick"><input type="checkbox" aria-label={`Select experiment ${e.name}`}
                  checked={picked.includes(e.experiment_id)} onChange={() => toggle(e.experiment_id)} /></td>
                <td>
                  {editing && editing.id === e.experiment_id ? (
                    <form onSubmit={(ev) => {
                      ev.preventDefault();
                      act(api.renameExperiment(e.experiment_id, editing.name).then(() => setEditing(null)));
                    }}>
                      <input aria-label="Rename" autoFocus value={editing.name}
                        onChange={(ev) => setEditing({ id: e.experiment_id, name: ev.target.value })} />
                      <button type="submit">Save</button>
                      <button type="button" onClick={() => setEditing(null)}>Cancel</button>
                    </form>
                  ) : <a href={href(`/experiments/${e.experiment_id}`)}>{e.name}</a>}
                </td>
                <td>{e.experiment_id}</td>
                <td>{fmtTime(e.creation_time)}</td>
                <td>{fmtTime(e.last_update_time)}</td>
                <td>{e.lifecycle_stage}</td>
                <td className="actions">
                  <button onClick={() => setEditing({ id: e.experiment_id, name: e.name })}>Rename</button>
                  {e.lifecycle_stage === 'deleted'
                    ? <button onClick={() => act(api.restoreExperiment(e.experiment_id))}>Restore</button>
                    : <button className="danger" onClick={() => {
                        if (window.confirm(`Delete experiment "${e.name}"?`)) act(api.deleteExperiment(e.experiment_id));
                      }}>Delete</button>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

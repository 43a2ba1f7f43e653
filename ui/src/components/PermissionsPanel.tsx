// Who may do what on one experiment or registered model: user and group grants with a permission each, a form to
// grant another, and the default for everyone else. Only for those who MANAGE the resource: the list answers 403 to
// everyone else, and then there is no panel at all (nor when the server runs without authentication).
import { FormEvent, useState } from 'react';
import { Grant, permissionsApi, PERMISSIONS, ResourceType } from '../api/auth';
import { ApiError } from '../api/http';
import { ErrorBox } from './Common';
import { useAction } from './useAction';
import { useLoad } from './useLoad';
import { useAuth } from './useSession';

export const PERMISSION_HELP: Record<string, string> = {
  READ: 'view', USE: 'view and use', EDIT: 'view and change', MANAGE: 'change, delete and grant access',
  NO_PERMISSIONS: 'no access',
};

export interface PermissionsPanelProps {
  resourceType: ResourceType;
  /** An experiment id, or a registered model's name. */
  resourceId: string;
  /** A `<details>` that opens on demand (the runs page) instead of a section with a heading (the model page). */
  collapsible?: boolean;
}

function PermissionSelect({ label, value, disabled, onChange }:
  { label: string; value: string; disabled?: boolean; onChange: (p: string) => void }) {
  return (
    <select aria-label={label} value={value} disabled={disabled} onChange={(e) => onChange(e.target.value)}>
      {PERMISSIONS.map((p) => <option key={p} value={p}>{p}</option>)}
    </select>
  );
}

export function PermissionsPanel({ resourceType, resourceId, collapsible = false }: PermissionsPanelProps) {
  const { config } = useAuth();
  // null: no panel for this user (403: not a manager; 401: signed out; 404: no such resource or endpoint)
  const list = useLoad(() => (config.auth_enabled ? permissionsApi.list(resourceType, resourceId).catch((e) => {
    if (e instanceof ApiError && [401, 403, 404].includes(e.status || 0)) return null;
    throw e;
  }) : undefined), [config.auth_enabled, resourceType, resourceId]);
  const { busy, error, setError, run } = useAction(list.reload);
  const [kind, setKind] = useState<Grant['kind']>('user');
  const [name, setName] = useState('');
  const [permission, setPermission] = useState('READ');

  if (!config.auth_enabled || list.data === null) return null;
  if (list.data === undefined) return list.error ? <ErrorBox error={`Could not load the permissions: ${list.error}`} /> : null;
  const { grants, defaultPermission } = list.data;
  const grant = (e: FormEvent) => {
    e.preventDefault();
    const who = name.trim();
    if (!who) { setError(`Name the ${kind} to grant ${permission} to.`); return; }
    run(() => permissionsApi.set(resourceType, resourceId, { kind, name: who }, permission), () => setName(''));
  };
  const sorted = [...grants].sort((a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
  const body = (
    <div className="permissions" data-testid="permissions">
      <p className="muted small">Everyone else: <strong data-testid="default-permission">{defaultPermission}</strong>
        {PERMISSION_HELP[defaultPermission] && ` (${PERMISSION_HELP[defaultPermission]})`}. Admins may do everything.</p>
      {sorted.length === 0 ? <p className="muted">No one has been granted access yet.</p> : (
        <table className="grid grants">
          <thead><tr><th>User or group</th><th>Permission</th><th /></tr></thead>
          <tbody>{sorted.map((g) => (
            <tr key={`${g.kind}:${g.name}`} data-grant={`${g.kind}:${g.name}`}>
              <td>{g.kind === 'group' && <span className="chip">group</span>}{g.name}</td>
              <td><PermissionSelect label={`Permission of ${g.kind} ${g.name}`} value={g.permission} disabled={busy}
                onChange={(p) => run(() => permissionsApi.set(resourceType, resourceId, g, p))} /></td>
              <td className="actions">
                <button type="button" className="danger" aria-label={`Remove ${g.kind} ${g.name}`} disabled={busy}
                  onClick={() => run(() => permissionsApi.remove(resourceType, resourceId, g))}>Remove</button>
              </td>
            </tr>
          ))}</tbody>
        </table>
      )}
      <form className="toolbar" onSubmit={grant} aria-label="Add a user or group">
        <select aria-label="Grant to" value={kind} onChange={(e) => setKind(e.target.value as Grant['kind'])}>
          <option value="user">User</option><option value="group">Group</option>
        </select>
        <input aria-label="User or group name" placeholder={kind === 'group' ? 'group name' : 'username'} value={name}
          onChange={(e) => setName(e.target.value)} />
        <PermissionSelect label="Permission to grant" value={permission} onChange={setPermission} />
        <button type="submit" disabled={busy}>Grant</button>
      </form>
      <ErrorBox error={error} />
    </div>
  );
  if (collapsible) {
    return (
      <details className="permissions-panel">
        <summary>Permissions <span className="muted small">({sorted.length} {sorted.length === 1 ? 'grant' : 'grants'},
          everyone else {defaultPermission})</span></summary>
        {body}
      </details>
    );
  }
  return <section className="permissions-panel"><h3>Permissions</h3>{body}</section>;
}

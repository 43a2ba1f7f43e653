// The admin pages (admins only): users, groups, everyone's access tokens and the audit log, one tab each.
import { navigate } from '../router';
import { Forbidden } from '../components/Common';
import { AuditLog } from '../components/admin/AuditLog';
import { GroupsAdmin } from '../components/admin/GroupsAdmin';
import { TokensAdmin } from '../components/admin/TokensAdmin';
import { UsersAdmin } from '../components/admin/UsersAdmin';
import { useAuth } from '../components/useSession';

const TABS = [['users', 'Users'], ['groups', 'Groups'], ['tokens', 'Tokens'], ['audit', 'Audit log']] as const;

export function AdminPage({ params }: { params: URLSearchParams }) {
  const { config, user } = useAuth();
  if (!config.auth_enabled) {
    return <div className="page"><h1>Admin</h1><p className="muted">Authentication is off on this server: there are no users to manage.</p></div>;
  }
  if (!user?.is_admin) {
    return <div className="page"><h1>Admin</h1><Forbidden message="You do not have permission to open the admin pages: they are for admins only."
      hint="An admin can make you one." /></div>;
  }
  const tab = TABS.some(([id]) => id === params.get('tab')) ? params.get('tab')! : 'users';
  return (
    <div className="page admin">
      <h1>Admin</h1>
      <nav className="tabs" role="tablist">
        {TABS.map(([id, label]) => (
          <button key={id} type="button" role="tab" aria-selected={tab === id} className={tab === id ? 'active' : ''}
            onClick={() => navigate('/admin', { tab: id === 'users' ? undefined : id }, true)}>{label}</button>
        ))}
      </nav>
      {tab === 'users' && <UsersAdmin me={user.username} />}
      {tab === 'groups' && <GroupsAdmin />}
      {tab === 'tokens' && <TokensAdmin />}
      {tab === 'audit' && <AuditLog />}
    </div>
  );
}

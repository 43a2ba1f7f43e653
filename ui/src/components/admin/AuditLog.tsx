// Admin: the audit log, newest first: every write that reached the API (who, what, the answer's status, from where),
// filtered by user, a page at a time ("Load more").
import { FormEvent, useEffect, useRef, useState } from 'react';
import { auditApi, AuditEvent, toMs } from '../../api/auth';
import { fmtTime } from '../../format';
import { ErrorBox } from '../Common';
import { useAction } from '../useAction';
import { useLoad } from '../useLoad';

export const AUDIT_PAGE = 50;

/** An event's target as text: a string as is, anything else as JSON. */
export function targetText(target: unknown): string {
  if (target === undefined || target === null || target === '') return '';
  return typeof target === 'string' ? target : JSON.stringify(target);
}

export function AuditLog({ pageSize = AUDIT_PAGE }: { pageSize?: number }) {
  const [filter, setFilter] = useState('');
  const [username, setUsername] = useState('');
  const first = useLoad(() => auditApi.search(username, undefined, pageSize), [username, pageSize]);
  // later pages, appended; dropped when the first page is loaded again (another filter, a refresh)
  const [more, setMore] = useState<{ events: AuditEvent[]; next?: string } | null>(null);
  const generation = useRef(0);
  useEffect(() => { generation.current += 1; setMore(null); }, [first.data]);
  const { busy, error, run } = useAction();

  const events = [...(first.data?.events || []), ...(more?.events || [])];
  const next = more ? more.next : first.data?.next_page_token || undefined;
  const loadMore = () => {
    const g = generation.current;
    run(() => auditApi.search(username, next, pageSize).then((r) => {
      if (g !== generation.current) return;
      setMore((m) => ({ events: [...(m?.events || []), ...(r.events || [])], next: r.next_page_token || undefined }));
    }));
  };
  const apply = (e: FormEvent) => { e.preventDefault(); if (filter.trim() === username) first.reload(); else setUsername(filter.trim()); };
  return (
    <section aria-label="Audit log">
      <form className="toolbar" onSubmit={apply} aria-label="Filter the audit log">
        <input aria-label="Filter by user" placeholder="Username" value={filter} onChange={(e) => setFilter(e.target.value)} />
        <button type="submit">{filter.trim() === username ? 'Refresh' : 'Filter'}</button>
        {username && <button type="button" onClick={() => { setFilter(''); setUsername(''); }}>Clear</button>}
        <span className="muted small" data-testid="audit-count">{events.length}{next ? '+' : ''} events</span>
      </form>
      <ErrorBox error={first.error || error} />
      {first.data === undefined ? (!first.error && <p className="muted">Loading…</p>)
        : events.length === 0 ? <p className="muted">No events{username ? ` for ${username}` : ''}.</p> : (
          <table className="grid audit">
            <thead><tr><th>Time</th><th>User</th><th>Action</th><th>Target</th><th>Request</th><th>Status</th><th>Address</th></tr></thead>
            <tbody>{events.map((ev, i) => (
              <tr key={`${ev.id}-${i}`} data-event={String(ev.id)}>
                <td className="nowrap">{fmtTime(toMs(ev.timestamp))}</td>
                <td>{ev.username || <span className="muted">anonymous</span>}</td>
                <td>{ev.action || ''}</td>
                <td className="mono ellipsis" title={targetText(ev.target)}>{targetText(ev.target)}</td>
                <td className="mono"><span className="muted">{ev.method}</span> {ev.path}</td>
                <td className={ev.status >= 400 ? 'failed' : ''}>{ev.status}</td>
                <td className="mono">{ev.address || ''}</td>
              </tr>
            ))}</tbody>
          </table>
        )}
      {next && <div className="toolbar pager"><button type="button" disabled={busy} onClick={loadMore}>{busy ? 'Loading…' : 'Load more'}</button></div>}
    </section>
  );
}

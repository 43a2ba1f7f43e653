export function ErrorBox({ error }: { error: string | null }) {
  return error ? <div className="error" role="alert">{error}</div> : null;
}

export function Status({ status }: { status: string }) {
  return <span className={`status status-${status.toLowerCase()}`}>{status}</span>;
}

/** A 403 in place of a page's content: what was refused, and whom to ask. */
export function Forbidden({ message, hint = 'Ask an admin, or someone who manages it, for access.' }:
  { message?: string | null; hint?: string }) {
  return (
    <div className="forbidden" role="alert" data-testid="forbidden">
      <h2>Permission denied</h2>
      <p>{message || 'You do not have permission to view this page.'}</p>
      <p className="muted small">{hint}</p>
    </div>
  );
}

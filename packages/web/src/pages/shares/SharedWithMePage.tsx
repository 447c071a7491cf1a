import { useEffect, useMemo, useState } from 'react';
import { type ApiError, toApiError } from '../../api/client.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { usePageTitle } from '../../hooks/usePageTitle.js';
import { formatDateTime } from '../../lib/format.js';
import { useApp } from '../../session.js';
import { SharesApi, type SharedWithMeModel } from '../../api/shares.js';

/** `/hub/shares/with-me`: what others share with me, and where my sandbox shows it (read-only). */
export function SharedWithMePage() {
  usePageTitle('Shared with me');
  const { api } = useApp();
  const shares = useMemo(() => new SharesApi(api.client), [api]);
  const [items, setItems] = useState<SharedWithMeModel[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  useEffect(() => { shares.withMe().then(setItems, (e) => setError(toApiError(e))); }, [shares]);
  return (
    <section className="page page--wide">
      <h1>Shared with me</h1>
      <p className="lead">Files and folders others let you read. Your server shows them read-only under <code>/shared</code>; copy what you need into your home.</p>
      <ErrorNote error={error} />
      {items === null ? <p className="muted">Loading…</p> : items.length === 0 ? <p className="muted">Nothing is shared with you.</p> : (
        <div className="table-wrap">
          <table className="table">
            <thead><tr><th>Name</th><th>Owner</th><th>Path in your server</th><th>Since</th><th>Until</th></tr></thead>
            <tbody>
              {items.map((s) => (
                <tr key={s.id} data-share={s.id}>
                  <td className="cell-strong">{s.name}{s.kind === 'folder' ? '/' : ''}</td>
                  <td>{s.owner}</td>
                  <td><code>{s.sandbox_path}</code>{s.mounted ? null : <span className="tag tag--quiet">not mounted</span>}</td>
                  <td className="nowrap small">{s.since ? formatDateTime(s.since) : ''}</td>
                  <td className="nowrap small">{s.expires_at ? formatDateTime(s.expires_at) : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

import { useCallback, useEffect, useState } from 'react';
import { type ApiError, toApiError } from '../../api/client.js';
import type { AccessRequestModel } from '../../api/catalog.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { useAction } from '../../hooks/useAction.js';
import { useCatalogApi } from '../../hooks/useCatalogApi.js';
import { usePageTitle } from '../../hooks/usePageTitle.js';
import { formatDateTime } from '../../lib/format.js';

/** `/hub/catalog/requests`: pending access requests of the groups the user administers, to approve or reject. */
export function RequestsPage() {
  usePageTitle('Access requests');
  const catalog = useCatalogApi();
  const [requests, setRequests] = useState<AccessRequestModel[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const decide = useAction();

  const load = useCallback(() => catalog.pendingToDecide().then(setRequests, (e) => setError(toApiError(e))), [catalog]);
  useEffect(() => {
    void load();
  }, [load]);

  const act = (r: AccessRequestModel, d: 'approve' | 'reject') =>
    void decide.run(async () => {
      await catalog.decide(r.id, d);
      await load();
    });

  return (
    <section className="page page--wide">
      <h1>Access requests</h1>
      <p className="lead">Requests to join the groups you administer.</p>
      <ErrorNote error={error} />
      <ErrorNote error={decide.error} />
      {requests === null ? (
        <p className="muted">Loading…</p>
      ) : requests.length === 0 ? (
        <p className="muted">No pending requests.</p>
      ) : (
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th>User</th>
                <th>Group</th>
                <th>Licence</th>
                <th>Purpose</th>
                <th>Requested</th>
                <th>
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {requests.map((r) => (
                <tr key={r.id} data-request={r.id}>
                  <td className="cell-strong">{r.user}</td>
                  <td>
                    {r.group}
                    {r.role !== 'user' ? <span className="tag tag--quiet">{r.role}</span> : null}
                  </td>
                  <td className="small">{r.licence ? `${r.licence.id}${r.licence.accepted ? ' (accepted)' : ''}` : '—'}</td>
                  <td className="cell-wrap small">{r.purpose ?? ''}</td>
                  <td className="nowrap small">{r.created ? formatDateTime(r.created) : ''}</td>
                  <td className="cell-actions">
                    <button type="button" className="button button--small button--primary" disabled={decide.busy} onClick={() => act(r, 'approve')}
                      aria-label={`Approve ${r.user} for ${r.group}`}>
                      Approve
                    </button>{' '}
                    <button type="button" className="button button--small button--danger-quiet" disabled={decide.busy} onClick={() => act(r, 'reject')}
                      aria-label={`Reject ${r.user} for ${r.group}`}>
                      Reject
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { type ApiError, toApiError } from '../api/client.js';
import type { TokenModel } from '../api/hub.js';
import { ConfirmButton } from '../components/ConfirmButton.js';
import { CopyField } from '../components/CopyField.js';
import { ErrorNote } from '../components/ErrorNote.js';
import { useAction } from '../hooks/useAction.js';
import { usePageTitle } from '../hooks/usePageTitle.js';
import { formatDate, formatDateTime, formatRelativeTime } from '../lib/format.js';
import { useApp } from '../session.js';

const HOUR = 3600;
const EXPIRY_CHOICES: ReadonlyArray<{ label: string; seconds: number | null }> = [
  { label: 'Never', seconds: null },
  { label: '1 hour', seconds: HOUR },
  { label: '1 day', seconds: 24 * HOUR },
  { label: '1 week', seconds: 7 * 24 * HOUR },
  { label: '30 days', seconds: 30 * 24 * HOUR },
  { label: '1 year', seconds: 365 * 24 * HOUR },
];

/** `/hub/token`: request an API token (shown once) and revoke existing ones. */
export function TokenPage() {
  usePageTitle('API tokens');
  const { session, api } = useApp();
  const me = session.user;
  const [tokens, setTokens] = useState<TokenModel[] | null>(null);
  const [loadError, setLoadError] = useState<ApiError | null>(null);
  const [note, setNote] = useState('');
  const [expiry, setExpiry] = useState('0');
  const [created, setCreated] = useState<string | null>(null);
  const create = useAction();

  const refresh = useCallback(async () => {
    try {
      setTokens(await api.listTokens(me));
      setLoadError(null);
    } catch (err) {
      setLoadError(toApiError(err));
    }
  }, [api, me]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  const onCreate = (e: FormEvent) => {
    e.preventDefault();
    void create.run(async () => {
      const seconds = EXPIRY_CHOICES[Number(expiry)]?.seconds ?? null;
      const t = await api.createToken(me, note.trim() || 'Requested from the token page', seconds);
      setCreated(t.token);
      setNote('');
      await refresh();
    });
  };

  return (
    <section className="page">
      <h1>API tokens</h1>
      <p className="lead">
        A token lets scripts and tools act as you on the hub API, e.g. <code>Authorization: token &lt;token&gt;</code>. Keep it secret, like a
        password.
      </p>

      <form className="card form" onSubmit={onCreate} aria-labelledby="new-token-heading">
        <h2 id="new-token-heading">Request a new token</h2>
        <div className="form__row">
          <div className="field">
            <label htmlFor="token-note">Note</label>
            <input id="token-note" className="input" value={note} maxLength={200} onChange={(e) => setNote(e.target.value)} placeholder="What is it for? e.g. download script" />
          </div>
          <div className="field field--narrow">
            <label htmlFor="token-expiry">Expires</label>
            <select id="token-expiry" className="input" value={expiry} onChange={(e) => setExpiry(e.target.value)}>
              {EXPIRY_CHOICES.map((c, i) => (
                <option key={c.label} value={String(i)}>
                  {c.seconds === null ? 'Never' : `In ${c.label}`}
                </option>
              ))}
            </select>
          </div>
          <button type="submit" className="button button--primary" disabled={create.busy}>
            {create.busy ? 'Requesting…' : 'Request token'}
          </button>
        </div>
        <ErrorNote error={create.error} onDismiss={create.clear} />
        {created ? (
          <div className="new-token" role="region" aria-label="Your new token">
            <p>
              <strong>Your new token.</strong> Copy it now: it is not shown again.
            </p>
            <CopyField value={created} label="New API token" />
            <button type="button" className="button button--quiet button--small" onClick={() => setCreated(null)}>
              I have copied it; hide it
            </button>
          </div>
        ) : null}
      </form>

      <h2>Your tokens</h2>
      <ErrorNote error={loadError} />
      {tokens === null ? (
        loadError ? null : <p className="muted">Loading…</p>
      ) : tokens.length === 0 ? (
        <p className="muted">You have no tokens.</p>
      ) : (
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Note</th>
                <th scope="col">Used by</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">Expires</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {tokens.map((t) => (
                <TokenRow key={t.id} token={t} onRevoked={refresh} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function TokenRow({ token, onRevoked }: { token: TokenModel; onRevoked(): Promise<void> }) {
  const { session, api } = useApp();
  const revoke = useAction();
  const now = Date.now();
  const label = token.note || token.id;
  return (
    <>
      <tr>
        <th scope="row" className="cell-strong cell-wrap">
          {token.note || <span className="muted">(no note)</span>}
        </th>
        <td className="cell-wrap">{token.oauth_client && token.oauth_client !== 'JupyterHub' ? token.oauth_client : token.session_id ? 'Browser session' : 'API'}</td>
        <td title={formatDateTime(token.created)}>{formatRelativeTime(token.created, now)}</td>
        <td title={token.last_activity ? formatDateTime(token.last_activity) : undefined}>{formatRelativeTime(token.last_activity, now)}</td>
        <td title={token.expires_at ? formatDateTime(token.expires_at) : undefined}>{token.expires_at ? formatDate(token.expires_at) : 'Never'}</td>
        <td className="cell-actions">
          <div className="actions actions--single">
            <ConfirmButton
              label="Revoke"
              ariaLabel={`Revoke token ${label}`}
              question="Revoke this token?"
              confirmLabel="Yes, revoke"
              busy={revoke.busy}
              onConfirm={() =>
                void revoke.run(async () => {
                  await api.revokeToken(session.user, token.id);
                  await onRevoked();
                })
              }
            />
          </div>
        </td>
      </tr>
      {revoke.error ? (
        <tr className="row-error">
          <td colSpan={6}>
            <ErrorNote error={revoke.error} onDismiss={revoke.clear} />
          </td>
        </tr>
      ) : null}
    </>
  );
}

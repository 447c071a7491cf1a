import { useCallback, useEffect, useState } from 'react';
import { type ApiError, toApiError } from '../api/client.js';
import { progressUrl } from '../api/hub.js';
import { ErrorNote } from '../components/ErrorNote.js';
import { ProgressPanel } from '../components/ProgressPanel.js';
import { StateBadge } from '../components/StateBadge.js';
import { StorageUsage } from '../components/StorageUsage.js';
import { useAction } from '../hooks/useAction.js';
import { usePageTitle } from '../hooks/usePageTitle.js';
import { useSpawnProgress } from '../hooks/useSpawnProgress.js';
import { formatBytes, formatCores, formatDateTime, formatRelativeTime } from '../lib/format.js';
import { serverPath } from '../lib/routes.js';
import { allowedActions, type ServerStatus } from '../lib/server-state.js';
import { useApp } from '../session.js';

const STOP_POLL_MS = 1500;

/** `/hub/home`: the user's default server, its limits, and Start / Stop / Open. */
export function HomePage() {
  usePageTitle('Home');
  const { session, api } = useApp();
  const me = session.user;
  const [status, setStatus] = useState<ServerStatus | null>(null);
  const [loadError, setLoadError] = useState<ApiError | null>(null);
  const start = useAction();
  const stop = useAction();

  const refresh = useCallback(async () => {
    try {
      setStatus(await api.serverStatus(me));
      setLoadError(null);
    } catch (err) {
      setLoadError(toApiError(err));
    }
  }, [api, me]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  const state = status?.state;
  const { view, streamErrors } = useSpawnProgress(state === 'starting' ? progressUrl(me, '') : null);

  useEffect(() => {
    if (view.outcome !== 'pending' || streamErrors > 0) void refresh();
  }, [view.outcome, streamErrors, refresh]);

  useEffect(() => {
    if (state !== 'stopping') return;
    const t = setInterval(() => void refresh(), STOP_POLL_MS);
    return () => clearInterval(t);
  }, [state, refresh]);

  const onStart = () =>
    start.run(async () => {
      stop.clear();
      await api.startServer(me);
      setStatus((s) => (s ? { ...s, state: 'starting', failure: null } : s));
      await refresh();
    });
  const onStop = () =>
    stop.run(async () => {
      start.clear();
      const code = await api.stopServer(me);
      if (code === 202) setStatus((s) => (s ? { ...s, state: 'stopping' } : s));
      await refresh();
    });

  if (!status) {
    return (
      <section className="page">
        <h1>Your server</h1>
        {loadError ? <ErrorNote error={loadError} /> : <p className="muted">Loading…</p>}
        {loadError ? (
          <button type="button" className="button" onClick={() => void refresh()}>
            Try again
          </button>
        ) : null}
      </section>
    );
  }

  const allowed = allowedActions(status.state);
  const openUrl = status.url ?? serverPath(me, '');
  return (
    <section className="page">
      <h1>Your server</h1>
      <div className="card server-card">
        <div className="server-card__head">
          <div>
            <p className="eyebrow">Default server</p>
            <p className="server-card__state">
              <StateBadge state={status.state} />
              {status.state === 'running' && status.startedAt ? (
                <span className="muted">since {formatDateTime(status.startedAt)}</span>
              ) : null}
            </p>
          </div>
          <div className="button-row">
            {allowed.open ? (
              <a className="button button--primary" href={openUrl}>
                Open
                <span className="visually-hidden"> my server</span>
              </a>
            ) : null}
            {allowed.start ? (
              <button type="button" className="button button--primary" onClick={onStart} disabled={start.busy}>
                {start.busy ? 'Starting…' : status.state === 'failed' ? 'Start again' : 'Start'}
              </button>
            ) : null}
            {allowed.stop ? (
              <button type="button" className="button" onClick={onStop} disabled={stop.busy}>
                {stop.busy ? 'Stopping…' : status.state === 'starting' ? 'Cancel start' : 'Stop'}
              </button>
            ) : null}
          </div>
        </div>
        <ErrorNote error={start.error} onDismiss={start.clear} />
        <ErrorNote error={stop.error} onDismiss={stop.clear} />
        {loadError ? <ErrorNote error={loadError} /> : null}

        {status.state === 'starting' ? <ProgressPanel view={view} label="Server start progress" /> : null}
        {status.state === 'stopping' ? <p className="muted">Stopping your server; your files are kept.</p> : null}
        {status.state === 'running' ? (
          <p className="hint">
            Opens your Jupyter server at <code>{openUrl}</code> (JupyterLab, unless your administrator chose the classic
            Notebook): notebooks, terminals and a text editor, next to the climate data sets.
          </p>
        ) : null}
        {status.state === 'running' && status.dataOutdated ? (
          <p className="hint" role="status" data-testid="data-outdated">
            Your access to data sets changed since this server started: stop and start it again to see the data you may read now.
          </p>
        ) : null}
        {status.state === 'stopped' ? <p className="hint">Your server is not running. Start it to work with notebooks; your files are kept between sessions.</p> : null}
        {status.state === 'failed' ? <FailurePanel status={status} fallback={view.outcome === 'failed' ? view.message : null} /> : null}
      </div>

      <h2>Resources</h2>
      <dl className="card facts">
        <div>
          <dt>Memory limit</dt>
          <dd>{formatBytes(status.limits.memoryLimitBytes)}</dd>
        </div>
        <div>
          <dt>CPU limit</dt>
          <dd>{formatCores(status.limits.cpuLimitCores)}</dd>
        </div>
        <div>
          <dt>Last activity</dt>
          <dd>{formatRelativeTime(status.lastActivity, Date.now())}</dd>
        </div>
      </dl>
      <StorageUsage />
    </section>
  );
}

function FailurePanel({ status, fallback }: { status: ServerStatus; fallback: string | null }) {
  const f = status.failure;
  return (
    <div className="failure" role="status">
      <h2 className="failure__title">The last start failed</h2>
      <p>{f?.message ?? fallback ?? 'The server stopped unexpectedly.'}</p>
      {f?.action ? (
        <p>
          <strong>What to do: </strong>
          {f.action}
        </p>
      ) : null}
      {f?.code ? <p className="muted small">Error code: {f.code}</p> : null}
    </div>
  );
}

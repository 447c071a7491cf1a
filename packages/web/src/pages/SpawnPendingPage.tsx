import { useEffect, useMemo, useState } from 'react';
import { ApiError } from '../api/client.js';
import { progressUrl } from '../api/hub.js';
import { ErrorNote } from '../components/ErrorNote.js';
import { Link } from '../components/Link.js';
import { ProgressPanel } from '../components/ProgressPanel.js';
import { useAction } from '../hooks/useAction.js';
import { usePageTitle } from '../hooks/usePageTitle.js';
import { useSpawnProgress } from '../hooks/useSpawnProgress.js';
import { safeNext, serverPath } from '../lib/routes.js';
import type { ServerStatus } from '../lib/server-state.js';
import { useApp } from '../session.js';

/**
 * `/hub/spawn-pending/<user>[/<server>]`: follows the start of a server and goes to it
 * (or to `?next=` under its prefix) once it is ready.
 */
export function SpawnPendingPage({ user, server }: { user: string; server: string }) {
  const { session, api } = useApp();
  const whose = user === session.user ? 'Your server' : `${user}'s server`;
  usePageTitle(`Starting ${whose.toLowerCase()}`);
  const next = useMemo(() => safeNext(new URLSearchParams(window.location.search).get('next'), user), [user]);
  // Bumped after "Start again" so the progress view starts from scratch.
  const [attempt, setAttempt] = useState(0);
  const [following, setFollowing] = useState(true);
  const [status, setStatus] = useState<ServerStatus | null>(null);
  const retry = useAction();
  const { view, streamErrors } = useSpawnProgress(following ? progressUrl(user, server) : null, attempt);

  useEffect(() => {
    if (view.outcome === 'ready') window.location.replace(next ?? view.url ?? serverPath(user, server));
  }, [view.outcome, view.url, next, user, server]);

  // Failed, or the stream was refused (400 "not starting") or broke: ask what the server
  // is doing. The status extension covers the default server only.
  useEffect(() => {
    if (streamErrors === 0 && view.outcome !== 'failed') return;
    if (server) {
      setFollowing(false);
      return;
    }
    let cancelled = false;
    api.serverStatus(user).then(
      (s) => {
        if (cancelled) return;
        setStatus(s);
        if (s.state === 'running') window.location.replace(next ?? s.url ?? serverPath(user, server));
        else if (s.state !== 'starting') setFollowing(false);
      },
      () => {
        if (!cancelled) setFollowing(false);
      },
    );
    return () => {
      cancelled = true;
    };
  }, [streamErrors, view.outcome, api, user, server, next]);

  const onRetry = () =>
    retry.run(async () => {
      try {
        await api.startServer(user, server);
      } catch (err) {
        if (!(err instanceof ApiError && err.code === 'SERVER_ALREADY_RUNNING')) throw err;
      }
      setStatus(null);
      setAttempt((a) => a + 1);
      setFollowing(true);
    });

  const inProgress = following && view.outcome !== 'failed';
  const failure = status?.failure;
  const reason =
    failure?.message ??
    (view.outcome === 'failed' ? view.message : status?.state === 'stopped' ? 'The server is not running and is not starting.' : 'The progress of this server cannot be followed.');
  return (
    <section className="page page--narrow">
      <h1>{inProgress ? `${whose} is starting` : `${whose} did not start`}</h1>
      <div className="card">
        {inProgress ? (
          <>
            <ProgressPanel view={view} label="Server start progress" />
            <p className="hint">You are taken to the server as soon as it is ready. This usually takes a few seconds.</p>
          </>
        ) : (
          <>
            <div className="failure" role="status">
              <p>{reason}</p>
              {failure?.action ? (
                <p>
                  <strong>What to do: </strong>
                  {failure.action}
                </p>
              ) : null}
              {failure?.code ? <p className="muted small">Error code: {failure.code}</p> : null}
            </div>
            <div className="button-row">
              <button type="button" className="button button--primary" onClick={onRetry} disabled={retry.busy}>
                {retry.busy ? 'Starting…' : 'Start again'}
              </button>
              <Link className="button" href="/hub/home">
                Go to the home page
              </Link>
            </div>
          </>
        )}
        <ErrorNote error={retry.error} />
      </div>
    </section>
  );
}

import { useEffect, useState } from 'react';
import { ApiError } from '../api/client.js';
import { ErrorNote } from '../components/ErrorNote.js';
import { Link } from '../components/Link.js';
import { useAction } from '../hooks/useAction.js';
import { usePageTitle } from '../hooks/usePageTitle.js';
import { spawnPendingPath } from '../lib/routes.js';
import type { ServerStatus } from '../lib/server-state.js';
import { useApp } from '../session.js';

/**
 * `/hub/user/<name>/…` (answered with status 424 by the hub): the proxy sent the browser
 * here because the server is not running. Offers to start it and come back to `path`.
 */
export function NotRunningPage({ user, path }: { user: string; path: string }) {
  usePageTitle('Server not running');
  const { session, api, navigate } = useApp();
  const own = user === session.user;
  const [status, setStatus] = useState<ServerStatus | null>(null);
  const start = useAction();

  useEffect(() => {
    let cancelled = false;
    api.serverStatus(user).then(
      (s) => {
        if (cancelled) return;
        if (s.state === 'starting') navigate(spawnPendingPath(user, '', path), { replace: true });
        else setStatus(s);
      },
      () => undefined, // not allowed to see it, or no such user: the page still explains
    );
    return () => {
      cancelled = true;
    };
  }, [api, user, path, navigate]);

  const onStart = () =>
    start.run(async () => {
      try {
        await api.startServer(user);
      } catch (err) {
        if (!(err instanceof ApiError && err.code === 'SERVER_ALREADY_RUNNING')) throw err;
      }
      navigate(spawnPendingPath(user, '', path));
    });

  const whose = own ? 'Your server' : `The server of ${user}`;
  return (
    <section className="page page--narrow">
      <h1>{whose} is not running</h1>
      <div className="card">
        {status?.state === 'running' ? (
          <p>
            The server is running again. <a href={path}>Go back to {path}</a>.
          </p>
        ) : (
          <>
            <p>
              The page <code>{path}</code> belongs to a server that is not running{status?.state === 'stopping' ? ' (it is stopping)' : ''}. Start it
              to continue; you come back to this page once it is ready.
            </p>
            {status?.failure ? (
              <div className="failure" role="status">
                <p>{status.failure.message}</p>
                {status.failure.action ? (
                  <p>
                    <strong>What to do: </strong>
                    {status.failure.action}
                  </p>
                ) : null}
              </div>
            ) : null}
            <div className="button-row">
              <button type="button" className="button button--primary" onClick={onStart} disabled={start.busy || status?.state === 'stopping'}>
                {start.busy ? 'Starting…' : 'Start the server'}
              </button>
              <Link className="button" href="/hub/home">
                Go to the home page
              </Link>
            </div>
            <ErrorNote error={start.error} />
          </>
        )}
      </div>
    </section>
  );
}

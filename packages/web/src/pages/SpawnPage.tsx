import { useEffect, useRef } from 'react';
import { ApiError } from '../api/client.js';
import { ErrorNote } from '../components/ErrorNote.js';
import { Link } from '../components/Link.js';
import { useAction } from '../hooks/useAction.js';
import { usePageTitle } from '../hooks/usePageTitle.js';
import { serverPath, spawnPendingPath } from '../lib/routes.js';
import { useApp } from '../session.js';

/**
 * `/hub/spawn[/<user>[/<server>]]`: starts the server (as JupyterHub does for a spawn
 * page without options form), then shows its progress at `/hub/spawn-pending/…`.
 */
export function SpawnPage({ user, server }: { user: string; server: string }) {
  usePageTitle('Starting a server');
  const { api, navigate } = useApp();
  const start = useAction();
  const started = useRef(false);

  const go = () =>
    start.run(async () => {
      try {
        await api.startServer(user, server);
      } catch (err) {
        if (err instanceof ApiError && err.code === 'SERVER_ALREADY_RUNNING') {
          window.location.replace(serverPath(user, server));
          return;
        }
        throw err;
      }
      navigate(spawnPendingPath(user, server), { replace: true });
    });

  useEffect(() => {
    if (started.current) return;
    started.current = true;
    void go();
    // Once on arrival (the ref also guards against a double effect in StrictMode).
  }, []);

  return (
    <section className="page page--narrow">
      <h1>Starting {user}'s server</h1>
      <div className="card">
        {start.error ? (
          <>
            <ErrorNote error={start.error} />
            <div className="button-row">
              <button type="button" className="button button--primary" onClick={() => void go()} disabled={start.busy}>
                Try again
              </button>
              <Link className="button" href="/hub/home">
                Go to the home page
              </Link>
            </div>
          </>
        ) : (
          <p className="muted" aria-live="polite">
            Requesting the server…
          </p>
        )}
      </div>
    </section>
  );
}

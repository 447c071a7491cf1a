import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError, toApiError } from '../../api/client.js';
import type { DatasetNotebookPreview } from '../../api/catalog.js';
import { progressUrl } from '../../api/hub.js';
import { ConfirmButton } from '../../components/ConfirmButton.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { ProgressPanel } from '../../components/ProgressPanel.js';
import { useCatalogApi } from '../../hooks/useCatalogApi.js';
import { useSpawnProgress } from '../../hooks/useSpawnProgress.js';
import type { AccessState } from '../../lib/catalog.js';
import type { ServerStatus } from '../../lib/server-state.js';
import { useApp } from '../../session.js';

/** Where the one-click flow is: asking the hub to start the server, following its start, writing the notebook. */
type Phase = 'idle' | 'requesting' | 'starting' | 'writing';

/** Why the main button is disabled, or null when it may be clicked. */
function disabledReason(access: AccessState, server: ServerStatus | null, preview: DatasetNotebookPreview | null): string | null {
  if (access === 'unknown') return 'Checking your access…';
  if (access === 'request') return 'You may not read this data set yet: request access above, then open it in a notebook.';
  if (access === 'pending') return 'Your access request awaits approval; you can open the data set in a notebook once it is approved.';
  if (!preview) return 'Loading…';
  if (!preview.notebook) return 'This data set lists no files.';
  if (!server) return 'Checking your server…';
  if (server.state === 'stopping') return 'Your server is stopping; start it again on the home page.';
  return null;
}

/**
 * "Open in a notebook": one click writes the data set's notebook into the user's server
 * (starting the server first when it is not running, following its progress) and goes to
 * it. The hub writes the notebook through the server's contents API; the page shows the
 * same code with "Copy code" and a .ipynb download as secondary actions.
 */
export function OpenInNotebook({ instanceId, access }: { instanceId: string; access: AccessState }) {
  const { api, session } = useApp();
  const catalog = useCatalogApi();
  const me = session.user;
  const [preview, setPreview] = useState<DatasetNotebookPreview | null>(null);
  const [server, setServer] = useState<ServerStatus | null>(null);
  const [phase, setPhase] = useState<Phase>('idle');
  const [error, setError] = useState<ApiError | null>(null);
  const [copied, setCopied] = useState<'yes' | 'no' | null>(null);
  const writing = useRef(false);
  const { view, streamErrors } = useSpawnProgress(phase === 'starting' ? progressUrl(me, '') : null);

  useEffect(() => {
    let live = true;
    catalog.datasetNotebook(instanceId).then((p) => live && setPreview(p), (e) => live && setError(toApiError(e)));
    api.serverStatus(me).then((s) => live && setServer(s), (e) => live && setError(toApiError(e)));
    return () => {
      live = false;
    };
  }, [api, catalog, instanceId, me]);

  /** Writes the notebook into the running server and goes to it. */
  const writeAndGo = useCallback(async () => {
    if (writing.current) return;
    writing.current = true;
    setPhase('writing');
    try {
      const opened = await catalog.openInNotebook(instanceId);
      window.location.assign(opened.url);
    } catch (err) {
      setError(toApiError(err));
      setPhase('idle');
      api.serverStatus(me).then(setServer, () => undefined);
    } finally {
      writing.current = false;
    }
  }, [api, catalog, instanceId, me]);

  // Following a start: go on once it is ready; on failure (or a broken stream) ask the status.
  useEffect(() => {
    if (phase !== 'starting') return;
    if (view.outcome === 'ready') {
      void writeAndGo();
      return;
    }
    if (view.outcome !== 'failed' && streamErrors === 0) return;
    let live = true;
    api.serverStatus(me).then(
      (s) => {
        if (!live) return;
        setServer(s);
        if (s.state === 'running') void writeAndGo();
        else if (s.state !== 'starting') {
          setPhase('idle');
          setError(new ApiError(0, s.failure?.message ?? (view.outcome === 'failed' ? view.message : 'Your server did not start.'), s.failure?.code ?? null, s.failure?.action ?? null));
        }
      },
      (e) => {
        if (live) {
          setPhase('idle');
          setError(toApiError(e));
        }
      },
    );
    return () => {
      live = false;
    };
  }, [phase, view.outcome, view.message, streamErrors, api, me, writeAndGo]);

  const onOpen = async () => {
    setError(null);
    if (server?.state === 'running') return writeAndGo();
    // Started elsewhere (another tab): follow it. Else follow only once the hub took the
    // request — before that the progress stream would say "not starting".
    if (server?.state === 'starting') return setPhase('starting');
    setPhase('requesting');
    try {
      await api.startServer(me);
      setPhase('starting');
    } catch (err) {
      if (err instanceof ApiError && err.code === 'SERVER_ALREADY_RUNNING') return writeAndGo();
      setPhase('idle');
      setError(toApiError(err));
    }
  };

  /** The server predates the user's access to this data set: stop it, start it again, then go on as a start. */
  const onRestart = async () => {
    setError(null);
    setPhase('requesting');
    try {
      await api.stopServer(me);
      for (let i = 0; ; i++) {
        const s = await api.serverStatus(me);
        if (s.state === 'stopped' || s.state === 'failed') break;
        if (i >= 240) throw new ApiError(0, 'Your server did not stop within two minutes.', null, 'Try again from the home page.');
        await new Promise((r) => setTimeout(r, 500));
      }
      await api.startServer(me);
      setPhase('starting');
    } catch (err) {
      setPhase('idle');
      setError(toApiError(err));
      api.serverStatus(me).then(setServer, () => undefined);
    }
  };

  const code = preview?.code ?? '';
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(code);
      setCopied('yes');
    } catch {
      // No clipboard API outside secure contexts (plain http): select the code instead.
      const el = document.querySelector('[data-testid="xarray-code"]');
      if (el) window.getSelection()?.selectAllChildren(el);
      setCopied(document.execCommand('copy') ? 'yes' : 'no');
    }
  };

  const download = () => {
    if (!preview?.notebook) return;
    const blob = new Blob([JSON.stringify(preview.notebook, null, 1)], { type: 'application/x-ipynb+json' });
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = preview.name;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  };

  const reason = disabledReason(access, server, preview);
  const running = server?.state === 'running';
  const label =
    phase === 'starting' || phase === 'requesting' ? 'Starting your server…' : phase === 'writing' ? 'Creating the notebook…' : running ? 'Open in a notebook' : server?.state === 'starting' ? 'Open in a notebook when my server is ready' : 'Start my server and open a notebook';
  return (
    <div className="open-notebook">
      <div className="button-row">
        <button type="button" className="button button--primary" data-testid="open-in-notebook" onClick={() => void onOpen()} disabled={reason !== null || phase !== 'idle'} aria-describedby="open-notebook-reason">
          {label}
        </button>
        <button type="button" className="button" onClick={() => void copy()} disabled={!code}>
          Copy code
        </button>
        <button type="button" className="button" onClick={download} disabled={!preview?.notebook}>
          Download notebook (.ipynb)
        </button>
      </div>
      <p className="small muted" id="open-notebook-reason">
        {reason ?? (phase === 'idle' ? `Creates catalog/${preview?.name ?? ''} in your home${running ? '' : ' once your server has started'} and opens it.` : '')}
      </p>
      {running && server?.dataOutdated && access === 'readable' && phase === 'idle' ? (
        <div className="hint" role="status">
          <p>Your server started before your access changed, so it does not have this data set's files yet.</p>
          <ConfirmButton
            label="Restart my server and open a notebook"
            question="Restarting stops your running kernels and terminals (saved files stay). Restart now?"
            confirmLabel="Yes, restart"
            onConfirm={() => void onRestart()}
          />
        </div>
      ) : null}
      {phase === 'starting' || phase === 'requesting' ? <ProgressPanel view={view} label="Server start progress" /> : null}
      <ErrorNote error={error} onDismiss={() => setError(null)} />
      {code ? (
        <pre className="code" data-testid="xarray-code">
          <code>{code}</code>
        </pre>
      ) : null}
      <p className="small" role="status">
        {copied === 'yes' ? 'Copied to the clipboard.' : copied === 'no' ? 'Select the code and copy it with Ctrl+C.' : ''}
      </p>
    </div>
  );
}

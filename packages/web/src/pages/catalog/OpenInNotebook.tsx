import { useEffect, useState } from 'react';
import { notebookName, notebookOf, xarrayCode } from '../../lib/catalog.js';
import type { ServerStatus } from '../../lib/server-state.js';
import { useApp } from '../../session.js';

/**
 * "Open in a notebook": the xarray code that opens the data set's files in the sandbox,
 * with a copy button and a downloadable .ipynb; when the user's server runs, a link to it.
 * (The lab's `_xsrf` cookie is scoped to `/user/<name>/`, so the hub page cannot create the
 * notebook through the lab's contents API itself: the user uploads or pastes it instead.)
 */
export function OpenInNotebook({ instanceId, variable, paths }: { instanceId: string; variable: string; paths: readonly string[] }) {
  const { api, session } = useApp();
  const [server, setServer] = useState<ServerStatus | null>(null);
  const [copied, setCopied] = useState<'yes' | 'no' | null>(null);
  const code = xarrayCode(instanceId, variable, paths);

  useEffect(() => {
    let live = true;
    api.serverStatus(session.user).then((s) => live && setServer(s), () => undefined);
    return () => {
      live = false;
    };
  }, [api, session.user]);

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
    const blob = new Blob([JSON.stringify(notebookOf(instanceId, code), null, 1)], { type: 'application/x-ipynb+json' });
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = notebookName(instanceId);
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  };

  if (paths.length === 0) return <p className="muted">This data set lists no files in the sandbox.</p>;
  return (
    <div className="open-notebook">
      <pre className="code" data-testid="xarray-code">
        <code>{code}</code>
      </pre>
      <div className="button-row">
        <button type="button" className="button" onClick={() => void copy()}>
          Copy code
        </button>
        <button type="button" className="button" onClick={download}>
          Download notebook (.ipynb)
        </button>
        {server?.state === 'running' && server.url ? (
          <a className="button button--primary" href={server.url} target="_blank" rel="noopener">
            Open your running server
          </a>
        ) : (
          <span className="small muted">Start your server on the home page, then paste the code into a notebook.</span>
        )}
      </div>
      <p className="small" role="status">
        {copied === 'yes' ? 'Copied to the clipboard.' : copied === 'no' ? 'Select the code and copy it with Ctrl+C.' : ''}
      </p>
    </div>
  );
}

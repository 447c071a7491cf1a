import { useEffect, useState } from 'react';
import { type ApiError, toApiError } from '../api/client.js';
import { fetchStorage, type StorageUnit, type StorageView } from '../api/storage.js';
import { formatBytes, formatRelativeTime } from '../lib/format.js';
import { useApp } from '../session.js';
import { ErrorNote } from './ErrorNote.js';

/** The home page's storage card: a usage bar per quota unit (home + /derived, each group workspace) and its warning. */
export function StorageUsage() {
  const { api } = useApp();
  const [view, setView] = useState<StorageView | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  useEffect(() => {
    fetchStorage(api.client).then(setView, (err: unknown) => setError(toApiError(err)));
  }, [api]);
  if (!view && !error) return null;
  const home = view?.user.areas.find((a) => a.name === 'home')?.path ?? '~';
  return (
    <>
      <h2>Storage</h2>
      <div className="card" data-testid="storage">
        <ErrorNote error={error} />
        {view && !view.enforced && view.note ? <p className="hint">{view.note}</p> : null}
        {view ? <UsageRow label="Your files" where={`${home} and /derived`} unit={view.user} /> : null}
        {view?.groups.map((g) => <UsageRow key={g.name} label={`Group ${g.name}`} where={g.path} unit={g} />)}
        {view?.measured_at ? <p className="muted small">Measured {formatRelativeTime(view.measured_at, Date.now())}.</p> : null}
      </div>
    </>
  );
}

function UsageRow({ label, where, unit }: { label: string; where: string; unit: StorageUnit }) {
  const used = unit.used_bytes;
  const pct = used !== null && unit.hard_bytes ? Math.min(100, (used / unit.hard_bytes) * 100) : null;
  return (
    <div className="progress" data-testid={`storage-${unit.name}`}>
      <p className="progress__message">
        <strong>{label}</strong> <code>{where}</code>
        {used !== null ? `: ${formatBytes(used)} of ${formatBytes(unit.hard_bytes)}` : ''}
        {unit.soft_bytes !== null && used !== null ? <span className="muted"> (warning from {formatBytes(unit.soft_bytes)})</span> : null}
      </p>
      {pct !== null ? (
        <div className="progress__track" role="meter" aria-label={`${label} storage used`} aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(pct)}>
          <div className={`progress__bar${unit.warning ? ' progress__bar--failed' : ''}`} style={{ width: `${pct}%` }} />
        </div>
      ) : null}
      {unit.warning ? <p className="hint" role="status">{unit.warning}</p> : null}
    </div>
  );
}

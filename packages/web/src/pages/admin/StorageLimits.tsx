import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { ApiError, toApiError } from '../../api/client.js';
import { fetchUnitStorage, setStorageLimits, type AdminStorageUnit, type LimitValue, type QuotaKind } from '../../api/storage.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { useAction } from '../../hooks/useAction.js';
import { formatBytes } from '../../lib/format.js';
import { useApp } from '../../session.js';

/** A unit's storage as loaded: the unit, `'none'` when this hub has no storage API (no quotas), or null while loading. */
export interface UnitStorage {
  unit: AdminStorageUnit | 'none' | null;
  error: ApiError | null;
  /** Shows a unit the API answered (after a change). */
  set(unit: AdminStorageUnit): void;
  clearError(): void;
}

/** Loads the usage and limits of one user or group (administrators). */
export function useUnitStorage(kind: QuotaKind, name: string): UnitStorage {
  const { api } = useApp();
  const [unit, setUnit] = useState<AdminStorageUnit | 'none' | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  useEffect(() => {
    let live = true;
    fetchUnitStorage(api.client, kind, name).then(
      (u) => live && setUnit(u),
      (err: unknown) => {
        if (!live) return;
        const e = toApiError(err);
        // No storage API on this hub (or the name just went away): nothing to show.
        if (e.status === 404) setUnit('none');
        else setError(e);
      },
    );
    return () => {
      live = false;
    };
  }, [api, kind, name]);
  const clearError = useCallback(() => setError(null), []);
  return { unit, error, set: setUnit, clearError };
}

/** Usage against the hard limit, the soft limit, and the warning of one unit, in one line. */
export function StorageSummary({ unit }: { unit: AdminStorageUnit | 'none' | null }) {
  if (unit === null) return <span className="muted">…</span>;
  if (unit === 'none') return <span className="muted">—</span>;
  const used = unit.used_bytes === null ? 'not measured' : formatBytes(unit.used_bytes);
  return (
    <span data-testid={`storage-limits-${unit.kind}-${unit.name}`}>
      {used} of {formatBytes(unit.hard_bytes)}
      {unit.hard_source === 'default' ? <span className="muted"> (default)</span> : null}
      <span className="muted small">
        {' '}
        · warning from {unit.soft_bytes === null ? 'never' : formatBytes(unit.soft_bytes)}
        {unit.soft_source === 'default' ? ' (default)' : ''}
      </span>
      {unit.warning ? <span className="tag" title={unit.warning}>over soft limit</span> : null}
    </span>
  );
}

type Mode = 'default' | 'none' | 'custom';
interface LimitState { mode: Mode; text: string }

const initial = (bytes: number | null, source: 'override' | 'default'): LimitState => ({
  mode: source === 'default' ? 'default' : bytes === null ? 'none' : 'custom',
  text: bytes === null ? '' : formatBytes(bytes),
});

/** What to send for one limit: undefined when unchanged. Throws an ApiError for an empty custom size. */
function limitValue(label: string, now: LimitState, was: LimitState): LimitValue | undefined {
  if (now.mode === was.mode && (now.mode !== 'custom' || now.text.trim() === was.text.trim())) return undefined;
  if (now.mode === 'default') return 'default';
  if (now.mode === 'none') return null;
  if (!now.text.trim()) throw new ApiError(400, `Type the ${label.toLowerCase()} as a size, e.g. 8G or 500M.`, 'INVALID_INPUT', null);
  return now.text.trim();
}

/**
 * The "Edit limits" form of one user or group: each limit is the configured default, no
 * limit, or a size (`8G`, `500 MiB`). Only changed limits are sent; the hub's refusal (a
 * hard limit below the usage, soft above hard) is shown with its message.
 */
export function LimitsForm({ unit, onSaved, onCancel }: { unit: AdminStorageUnit; onSaved(u: AdminStorageUnit): void; onCancel(): void }) {
  const { api } = useApp();
  const save = useAction();
  const was = { soft: initial(unit.soft_bytes, unit.soft_source), hard: initial(unit.hard_bytes, unit.hard_source) };
  const [soft, setSoft] = useState(was.soft);
  const [hard, setHard] = useState(was.hard);
  const who = unit.kind === 'user' ? unit.name : `group ${unit.name}`;

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    void save.run(async () => {
      const body = { soft: limitValue('Soft limit', soft, was.soft), hard: limitValue('Hard limit', hard, was.hard) };
      if (body.soft === undefined && body.hard === undefined) return onCancel();
      onSaved(await setStorageLimits(api.client, unit.kind, unit.name, body));
    });
  };

  return (
    <form className="form" onSubmit={onSubmit} aria-label={`Storage limits of ${who}`}>
      <div className="form__row form__row--compact">
        <LimitField id={`${unit.kind}-${unit.name}-soft`} label="Soft limit" hint="warning" state={soft} onChange={setSoft} />
        <LimitField id={`${unit.kind}-${unit.name}-hard`} label="Hard limit" hint="writes fail" state={hard} onChange={setHard} />
        <button type="submit" className="button button--small button--primary" disabled={save.busy}>
          {save.busy ? 'Saving…' : 'Save limits'}
        </button>
        <button type="button" className="button button--small button--quiet" onClick={onCancel}>
          Cancel
        </button>
      </div>
      <p className="hint">
        Storage limits of <strong>{who}</strong> (using {unit.used_bytes === null ? 'an unmeasured amount' : formatBytes(unit.used_bytes)}). Sizes such as 8G, 500M or 1.5T; “Default” follows the
        hub's configuration.
      </p>
      <ErrorNote error={save.error} onDismiss={save.clear} />
    </form>
  );
}

function LimitField({ id, label, hint, state, onChange }: { id: string; label: string; hint: string; state: LimitState; onChange(s: LimitState): void }) {
  return (
    <div className="field">
      <label htmlFor={`${id}-mode`}>
        {label} <span className="muted small">({hint})</span>
      </label>
      <div className="form__row form__row--compact">
        <select id={`${id}-mode`} className="input input--small" value={state.mode} onChange={(e) => onChange({ ...state, mode: e.target.value as Mode })}>
          <option value="default">Default</option>
          <option value="none">No limit</option>
          <option value="custom">Size…</option>
        </select>
        {state.mode === 'custom' ? (
          <input
            className="input input--small"
            aria-label={`${label} size`}
            value={state.text}
            onChange={(e) => onChange({ ...state, text: e.target.value })}
            placeholder="8G"
            size={9}
          />
        ) : null}
      </div>
    </div>
  );
}

import type { AccessState } from '../lib/catalog.js';

const LABEL: Record<AccessState, string> = { readable: 'readable', pending: 'pending', request: 'request access', unknown: 'checking…' };

/** The caller's access to one data set: readable / pending / request access. */
export function AccessBadge({ state }: { state: AccessState }) {
  return (
    <span className={`badge access-badge access-badge--${state}`} data-access={state}>
      <span className="badge__dot" aria-hidden="true" />
      {LABEL[state]}
    </span>
  );
}

import { stateLabel, type ServerState } from '../lib/server-state.js';

/** A coloured badge for a server state (colour is never the only cue: the label says it). */
export function StateBadge({ state }: { state: ServerState }) {
  return (
    <span className={`badge badge--${state}`}>
      <span className="badge__dot" aria-hidden="true" />
      {stateLabel(state)}
    </span>
  );
}

/**
 * The lifecycle of one single-user server: a single state union and the events that
 * move it. The hub persists the state; this module only says which moves are legal.
 *
 *   stopped/failed --start--> starting --ready--> running --stop--> stopping --stopped--> stopped
 *   starting --fail--> failed        running --died--> stopped | failed (e.g. out of memory)
 *   starting --stop--> stopping (spawn cancelled)
 */
export type ServerState = 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

export type ServerEvent = 'start' | 'ready' | 'fail' | 'stop' | 'stopped' | 'died' | 'oom';

const TRANSITIONS: Record<ServerState, Partial<Record<ServerEvent, ServerState>>> = {
  stopped: { start: 'starting', stop: 'stopped' },
  failed: { start: 'starting', stop: 'failed' },
  starting: { ready: 'running', fail: 'failed', stop: 'stopping', oom: 'failed', died: 'failed' },
  running: { stop: 'stopping', died: 'stopped', oom: 'failed' },
  stopping: { stopped: 'stopped', fail: 'stopped', died: 'stopped', oom: 'failed' },
};

/** The next state, or null when `event` is not allowed in `state`. */
export function nextServerState(state: ServerState, event: ServerEvent): ServerState | null {
  return TRANSITIONS[state][event] ?? null;
}

/** JupyterHub's `pending` field for a state. */
export function pendingOf(state: ServerState): 'spawn' | 'stop' | null {
  return state === 'starting' ? 'spawn' : state === 'stopping' ? 'stop' : null;
}

/** A server that holds resources (a process may exist). */
export function isActive(state: ServerState): boolean {
  return state === 'starting' || state === 'running' || state === 'stopping';
}

/** The states of a single-user server as the UI sees them, and what each allows. */

export type ServerState = 'stopped' | 'starting' | 'running' | 'stopping' | 'failed';

export const SERVER_STATES: readonly ServerState[] = ['stopped', 'starting', 'running', 'stopping', 'failed'];

/** Answer of `GET /hub/api/eucp/users/<name>/server-status`. */
export interface ServerStatus {
  state: ServerState;
  url: string | null;
  limits: { memoryLimitBytes: number | null; cpuLimitCores: number | null };
  failure: { code: string; message: string; action: string } | null;
  startedAt: string | null;
  lastActivity: string | null;
  /** The user's readable data sets changed since the running server started (restart to see them). */
  dataOutdated: boolean;
}

/** Which controls a state offers. */
export interface AllowedActions {
  start: boolean;
  /** Stop, or cancel a start in progress. */
  stop: boolean;
  open: boolean;
}

/**
 * Buttons a server state allows: start when stopped or failed; stop when running or
 * starting (cancels the spawn); open only when running; nothing while stopping.
 */
export function allowedActions(state: ServerState): AllowedActions {
  switch (state) {
    case 'stopped':
    case 'failed':
      return { start: true, stop: false, open: false };
    case 'starting':
      return { start: false, stop: true, open: false };
    case 'running':
      return { start: false, stop: true, open: true };
    case 'stopping':
      return { start: false, stop: false, open: false };
  }
}

/** Short label for a state badge. */
export function stateLabel(state: ServerState): string {
  return { stopped: 'Stopped', starting: 'Starting', running: 'Running', stopping: 'Stopping', failed: 'Failed' }[state];
}

/** A state that changes by itself soon, so a page should poll or follow progress. */
export function isTransient(state: ServerState): boolean {
  return state === 'starting' || state === 'stopping';
}

/** The JupyterHub server model fields the UI reads. */
export interface ServerModelLike {
  pending?: string | null;
  ready?: boolean;
}

/**
 * The state of a server from a JupyterHub server model (`servers[""]` of a user model;
 * absent = stopped). The model cannot tell failed from stopped.
 */
export function stateFromServerModel(model: ServerModelLike | undefined | null): ServerState {
  if (!model) return 'stopped';
  if (model.pending === 'spawn') return 'starting';
  if (model.pending === 'stop') return 'stopping';
  if (model.ready) return 'running';
  return 'stopped';
}

/** Validates the server-status answer; throws TypeError naming the first bad field. */
export function parseServerStatus(raw: unknown): ServerStatus {
  const o = asObject(raw, 'server status');
  if (typeof o.state !== 'string' || !(SERVER_STATES as readonly string[]).includes(o.state)) {
    throw new TypeError(`server status: unknown state ${JSON.stringify(o.state)}`);
  }
  const limits = o.limits === undefined || o.limits === null ? {} : asObject(o.limits, 'limits');
  let failure: ServerStatus['failure'] = null;
  if (o.failure !== null && o.failure !== undefined) {
    const f = asObject(o.failure, 'failure');
    failure = { code: str(f.code) ?? '', message: str(f.message) ?? 'The server failed.', action: str(f.action) ?? '' };
  }
  return {
    state: o.state as ServerState,
    url: str(o.url),
    limits: { memoryLimitBytes: num(limits.memoryLimitBytes), cpuLimitCores: num(limits.cpuLimitCores) },
    failure,
    startedAt: str(o.startedAt),
    lastActivity: str(o.lastActivity),
    dataOutdated: o.dataOutdated === true,
  };
}

function asObject(raw: unknown, what: string): Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new TypeError(`${what}: not an object`);
  return raw as Record<string, unknown>;
}
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

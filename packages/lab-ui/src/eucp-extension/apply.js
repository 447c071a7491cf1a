// Pure logic of the EUCP JupyterLab extension (no JupyterLab imports, so node:test can load
// it): which executions a page owns, how one server execution event changes a cell's
// outputs, and a debouncer. tracker.js (event streams → cell actions) and texts.js (badge
// and verify texts) are pure too.
//
// Contracts: packages/lab/src/execution/types.ts (ExecutionEvent, CellRunState) and
// packages/lab/src/execution/journal-types.ts (NotebookBadges).

/**
 * @typedef {{ output_type: string, [key: string]: unknown }} Output
 *
 * @typedef {{ type: 'set', index: number, output: Output }
 *   | { type: 'append', output: Output }
 *   | { type: 'clear' }} OutputOp
 *
 * @typedef {{ type: 'reset', cellId: string, msgId: string, outputs: Output[],
 *     executionCount: number | null, running: boolean, done: boolean }
 *   | { type: 'output', cellId: string, msgId: string, op: OutputOp, outputs: Output[] }
 *   | { type: 'running', cellId: string, msgId: string, running: boolean }
 *   | { type: 'count', cellId: string, msgId: string, executionCount: number | null }
 *   | { type: 'finished', cellId: string, msgId: string }
 *   | { type: 'restart' }} Action
 *   What the page must do to a cell's model. `reset` replaces the outputs, execution count
 *   and running state; `output` is one change (`outputs` is the full list after it);
 *   `finished` says a server-tracked execution is over (save / refresh badges).
 *
 * @typedef {{ msgId: string, owned: boolean, state: string, outputs: Output[],
 *   executionCount: number | null, finished: boolean }} Exec
 * @typedef {{ msgId: string, backlog: any[], entry?: any }} Deferred
 * @typedef {{ current: Exec | null, deferred: Deferred | null }} CellRecord
 */

/**
 * Applies one `set` or `clear` execution event to an outputs list (never mutated).
 * `set` replaces `outputs[index]`, or appends when `index` equals the length.
 * @param {Output[]} outputs
 * @param {{ kind: string, index?: number, output?: Output }} ev
 * @returns {{ outputs: Output[], op: OutputOp | null }} `op` is null when the event
 *   cannot be applied (unknown kind, index out of range): `outputs` is then unchanged.
 */
export function applyOutputEvent(outputs, ev) {
  if (ev.kind === 'clear') return { outputs: [], op: { type: 'clear' } };
  if (ev.kind !== 'set' || !isOutput(ev.output)) return { outputs, op: null };
  const index = ev.index;
  if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index > outputs.length) {
    return { outputs, op: null };
  }
  const next = outputs.slice();
  if (index === outputs.length) {
    next.push(ev.output);
    return { outputs: next, op: { type: 'append', output: ev.output } };
  }
  next[index] = ev.output;
  return { outputs: next, op: { type: 'set', index, output: ev.output } };
}

/** @param {unknown} o @returns {o is Output} */
function isOutput(o) {
  return typeof o === 'object' && o !== null && typeof (/** @type {any} */ (o).output_type) === 'string';
}

/**
 * The canonical form of an output for comparisons: multi-line strings joined (except in
 * JSON mime types), `transient` dropped, missing `metadata` as `{}`, keys sorted.
 * @param {Output} output
 * @returns {string}
 */
export function outputKey(output) {
  /** @type {Record<string, unknown>} */
  const o = { ...output };
  delete o.transient;
  if (o.output_type === 'stream' && Array.isArray(o.text)) o.text = o.text.join('');
  if (o.output_type === 'display_data' || o.output_type === 'execute_result') {
    if (o.metadata === undefined) o.metadata = {};
    if (o.data && typeof o.data === 'object') {
      /** @type {Record<string, unknown>} */
      const data = {};
      for (const [mime, value] of Object.entries(o.data)) {
        const isJson = mime === 'application/json' || mime.endsWith('+json');
        data[mime] = !isJson && Array.isArray(value) && value.every((v) => typeof v === 'string') ? value.join('') : value;
      }
      o.data = data;
    }
  }
  return stableStringify(o);
}

/** @param {Output[]} a @param {Output[]} b */
export function outputsEqual(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (outputKey(a[i]) !== outputKey(b[i])) return false;
  return true;
}

/** @param {unknown} value @returns {string} */
function stableStringify(value) {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value && typeof value === 'object') {
    const keys = Object.keys(value).filter((k) => /** @type {any} */ (value)[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${stableStringify(/** @type {any} */ (value)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * The `msg_id`s of the execute requests this page sent itself (bounded; oldest forgotten).
 */
export class OwnedMessages {
  /** @param {number} [limit] */
  constructor(limit = 10000) {
    this._limit = limit;
    /** @type {Map<string, string | null>} msgId → cellId */
    this._ids = new Map();
  }
  /** @param {string} msgId @param {string | null} [cellId] */
  add(msgId, cellId = null) {
    this._ids.delete(msgId);
    this._ids.set(msgId, cellId);
    while (this._ids.size > this._limit) this._ids.delete(/** @type {string} */ (this._ids.keys().next().value));
  }
  /** @param {string} msgId */
  has(msgId) {
    return this._ids.has(msgId);
  }
  /** @param {string} msgId @returns {string | null} */
  cellOf(msgId) {
    return this._ids.get(msgId) ?? null;
  }
  get size() {
    return this._ids.size;
  }
}

/**
 * The id of the cell an `execute_request` comes from (JupyterLab puts it in
 * `metadata.cellId`), its `msg_id`, or null for any other message.
 * @param {{ header?: { msg_type?: string, msg_id?: string }, metadata?: Record<string, unknown> }} msg
 * @returns {{ msgId: string, cellId: string | null } | null}
 */
export function executeRequestOf(msg) {
  if (msg?.header?.msg_type !== 'execute_request' || typeof msg.header.msg_id !== 'string') return null;
  const cellId = msg.metadata?.cellId;
  return { msgId: msg.header.msg_id, cellId: typeof cellId === 'string' ? cellId : null };
}

/**
 * Calls `fn` once, `wait` ms after the last `schedule()`.
 * @param {() => void} fn
 * @param {number} wait
 * @param {{ setTimeout: (f: () => void, ms: number) => any, clearTimeout: (h: any) => void }} [timers]
 */
export function debounce(fn, wait, timers = globalThis) {
  /** @type {any} */
  let handle = null;
  const fire = () => {
    handle = null;
    fn();
  };
  return {
    schedule() {
      if (handle !== null) timers.clearTimeout(handle);
      handle = timers.setTimeout(fire, wait);
    },
    /** Runs now if scheduled. */
    flush() {
      if (handle === null) return;
      timers.clearTimeout(handle);
      fire();
    },
    cancel() {
      if (handle !== null) timers.clearTimeout(handle);
      handle = null;
    },
    get pending() {
      return handle !== null;
    },
  };
}

/**
 * What counts as the user's edits of a notebook: its cells' ids, types and sources, in
 * order. Outputs, execution counts and metadata are left out; JupyterLab itself writes
 * notebook metadata (`language_info`, `kernelspec`) whenever a kernel connects.
 * @param {{ id: string, type: string, source: string }[]} cells
 * @returns {string}
 */
export function userContentKey(cells) {
  return JSON.stringify(cells.map((c) => [c.id, c.type, c.source]));
}

/**
 * @typedef {{ connect(slot: () => void): unknown, disconnect(slot: () => void): unknown }} SignalLike
 * @typedef {{ isDisposed: boolean, hasNoKernel: boolean, session: { kernel: unknown } | null,
 *   sessionChanged: SignalLike, kernelChanged: SignalLike, statusChanged: SignalLike,
 *   disposed: SignalLike }} SessionContextLike
 */

/**
 * Resolves once a cell run can reach a kernel. While a session context is still starting
 * its kernel (it has a kernel name pending but no kernel connection yet), JupyterLab's
 * cell executor drops the run without a word; this waits until the kernel connection is
 * there, the start failed (no kernel any more) or the context is disposed. Resolves at
 * once in every other case.
 * @param {SessionContextLike | null | undefined} context
 * @returns {Promise<void>}
 */
export function kernelStarted(context) {
  if (!context) return Promise.resolve();
  const settled = () => context.isDisposed || !!context.session?.kernel || context.hasNoKernel;
  if (settled()) return Promise.resolve();
  const signals = [context.sessionChanged, context.kernelChanged, context.statusChanged, context.disposed];
  return new Promise((resolve) => {
    const check = () => {
      if (!settled()) return;
      for (const s of signals) s.disconnect(check);
      resolve();
    };
    for (const s of signals) s.connect(check);
  });
}

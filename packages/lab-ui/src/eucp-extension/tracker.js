// Turns the messages of `api/eucp/notebooks/events` for one notebook into actions on its
// cells (pure; no JupyterLab imports). Rules:
// * The latest execution of a cell wins, as in JupyterLab itself: an execution this page
//   sent (owned) shows through its own kernel future and is never applied here; a later
//   execution from elsewhere (another tab, a closed tab, the server) replaces the cell's
//   outputs; events of superseded executions are dropped.
// * An execution from elsewhere requested while this page's own execution of the same cell
//   is still running waits (the kernel runs them in that order) and is applied once the
//   own one has replied, so the two never mix in one output area.
// * Events are numbered (`seq`); one already seen is ignored, so a replay after a
//   reconnection (`after=<seq>`) never duplicates a line.

import { applyOutputEvent } from './apply.js';

/**
 * @typedef {import('./apply.js').Action} Action
 * @typedef {import('./apply.js').Exec} Exec
 * @typedef {import('./apply.js').CellRecord} CellRecord
 * @typedef {import('./apply.js').Output} Output
 */

export class ExecutionTracker {
  /** @param {{ isOwned: (msgId: string) => boolean }} options */
  constructor(options) {
    this._isOwned = options.isOwned;
    /** @type {Map<string, CellRecord>} */
    this._cells = new Map();
    /** Number of the last event applied (or of the snapshot); null before any. @type {number | null} */
    this.lastSeq = null;
  }

  /** Forgets everything (the notebook was renamed: the next connection starts afresh). */
  reset() {
    this._cells.clear();
    this.lastSeq = null;
  }

  /** True while an execution from elsewhere is queued or running in a cell. */
  hasPendingForeign() {
    for (const rec of this._cells.values()) {
      if (rec.current && !rec.current.owned && !rec.current.finished) return true;
    }
    return false;
  }

  /**
   * This page just sent `execute_request` `msgId` for `cellId`: the cell now shows that
   * execution (through JupyterLab's own future).
   * @param {string} msgId @param {string} cellId @returns {Action[]}
   */
  noteOwnRequest(msgId, cellId) {
    const rec = this._cell(cellId);
    rec.current = ownExec(msgId, false);
    rec.deferred = null;
    return [];
  }

  /**
   * This page's kernel connection received the `execute_reply` of its own `msgId`.
   * @param {string} msgId @returns {Action[]}
   */
  noteOwnReply(msgId) {
    for (const [cellId, rec] of this._cells) {
      if (rec.current?.msgId === msgId && rec.current.owned) return this._ownFinished(cellId, rec);
    }
    return [];
  }

  /**
   * Handles one parsed message of the events socket.
   * @param {any} message @returns {Action[]}
   */
  handle(message) {
    if (!message || typeof message !== 'object') return [];
    if (message.type === 'snapshot' && Array.isArray(message.cells)) return this._snapshot(message);
    if (message.type !== 'event' || !message.event || typeof message.event !== 'object') return [];
    const ev = message.event;
    if (typeof ev.seq === 'number') {
      if (this.lastSeq !== null && ev.seq <= this.lastSeq) return [];
      this.lastSeq = ev.seq;
    }
    return this._event(ev);
  }

  /** @param {any} ev @returns {Action[]} */
  _event(ev) {
    if (ev.kind === 'restart') return this._restart();
    if (typeof ev.cellId !== 'string' || typeof ev.msgId !== 'string') return [];
    const rec = this._cell(ev.cellId);
    const cellId = ev.cellId;
    const msgId = ev.msgId;
    if (this._isOwned(msgId)) {
      const cur = rec.current;
      if (cur?.owned && cur.msgId === msgId && (ev.kind === 'reply' || (ev.kind === 'state' && ev.state === 'done'))) {
        return this._ownFinished(cellId, rec);
      }
      return [];
    }
    if (ev.kind === 'request') {
      if (rec.current?.msgId === msgId || rec.deferred?.msgId === msgId) return [];
      if (rec.current?.owned && !rec.current.finished) {
        rec.deferred = { msgId, backlog: [] };
        return [];
      }
      return this._start(cellId, rec, foreignExec(msgId, 'queued', [], null));
    }
    const deferred = rec.deferred;
    if (deferred && deferred.msgId === msgId) {
      deferred.backlog.push(ev);
      return [];
    }
    const cur = rec.current;
    if (!cur || cur.owned || cur.msgId !== msgId) return [];
    return this._apply(cellId, cur, ev);
  }

  /** @param {string} cellId @param {Exec} cur @param {any} ev @returns {Action[]} */
  _apply(cellId, cur, ev) {
    const msgId = cur.msgId;
    /** @type {Action[]} */
    const actions = [];
    switch (ev.kind) {
      case 'set':
      case 'clear': {
        const { outputs, op } = applyOutputEvent(cur.outputs, ev);
        if (!op) return [];
        cur.outputs = outputs;
        return [{ type: 'output', cellId, msgId, op, outputs }];
      }
      case 'state': {
        if (ev.state === 'queued' || ev.state === 'running') {
          // Already shown as running since its `request` (JupyterLab has one `[*]` for both).
          if (!cur.finished) cur.state = ev.state;
          return [];
        }
        if (ev.state !== 'done') return [];
        cur.state = 'done';
        if (typeof ev.executionCount === 'number' && ev.executionCount !== cur.executionCount) {
          cur.executionCount = ev.executionCount;
          actions.push({ type: 'count', cellId, msgId, executionCount: cur.executionCount });
        }
        cur.finished = true;
        actions.push({ type: 'running', cellId, msgId, running: false });
        actions.push({ type: 'finished', cellId, msgId });
        return actions;
      }
      case 'reply': {
        cur.executionCount = typeof ev.executionCount === 'number' ? ev.executionCount : null;
        cur.finished = true;
        actions.push({ type: 'count', cellId, msgId, executionCount: cur.executionCount });
        actions.push({ type: 'running', cellId, msgId, running: false });
        actions.push({ type: 'finished', cellId, msgId });
        return actions;
      }
      default:
        return [];
    }
  }

  /** Makes `exec` (from elsewhere) the cell's execution. @param {string} cellId @param {CellRecord} rec @param {Exec} exec @returns {Action[]} */
  _start(cellId, rec, exec) {
    rec.current = exec;
    rec.deferred = null;
    /** @type {Action[]} */
    const actions = [
      {
        type: 'reset',
        cellId,
        msgId: exec.msgId,
        outputs: exec.outputs,
        executionCount: exec.executionCount,
        running: !exec.finished,
        done: exec.finished,
      },
    ];
    if (exec.finished) actions.push({ type: 'finished', cellId, msgId: exec.msgId });
    return actions;
  }

  /** @param {string} cellId @param {CellRecord} rec @returns {Action[]} */
  _ownFinished(cellId, rec) {
    if (rec.current) rec.current.finished = true;
    const deferred = rec.deferred;
    if (!deferred) return [];
    const exec = deferred.entry
      ? fromEntry(deferred.entry)
      : foreignExec(deferred.msgId, 'queued', [], null);
    const actions = this._start(cellId, rec, exec);
    for (const ev of deferred.backlog) actions.push(...this._apply(cellId, exec, ev));
    return actions;
  }

  /** @returns {Action[]} */
  _restart() {
    /** @type {Action[]} */
    const actions = [];
    for (const [cellId, rec] of this._cells) {
      const cur = rec.current;
      if (!cur || cur.finished) continue;
      if (cur.owned) {
        actions.push(...this._ownFinished(cellId, rec));
        continue;
      }
      cur.finished = true;
      cur.state = 'done';
      actions.push({ type: 'running', cellId, msgId: cur.msgId, running: false });
      actions.push({ type: 'finished', cellId, msgId: cur.msgId });
    }
    actions.push({ type: 'restart' });
    return actions;
  }

  /**
   * A snapshot lists the tracked executions of the notebook (per cell in request order);
   * each cell shows the last one unless this page's own execution of it is newer.
   * @param {{ seq?: number, cells: any[] }} message @returns {Action[]}
   */
  _snapshot(message) {
    this.lastSeq = typeof message.seq === 'number' ? message.seq : null;
    /** @type {Map<string, any[]>} */
    const byCell = new Map();
    for (const entry of message.cells) {
      if (!entry || typeof entry.cellId !== 'string' || typeof entry.msgId !== 'string') continue;
      const list = byCell.get(entry.cellId) ?? [];
      list.push(entry);
      byCell.set(entry.cellId, list);
    }
    /** @type {Action[]} */
    const actions = [];
    for (const [cellId, rec] of this._cells) {
      const cur = rec.current;
      // A cell whose execution from elsewhere the server no longer lists is not running.
      if (!byCell.has(cellId) && cur && !cur.owned && !cur.finished) {
        cur.finished = true;
        actions.push({ type: 'running', cellId, msgId: cur.msgId, running: false });
      }
    }
    for (const [cellId, entries] of byCell) actions.push(...this._snapshotCell(cellId, entries));
    return actions;
  }

  /** @param {string} cellId @param {any[]} entries @returns {Action[]} */
  _snapshotCell(cellId, entries) {
    const rec = this._cell(cellId);
    const own = rec.current?.owned ? rec.current : null;
    const ownIndex = own ? entries.findIndex((e) => e.msgId === own.msgId) : -1;
    // Own execution sent after the server produced this snapshot: it is the newest.
    if (own && ownIndex < 0 && !own.finished) return [];
    if (own && ownIndex >= 0 && entries[ownIndex].state === 'done') own.finished = true;
    const last = entries[entries.length - 1];
    if (this._isOwned(last.msgId)) {
      if (!own || own.msgId !== last.msgId) rec.current = ownExec(last.msgId, last.state === 'done');
      rec.deferred = null;
      return [];
    }
    if (own && !own.finished) {
      rec.deferred = { msgId: last.msgId, backlog: [], entry: last };
      return [];
    }
    // The page skips a reset that changes nothing (same outputs and count).
    return this._start(cellId, rec, fromEntry(last));
  }

  /** @param {string} cellId @returns {CellRecord} */
  _cell(cellId) {
    let rec = this._cells.get(cellId);
    if (!rec) {
      rec = { current: null, deferred: null };
      this._cells.set(cellId, rec);
    }
    return rec;
  }
}

/** @param {string} msgId @param {boolean} finished @returns {Exec} */
function ownExec(msgId, finished) {
  return { msgId, owned: true, state: finished ? 'done' : 'running', outputs: [], executionCount: null, finished };
}

/** @param {string} msgId @param {string} state @param {Output[]} outputs @param {number | null} executionCount @returns {Exec} */
function foreignExec(msgId, state, outputs, executionCount) {
  return { msgId, owned: false, state, outputs, executionCount, finished: state === 'done' };
}

/** A `CellRunState` of a snapshot. @param {any} entry @returns {Exec} */
function fromEntry(entry) {
  const outputs = Array.isArray(entry.outputs) ? entry.outputs : [];
  const count = typeof entry.executionCount === 'number' ? entry.executionCount : null;
  const state = entry.state === 'queued' || entry.state === 'running' ? entry.state : 'done';
  return foreignExec(entry.msgId, state, outputs, count);
}

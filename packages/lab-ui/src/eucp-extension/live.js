// Plugin 1 (notebook-designs.md D1): live outputs of executions this page did not start.
// One LiveOutputs per document context (several views of one notebook share it, so no
// event is applied twice). It subscribes to `api/eucp/notebooks/events` for the notebook,
// remembers the execute requests this page sends, and applies every other tracked
// execution to the cell's model: outputs, `[*]` prompt (the model's `executionState`),
// execution count. When such an execution finishes and the document is dirty because of
// applied outputs, with no cell changed by the user since the last save, it saves the
// document.
import { Signal } from '@lumino/signaling';
import { OwnedMessages, debounce, executeRequestOf, userContentKey } from './apply.js';
import { applyToCell } from './cells.js';
import { ExecutionTracker } from './tracker.js';
import { openEvents } from './api.js';

/**
 * @typedef {import('@jupyterlab/docregistry').DocumentRegistry.IContext<import('@jupyterlab/notebook').INotebookModel>} NotebookContext
 * @typedef {import('@jupyterlab/cells').ICodeCellModel} CodeCellModel
 * @typedef {import('@jupyterlab/services').ServerConnection.ISettings} Settings
 * @typedef {import('@jupyterlab/services').Kernel.IKernelConnection} KernelConnection
 * @typedef {import('./apply.js').Action} Action
 */

/** The execute requests sent by this page, for every notebook (msg ids are unique). */
const owned = new OwnedMessages();

/** @type {WeakMap<object, LiveOutputs>} */
const byContext = new WeakMap();

const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 10_000;
const AUTOSAVE_DELAY_MS = 500;
/** Tolerance for the disk's `last_modified` during an automatic save (see _autosave). */
const AUTOSAVE_MTIME_MARGIN_MS = 24 * 3600 * 1000;

/**
 * The live-outputs controller of a notebook's context (created on first use).
 * @param {Settings} settings
 * @param {NotebookContext} context
 * @returns {LiveOutputs}
 */
export function liveOutputsFor(settings, context) {
  let live = byContext.get(context);
  if (!live) {
    live = new LiveOutputs(settings, context);
    byContext.set(context, live);
  }
  return live;
}

export class LiveOutputs {
  /** @param {Settings} settings @param {NotebookContext} context */
  constructor(settings, context) {
    this._settings = settings;
    this._context = context;
    this._tracker = new ExecutionTracker({ isOwned: (id) => owned.has(id) });
    /** @type {Signal<LiveOutputs, 'finished' | 'restart'>} */
    this._activity = new Signal(this);
    /** @type {WebSocket | null} */
    this._ws = null;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this._reconnectTimer = null;
    this._failures = 0;
    this._disposed = false;
    this._applying = false;
    /** {@link userContentKey} of the cells when the document was last clean (loaded or saved). @type {string | null} */
    this._cleanContent = null;
    this._appliedSinceClean = false;
    /** @type {Map<string, any> | null} cell id → cell model */
    this._index = null;
    /** @type {KernelConnection | null} */
    this._kernel = null;
    this._autosave = debounce(() => void this._maybeAutosave(), AUTOSAVE_DELAY_MS);

    const model = context.model;
    model.stateChanged.connect(this._onModelState, this);
    model.cells.changed.connect(this._onCellsChanged, this);
    context.pathChanged.connect(this._onPathChanged, this);
    context.sessionContext.kernelChanged.connect(this._hookKernel, this);
    context.sessionContext.sessionChanged.connect(this._hookKernel, this);
    context.disposed.connect(this.dispose, this);
    this._hookKernel();
    void context.ready.then(() => {
      if (!context.model.dirty) this._cleanContent = this._userContent();
      this._connect();
    });
  }

  /** Emits after an execution from elsewhere finished, and on kernel restarts. */
  get activity() {
    return this._activity;
  }

  /** True while events are being applied to the model (not a user edit). */
  get applying() {
    return this._applying;
  }

  get isDisposed() {
    return this._disposed;
  }

  dispose() {
    if (this._disposed) return;
    this._disposed = true;
    this._autosave.cancel();
    this._close();
    if (this._kernel) this._kernel.anyMessage.disconnect(this._onAnyMessage, this);
    this._kernel = null;
    byContext.delete(this._context);
    Signal.clearData(this);
  }

  _path() {
    return this._context.localPath ?? this._context.path;
  }

  _connect() {
    if (this._disposed || this._ws) return;
    let ws;
    try {
      ws = openEvents(this._settings, this._path(), this._tracker.lastSeq);
    } catch {
      this._scheduleReconnect();
      return;
    }
    this._ws = ws;
    ws.onmessage = (event) => {
      if (this._ws !== ws) return;
      this._failures = 0;
      this._onMessage(event.data);
    };
    ws.onclose = () => {
      if (this._ws !== ws) return;
      this._ws = null;
      this._scheduleReconnect();
    };
  }

  _scheduleReconnect() {
    if (this._disposed || this._reconnectTimer !== null) return;
    const delay = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** this._failures);
    this._failures++;
    this._reconnectTimer = setTimeout(() => {
      this._reconnectTimer = null;
      this._connect();
    }, delay);
  }

  _close() {
    if (this._reconnectTimer !== null) clearTimeout(this._reconnectTimer);
    this._reconnectTimer = null;
    const ws = this._ws;
    this._ws = null;
    if (ws) {
      ws.onmessage = null;
      ws.onclose = null;
      ws.close();
    }
  }

  _onPathChanged() {
    this._close();
    this._tracker.reset();
    this._failures = 0;
    this._connect();
  }

  /** @param {unknown} data */
  _onMessage(data) {
    if (typeof data !== 'string') return;
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    this._run(this._tracker.handle(message));
  }

  _hookKernel() {
    const kernel = this._context.sessionContext.session?.kernel ?? null;
    if (kernel === this._kernel || this._disposed) return;
    if (this._kernel) this._kernel.anyMessage.disconnect(this._onAnyMessage, this);
    this._kernel = kernel;
    if (kernel) kernel.anyMessage.connect(this._onAnyMessage, this);
  }

  /**
   * Remembers the execute requests this page sends; notes the replies to them.
   * @param {KernelConnection} _sender
   * @param {{ msg: any, direction: 'send' | 'recv' }} args
   */
  _onAnyMessage(_sender, args) {
    const { msg, direction } = args;
    if (direction === 'send') {
      const req = executeRequestOf(msg);
      if (!req) return;
      owned.add(req.msgId, req.cellId);
      if (req.cellId) this._run(this._tracker.noteOwnRequest(req.msgId, req.cellId));
    } else if (msg?.header?.msg_type === 'execute_reply') {
      const parent = msg.parent_header?.msg_id;
      if (typeof parent === 'string' && owned.has(parent)) this._run(this._tracker.noteOwnReply(parent));
    }
  }

  /** @param {Action[]} actions */
  _run(actions) {
    if (actions.length === 0 || this._disposed) return;
    let changed = false;
    let finished = false;
    let restarted = false;
    this._applying = true;
    try {
      for (const action of actions) {
        if (action.type === 'restart') restarted = true;
        else if (action.type === 'finished') finished = true;
        else {
          const cell = this._codeCell(action.cellId);
          if (cell && applyToCell(cell, action)) changed = true;
        }
      }
    } finally {
      this._applying = false;
    }
    if (changed) this._appliedSinceClean = true;
    if (finished) this._autosave.schedule();
    if (restarted) this._activity.emit('restart');
    else if (finished) this._activity.emit('finished');
  }

  /** @param {string} cellId @returns {CodeCellModel | null} */
  _codeCell(cellId) {
    if (!this._index) {
      this._index = new Map();
      const cells = this._context.model.cells;
      for (let i = 0; i < cells.length; i++) {
        const cell = cells.get(i);
        this._index.set(cell.id, cell);
      }
    }
    const cell = this._index.get(cellId);
    return cell && cell.type === 'code' && !cell.isDisposed ? cell : null;
  }

  _onCellsChanged() {
    this._index = null;
  }

  /** @param {unknown} _sender @param {{ name: string, newValue: unknown }} args */
  _onModelState(_sender, args) {
    if (args.name === 'dirty' && !args.newValue) {
      this._cleanContent = this._userContent();
      this._appliedSinceClean = false;
    }
  }

  /** The cells as the user edits them (see {@link userContentKey}). */
  _userContent() {
    const cells = this._context.model.cells;
    const list = [];
    for (let i = 0; i < cells.length; i++) {
      const cell = cells.get(i);
      list.push({ id: cell.id, type: cell.type, source: cell.sharedModel.getSource() });
    }
    return userContentKey(list);
  }

  /**
   * Saves when outputs were applied to the document, the user changed no cell since it
   * was last clean, and no execution from elsewhere is still queued or running. Changes
   * JupyterLab makes itself (the notebook's `language_info` and `kernelspec` when the
   * kernel connects) do not prevent the save. The disk file was being written by the
   * server meanwhile, so its modification time is newer than this page's last save; the
   * time check is relaxed for this save (a content hash, when the server gives one, is
   * still checked by JupyterLab).
   */
  async _maybeAutosave() {
    const context = this._context;
    if (this._disposed || this._tracker.hasPendingForeign() || !context.isReady) return;
    const model = context.model;
    if (!model.dirty || !this._appliedSinceClean || model.readOnly) return;
    if (this._cleanContent === null || this._userContent() !== this._cleanContent) return;
    if (context.contentsModel?.writable === false) return;
    const margin = context.lastModifiedCheckMargin;
    context.lastModifiedCheckMargin = Math.max(margin, AUTOSAVE_MTIME_MARGIN_MS);
    try {
      await context.save();
    } catch {
      // JupyterLab has shown the error; the next finished execution tries again.
    } finally {
      if (!context.isDisposed) context.lastModifiedCheckMargin = margin;
    }
  }
}

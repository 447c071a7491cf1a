/**
 * `ServerExecution`: the lab server's {@link ExecutionService} (notebook-designs.md D1,
 * D10). It maps every tracked `execute_request` (`msg_id` → notebook path + cell id),
 * reduces the kernel's IOPub messages into nbformat outputs (`@eucp/core` outputs),
 * announces numbered events, and has {@link NotebookWriter} store the outputs in the
 * notebook whenever no browser is attached to its kernel. Unfinished executions are
 * recorded on disk (`persist.ts`) so the next lab server can {@link ServerExecution.resume}
 * them (`resume.ts`).
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { displayIdOf, type OutputLimits, type OutputUpdate } from '@eucp/core';
import type { ContentsManager } from '../contents/types.js';
import { JupyterError } from '../http/errors.js';
import type { Kernel, KernelManager, KernelMessage, KernelStatusEvent } from '../kernels/types.js';
import type { SessionManager } from '../sessions/types.js';
import { EventLog } from './events.js';
import { KernelWatch } from './kernel-watch.js';
import { recordOf, RunStore, type RunRecord } from './persist.js';
import { firstFreeSpillId, Resumption, type ResumeHost } from './resume.js';
import { SpillStore } from './spill.js';
import { NotebookRuns, Run } from './tracker.js';
import type { CellRunState, ExecutionEvent, ExecutionService, ServerExecuteRequest, TrackedExecution } from './types.js';
import { NotebookWriter } from './writer.js';

/** nbformat cell id (JEP 62). */
export const CELL_ID_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;

export interface ServerExecutionDeps {
  kernels: KernelManager;
  sessions: SessionManager;
  contents: ContentsManager;
  log: Logger;
  /**
   * The lab server's state directory; capped outputs are spilled to `<stateDir>/outputs/`,
   * unfinished executions are recorded in `<stateDir>/execution/` (see {@link ServerExecution.resume}).
   */
  stateDir: string;
  /** Clock (epoch ms) for event times. Default `Date.now`. */
  now?: () => number;
  /** Output caps (default 1 MiB of stream text per cell, 5 MB per display bundle). */
  limits?: Partial<OutputLimits>;
  /** Debounce of notebook writes: quiet time and longest wait, ms. Default 500 / 3000. */
  writeQuietMs?: number;
  writeMaxWaitMs?: number;
  /** How often kernels' client counts are checked for a last detach. Default 500 ms. */
  connectionPollMs?: number;
}

const normPath = (p: string): string => p.replace(/^\/+/, '');
const runKey = (msgId: string): string => msgId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 80);
const fileKey = (msgId: string, spillId: number): string => `${runKey(msgId)}-${spillId}`;
/** The fields of a stored record that start a {@link Run}. */
const pick = ({ msgId, path, cellId, kernelId, origin, code, requestedAt, recordTiming, kernelSession }: RunRecord) =>
  ({ msgId, path, cellId, kernelId, origin, code, requestedAt, recordTiming, kernelSession });

/** See the module comment. One instance per lab server; {@link close} it on exit. */
export class ServerExecution implements ExecutionService {
  /** `header.session` of the requests the server sends itself. */
  readonly serverSession = `eucp-lab-${randomUUID()}`;
  private readonly live = new Map<string, Run>();
  private readonly notebooks = new Map<string, NotebookRuns>();
  private readonly ending = new Set<Promise<void>>();
  private readonly events: EventLog;
  private readonly writer: NotebookWriter;
  private readonly spills: SpillStore;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly watcher: KernelWatch;
  private readonly store: RunStore;
  /** The unfinished executions of an earlier lab server (see {@link resume}). */
  private readonly resumption: Resumption;

  constructor(private readonly deps: ServerExecutionDeps) {
    this.log = deps.log.child({ component: 'execution' });
    this.now = deps.now ?? Date.now;
    this.events = new EventLog({ log: this.log });
    this.spills = new SpillStore(join(deps.stateDir, 'outputs'), this.log);
    this.store = new RunStore(join(deps.stateDir, 'execution'), this.log);
    this.resumption = new Resumption(this.store.loadSync(), this.resumeHost());
    this.writer = new NotebookWriter({
      contents: deps.contents,
      log: this.log,
      now: this.now,
      quietMs: deps.writeQuietMs,
      maxWaitMs: deps.writeMaxWaitMs,
      source: {
        cellStates: (p, ids) => this.notebooks.get(p)?.cellWrites(ids) ?? new Map(),
        attached: (p) => this.attached(p),
        written: (p, ids) => this.written(p, ids),
      },
    });
    this.watcher = new KernelWatch({
      kernels: deps.kernels,
      log: this.log,
      serverSession: this.serverSession,
      pollMs: deps.connectionPollMs ?? 500,
      now: this.now,
      handlers: {
        message: (k, m) => this.onMessage(k, m),
        status: (k, ev) => this.onStatus(k, ev),
        detached: (k) => {
          for (const path of this.pathsOfKernel(k.id)) void this.writer.detached(path);
        },
      },
    });
  }

  observeClientMessage(kernel: Kernel, msg: KernelMessage): void {
    try {
      if (msg.channel !== 'shell' || msg.header.msg_type !== 'execute_request') return;
      const cellId = msg.metadata['cellId'];
      if (typeof cellId !== 'string' || !CELL_ID_PATTERN.test(cellId) || msg.content['silent'] === true) return;
      const session = this.deps.sessions.forKernel(kernel.id);
      if (!session || !session.path.endsWith('.ipynb') || this.live.has(msg.header.msg_id)) return;
      const path = normPath(session.path);
      const deleted = msg.metadata['deletedCells'];
      if (Array.isArray(deleted)) this.notebooks.get(path)?.forget(deleted.filter((d): d is string => typeof d === 'string'));
      this.track(kernel, {
        msgId: msg.header.msg_id,
        path,
        cellId,
        origin: msg.header.session,
        code: typeof msg.content['code'] === 'string' ? msg.content['code'] : '',
        recordTiming: msg.metadata['recordTiming'] === true,
      });
    } catch (err) {
      this.log.error({ err }, 'cannot track an execute_request');
    }
  }

  /**
   * @throws JupyterError 400 for an invalid cell id, 409 when the kernel is dead.
   */
  async execute(req: ServerExecuteRequest): Promise<TrackedExecution> {
    if (!CELL_ID_PATTERN.test(req.cellId)) throw new JupyterError(400, `Invalid cell id: ${JSON.stringify(req.cellId)}`);
    if (req.kernel.model().execution_state === 'dead') throw new JupyterError(409, `Kernel ${req.kernel.id} is dead; restart it first`);
    await this.watcher.learnSession(req.kernel, 5000);
    const msg = this.watcher.message('execute_request', {
      code: req.code,
      silent: false,
      store_history: true,
      user_expressions: {},
      allow_stdin: false,
      stop_on_error: true,
    });
    msg.metadata = { cellId: req.cellId };
    const run = this.track(req.kernel, {
      msgId: msg.header.msg_id,
      path: normPath(req.path),
      cellId: req.cellId,
      origin: 'server',
      code: req.code,
      recordTiming: false,
    });
    req.kernel.send(msg);
    return { msgId: run.msgId, done: run.done };
  }

  onEvent(listener: (ev: ExecutionEvent) => void): () => void {
    return this.events.on(listener);
  }

  snapshot(path: string): CellRunState[] {
    this.events.flushAll();
    return this.notebooks.get(normPath(path))?.snapshot() ?? [];
  }

  lastSeq(): number {
    return this.events.lastSeq();
  }

  eventsSince(path: string, after: number): ExecutionEvent[] | null {
    return this.events.since(normPath(path), after);
  }

  async flush(): Promise<void> {
    this.events.flushAll();
    while (this.ending.size) await Promise.all([...this.ending]);
    await this.writer.flush();
    await this.store.flush();
  }

  /** Flushes, then stops listening to kernels and stops the timers. */
  async close(): Promise<void> {
    this.watcher.close();
    this.resumption.close();
    await this.flush();
    this.writer.close();
    this.events.close();
    await this.spills.close();
  }

  // -- tracking ---------------------------------------------------------------------------

  private track(kernel: Kernel, init: { msgId: string; path: string; cellId: string; origin: string; code: string; recordTiming: boolean }): Run {
    this.watcher.watch(kernel);
    const run = new Run({
      ...init,
      kernelId: kernel.id,
      requestedAt: this.now(),
      limits: this.deps.limits,
      spillLocation: (id, kind) => this.spills.partialPath(fileKey(init.msgId, id), kind),
      kernelSession: this.watcher.session(kernel.id),
    });
    this.register(run);
    this.persist(run);
    const { msgId, path, cellId } = run;
    this.events.emit({
      kind: 'request',
      path,
      cellId,
      msgId,
      kernelId: kernel.id,
      kernelSession: run.kernelSession,
      code: run.code,
      at: run.requestedAt,
      origin: run.origin,
    });
    this.events.emit({ kind: 'state', path, cellId, msgId, state: 'queued', executionCount: null });
    this.writer.markDirty(path, cellId);
    return run;
  }

  private register(run: Run): void {
    this.live.set(run.msgId, run);
    let nb = this.notebooks.get(run.path);
    if (!nb) this.notebooks.set(run.path, (nb = new NotebookRuns(run.path)));
    nb.add(run);
  }

  /** Records an unfinished run's state on disk (at request and state changes, not per output). */
  private persist(run: Run): void {
    if (!run.kernelSession) run.kernelSession = this.watcher.session(run.kernelId);
    this.store.save(run.msgId, () => recordOf(run));
  }

  private onMessage(kernel: Kernel, msg: KernelMessage): void {
    try {
      if (this.resumption.intercept(kernel, msg)) return;
      if (msg.channel === 'iopub' && msg.header.msg_type === 'update_display_data') return this.updateDisplay(kernel, msg.content);
      const parentId = msg.parent_header.msg_id;
      const run = parentId ? this.live.get(parentId) : undefined;
      if (!run || run.kernelId !== kernel.id || run.ending) return;
      if (msg.channel === 'shell') {
        if (msg.header.msg_type === 'execute_reply') this.onReply(run, msg);
        return;
      }
      if (msg.channel !== 'iopub') return;
      switch (msg.header.msg_type) {
        case 'status':
          if (msg.content['execution_state'] === 'busy') {
            if (run.recordTiming) run.timing['iopub.status.busy'] = msg.header.date;
            this.setRunning(run, null);
          } else if (msg.content['execution_state'] === 'idle') {
            if (run.recordTiming) run.timing['iopub.status.idle'] = msg.header.date;
            run.idle = true;
            if (run.complete()) this.finish(run);
          }
          return;
        case 'execute_input': {
          if (run.recordTiming) run.timing['iopub.execute_input'] = msg.header.date;
          const n = msg.content['execution_count'];
          this.setRunning(run, typeof n === 'number' ? n : null);
          return;
        }
        default:
          this.apply(run, run.outputs.apply(msg.header.msg_type, msg.content));
      }
    } catch (err) {
      this.log.error({ err, msgType: msg.header.msg_type }, 'cannot handle a kernel message');
    }
  }

  private setRunning(run: Run, count: number | null): void {
    const changed = run.state !== 'running' || (count !== null && count !== run.executionCount);
    if (count !== null) run.executionCount = count;
    if (!changed || run.state === 'done') return;
    run.state = 'running';
    this.persist(run);
    const { path, cellId, msgId } = run;
    this.events.emit({ kind: 'state', path, cellId, msgId, state: 'running', executionCount: run.executionCount });
    this.writer.markDirty(path, cellId);
  }

  private onReply(run: Run, msg: KernelMessage): void {
    const status = msg.content['status'];
    run.status = status === 'error' || status === 'aborted' ? status : 'ok';
    const n = msg.content['execution_count'];
    if (typeof n === 'number') run.executionCount = n;
    if (run.recordTiming) {
      run.timing['shell.execute_reply'] = msg.header.date;
      const started = msg.metadata['started'];
      if (typeof started === 'string') run.timing['shell.execute_reply.started'] = started;
    }
    run.replied = true;
    const { path, cellId, msgId } = run;
    this.events.emit({ kind: 'reply', path, cellId, msgId, status: run.status, executionCount: run.executionCount });
    this.writer.markDirty(path, cellId);
    if (run.complete()) this.finish(run);
    else this.persist(run);
  }

  private apply(run: Run, up: OutputUpdate): void {
    for (const s of up.spill) this.spills.append(fileKey(run.msgId, s.spillId), s.kind, s.text);
    const { path, cellId, msgId } = run;
    for (const c of up.changes) {
      if (c.kind === 'clear') this.events.emit({ kind: 'clear', path, cellId, msgId });
      else this.events.set({ kind: 'set', path, cellId, msgId, index: c.index, output: c.output });
    }
    if (up.changes.length) this.writer.markDirty(path, cellId);
  }

  /** `update_display_data` replaces that display in every tracked cell run on this kernel. */
  private updateDisplay(kernel: Kernel, content: Record<string, unknown>): void {
    const id = displayIdOf(content);
    if (!id) return;
    for (const nb of this.notebooks.values()) {
      for (const run of nb.runs) {
        if (run.kernelId !== kernel.id || !run.outputs.displayIds().has(id)) continue;
        const up = run.outputs.updateDisplay(id, content);
        this.apply(run, up);
        if (run.ending && up.spill.length) this.background(this.finishSpills(run));
      }
    }
  }

  private onStatus(kernel: Kernel, ev: KernelStatusEvent): void {
    if (ev.state === 'restarting' || ev.state === 'autorestarting') {
      this.endAll(kernel.id, 'aborted');
      const paths = new Set(this.pathsOfKernel(kernel.id));
      const session = this.deps.sessions.forKernel(kernel.id);
      if (session) paths.add(normPath(session.path));
      this.events.emit({ kind: 'restart', kernelId: kernel.id, at: this.now() }, [...paths]);
    } else if (ev.state === 'dead') {
      this.endAll(kernel.id, 'dead');
    }
  }

  /** Ends every unfinished execution of a kernel that restarted or died. */
  private endAll(kernelId: string, status: 'aborted' | 'dead'): void {
    for (const run of [...this.live.values()]) {
      if (run.kernelId !== kernelId || run.ending) continue;
      if (!run.replied || run.replyLost) {
        run.status = status;
        run.replied = true;
        run.replyLost = false;
        const { path, cellId, msgId } = run;
        this.events.emit({ kind: 'reply', path, cellId, msgId, status, executionCount: run.executionCount });
      }
      run.idle = true;
      this.finish(run);
    }
  }

  private finish(run: Run): void {
    if (run.ending) return;
    run.ending = true;
    this.live.delete(run.msgId);
    if (run.replyLost) {
      // A resumed run: its execute_reply went to the previous server's sockets.
      run.replyLost = false;
      run.status ??= run.outputs.outputs().some((o) => o.output_type === 'error') ? 'error' : 'ok';
      const { path, cellId, msgId } = run;
      this.events.emit({ kind: 'reply', path, cellId, msgId, status: run.status, executionCount: run.executionCount });
    }
    this.background(
      (async () => {
        const { path, cellId, msgId } = run;
        try {
          this.apply(run, run.outputs.finish());
          await this.finishSpills(run);
          run.settle(this.now());
          this.events.emit({ kind: 'state', path, cellId, msgId, state: 'done', executionCount: run.executionCount });
          this.notebooks.get(path)?.prune();
          this.writer.markDirty(path, cellId);
          await this.writer.writeNow(path);
        } finally {
          // After the final write: a crash before it leaves the record for the next server.
          this.store.remove(msgId);
        }
      })(),
    );
  }

  /** Finishes the open spill blobs of a run and points its markers at their final names. */
  private async finishSpills(run: Run): Promise<void> {
    for (const id of run.outputs.spillIds()) {
      const final = await this.spills.finish(fileKey(run.msgId, id));
      if (final) this.apply(run, { changes: run.outputs.relocateSpill(id, final), spill: [] });
    }
  }

  /** Keeps a background task visible to {@link flush}; logs its failure. */
  private background(p: Promise<void>): void {
    const task = p.catch((err: unknown) => this.log.error({ err }, 'execution bookkeeping failed'));
    this.ending.add(task);
    void task.finally(() => this.ending.delete(task));
  }

  // -- resuming after a lab-server restart --------------------------------------------------

  /**
   * Resumes the executions an earlier lab server on the same state directory left
   * unfinished; call once, after the kernels were re-adopted and before serving. A run
   * whose kernel was re-adopted continues from the outputs its cell holds in the stored
   * notebook, new IOPub output is appended, and it ends on its IOPub idle (or when a
   * request queued behind it is answered: it ended while no server listened). IOPub
   * messages published while no lab server was subscribed are lost. A run whose kernel is
   * gone ends as `dead` without touching the notebook. See `resume.ts`.
   */
  resume(): Promise<void> {
    return this.resumption.resume();
  }

  private resumeHost(): ResumeHost {
    const { kernels, contents } = this.deps;
    return {
      kernels,
      contents,
      log: this.log,
      newRun: (rec) =>
        new Run({
          ...pick(rec),
          limits: this.deps.limits,
          spillLocation: (id, kind) => this.spills.partialPath(fileKey(rec.msgId, id), kind),
          firstSpillId: firstFreeSpillId(this.spills.dir, runKey(rec.msgId)),
        }),
      spill: (run, chunks) => {
        for (const c of chunks) this.spills.append(fileKey(run.msgId, c.spillId), c.kind, c.text);
      },
      adopt: (kernel, run) => {
        this.watcher.watch(kernel);
        this.register(run);
        this.persist(run);
        this.writer.markDirty(run.path, run.cellId);
      },
      deliver: (kernel, msg) => this.onMessage(kernel, msg),
      live: (msgId) => this.live.get(msgId),
      finish: (run) => this.finish(run),
      lost: (rec) => {
        const { path, cellId, msgId } = rec;
        if (!rec.replied) this.events.emit({ kind: 'reply', path, cellId, msgId, status: 'dead', executionCount: rec.executionCount });
        this.store.remove(msgId);
        this.log.info({ msgId, path, cellId }, 'execution left by the previous lab server ended with its kernel');
      },
      serverRequest: (msgType) => this.watcher.message(msgType, {}),
    };
  }

  // -- writer source and connection watch ---------------------------------------------------

  /** The writer stored these cells: their runs' outputs are now in the file (recorded once per run). */
  private written(path: string, cellIds: ReadonlySet<string>): void {
    const nb = this.notebooks.get(path);
    if (!nb) return;
    for (const [cellId, run] of nb.latestPerCell()) {
      if (!cellIds.has(cellId) || run.stored) continue;
      run.stored = true;
      if (!run.ending) this.persist(run);
    }
  }

  private attached(path: string): boolean {
    const nb = this.notebooks.get(path);
    if (!nb) return false;
    for (const id of nb.kernelIds()) if (this.watcher.connections(id) > 0) return true;
    return false;
  }

  private pathsOfKernel(kernelId: string): string[] {
    return [...this.notebooks.values()].filter((nb) => nb.runs.some((r) => r.kernelId === kernelId)).map((nb) => nb.path);
  }
}


/**
 * Writes tracked cells' outputs and execution counts into the stored notebook while no
 * browser is attached to its kernel (a browser owns the document while attached:
 * JupyterLab autosaves, and writing under it would raise its "file changed on disk"
 * dialog). Changes are debounced: a write happens `quietMs` after the last change, but
 * at least every `maxWaitMs` under a steady stream, and at once when an execution ends.
 */
import type { Logger } from 'pino';
import type { ContentsManager, NotebookOutput } from '../contents/types.js';

/** The state of one cell as it should be stored. */
export interface CellWrite {
  outputs: NotebookOutput[];
  executionCount: number | null;
  /** `metadata.execution` to store, or null to leave the cell's metadata alone. */
  timing: Record<string, string> | null;
  /** epoch ms when its execution ended; null while it runs. */
  finishedAt: number | null;
}

/** What the writer reads from the execution service. */
export interface WriterSource {
  /** Current state of the given tracked cells of `path` (all tracked cells when `cellIds` is null). */
  cellStates(path: string, cellIds: ReadonlySet<string> | null): Map<string, CellWrite>;
  /** True while a client is attached to a kernel that ran cells of `path`. */
  attached(path: string): boolean;
  /** Told after a successful write which tracked cells of `path` it stored. Optional. */
  written?(path: string, cellIds: ReadonlySet<string>): void;
}

export interface NotebookWriterOptions {
  contents: ContentsManager;
  log: Logger;
  source: WriterSource;
  /** Quiet time before a debounced write. Default 500 ms. */
  quietMs?: number;
  /** Longest delay of a debounced write under continuous changes. Default 3000 ms. */
  maxWaitMs?: number;
  /**
   * On detach, a finished cell is not rewritten if the file was saved more than this
   * long after the cell finished (the browser saved it, perhaps edited). Default 2000 ms.
   */
  savedAfterGraceMs?: number;
  now?: () => number;
}

interface PathState {
  dirty: Set<string>;
  timer: NodeJS.Timeout | null;
  firstDirtyAt: number | null;
  chain: Promise<void>;
  /** The last write failed (logged once until a write succeeds). */
  failing: boolean;
}

/** Thrown inside `updateNotebook` to write nothing when no tracked cell is in the file. */
const NOTHING_TO_WRITE = new Error('no tracked cell in the notebook');

/** See the module comment. */
export class NotebookWriter {
  private readonly paths = new Map<string, PathState>();
  private readonly quietMs: number;
  private readonly maxWaitMs: number;
  private readonly graceMs: number;
  private readonly now: () => number;
  private closed = false;

  constructor(private readonly opts: NotebookWriterOptions) {
    this.quietMs = opts.quietMs ?? 500;
    this.maxWaitMs = opts.maxWaitMs ?? 3000;
    this.graceMs = opts.savedAfterGraceMs ?? 2000;
    this.now = opts.now ?? Date.now;
  }

  /** Cell `cellId` of `path` changed: schedules a debounced write (unless a browser is attached). */
  markDirty(path: string, cellId: string): void {
    const st = this.state(path);
    st.dirty.add(cellId);
    if (this.closed || this.opts.source.attached(path)) return;
    const now = this.now();
    st.firstDirtyAt ??= now;
    const delay = Math.max(0, Math.min(this.quietMs, st.firstDirtyAt + this.maxWaitMs - now));
    if (st.timer) clearTimeout(st.timer);
    st.timer = setTimeout(() => void this.writeNow(path), delay);
    st.timer.unref();
  }

  /** Writes the dirty cells of `path` now, unless a browser is attached. Never throws. */
  writeNow(path: string): Promise<void> {
    const st = this.state(path);
    if (st.timer) clearTimeout(st.timer);
    st.timer = null;
    if (st.dirty.size === 0 || this.opts.source.attached(path)) return st.chain;
    const cells = st.dirty;
    st.dirty = new Set();
    st.firstDirtyAt = null;
    st.chain = st.chain.then(() => this.write(path, cells));
    return st.chain;
  }

  /**
   * The last client detached from a kernel that ran cells of `path`: writes every tracked
   * cell, except finished ones the file was saved well after (the browser stored those).
   */
  detached(path: string): Promise<void> {
    const st = this.state(path);
    if (st.timer) clearTimeout(st.timer);
    st.timer = null;
    if (this.opts.source.attached(path)) return st.chain;
    st.dirty = new Set();
    st.firstDirtyAt = null;
    st.chain = st.chain.then(async () => {
      const model = await this.opts.contents.get(path, { content: false }).catch(() => null);
      const savedAt = model ? Date.parse(model.last_modified) : Number.NaN;
      const cells = new Set<string>();
      for (const [cellId, s] of this.opts.source.cellStates(path, null)) {
        const browserSavedIt = s.finishedAt !== null && Number.isFinite(savedAt) && savedAt > s.finishedAt + this.graceMs;
        if (!browserSavedIt) cells.add(cellId);
      }
      await this.write(path, cells);
    });
    return st.chain;
  }

  /** Writes every notebook with pending changes (not those a browser is attached to). */
  async flush(): Promise<void> {
    await Promise.all([...this.paths.keys()].map((p) => this.writeNow(p)));
  }

  /** Stops the timers (pending changes stay unwritten unless {@link flush} ran first). */
  close(): void {
    this.closed = true;
    for (const st of this.paths.values()) if (st.timer) clearTimeout(st.timer);
  }

  private state(path: string): PathState {
    let st = this.paths.get(path);
    if (!st) this.paths.set(path, (st = { dirty: new Set(), timer: null, firstDirtyAt: null, chain: Promise.resolve(), failing: false }));
    return st;
  }

  private async write(path: string, cellIds: Set<string>): Promise<void> {
    const states = this.opts.source.cellStates(path, cellIds);
    if (states.size === 0) return;
    const st = this.state(path);
    let written = 0;
    const stored = new Set<string>();
    try {
      await this.opts.contents.updateNotebook(path, (nb) => {
        for (const cell of nb.cells) {
          if (cell.cell_type !== 'code' || typeof cell.id !== 'string') continue;
          const s = states.get(cell.id);
          if (!s) continue;
          // A copy: the contents layer may reshape what it serializes (lines arrays).
          cell.outputs = structuredClone(s.outputs);
          cell.execution_count = s.executionCount;
          if (s.timing) cell.metadata = { ...cell.metadata, execution: { ...s.timing } };
          written++;
          stored.add(cell.id);
        }
        // Deleted cells are skipped; with none left, leave the file alone.
        if (written === 0) throw NOTHING_TO_WRITE;
      });
      if (st.failing) this.opts.log.info({ path }, 'notebook writable again; outputs written');
      st.failing = false;
      this.opts.source.written?.(path, stored);
    } catch (err) {
      if (err === NOTHING_TO_WRITE || (err as { cause?: unknown })?.cause === NOTHING_TO_WRITE) return;
      // Keep the outputs in memory and retry with the next change or flush; never
      // overwrite a file we could not parse.
      for (const id of cellIds) st.dirty.add(id);
      if (!st.failing) {
        this.opts.log.warn(
          { path, err: err instanceof Error ? err.message : String(err) },
          'cannot write outputs into the notebook; they are kept in memory',
        );
      }
      st.failing = true;
    }
  }
}

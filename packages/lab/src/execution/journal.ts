import { createHash } from 'node:crypto';
import { appendFile, mkdir } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import { computeBadges } from '@eucp/core';
import type { ExecutionEvent, ExecutionService } from './types.js';
import type { Journal, JournalEntry, NotebookBadges } from './journal-types.js';

/** sha256 hex of a UTF-8 string (cell sources, notebook paths). */
export const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** API paths as the journal keys them: no leading or trailing slash. */
const keyOf = (apiPath: string): string => apiPath.replace(/^\/+|\/+$/g, '');

const runLine = z.object({
  t: z.literal('run'),
  msgId: z.string(),
  path: z.string(),
  cellId: z.string(),
  sourceHash: z.string(),
  kernelId: z.string(),
  kernelSession: z.string(),
  restartIndex: z.number().int().nonnegative(),
  at: z.number(),
});
const replyLine = z.object({
  t: z.literal('reply'),
  msgId: z.string(),
  status: z.enum(['ok', 'error', 'aborted', 'dead']),
  executionCount: z.number().int().nullable(),
});
const notebookLine = z.discriminatedUnion('t', [runLine, replyLine]);
const restartLine = z.object({ t: z.literal('restart'), kernelId: z.string(), restartIndex: z.number().int(), at: z.number() });

interface NotebookState {
  file: string;
  entries: JournalEntry[];
  byMsg: Map<string, JournalEntry>;
}

interface KernelState {
  restartIndex: number;
  /** The kernel process's session seen since the latest restart, if any. */
  session: string | null;
}

export interface FileJournalDeps {
  execution: ExecutionService;
  /** The lab server's state directory; the journal lives in `<stateDir>/journal/`. */
  stateDir: string;
  log: Logger;
}

/**
 * The execution journal kept as append-only JSON lines on disk:
 * `<stateDir>/journal/<sha256 of the notebook path>.jsonl` holds `run` lines (at each
 * `request`) and `reply` lines (status and execution count), folded by `msg_id` when
 * read; `<stateDir>/journal/kernels.jsonl` holds every kernel restart. Files are read
 * lazily on first use of a notebook, so the journal survives a lab-server restart.
 * A restart is counted on the service's `restart` event, and also when a kernel's process
 * session changes without one (a restart the service did not report). Notebook renames
 * are not followed. Write failures are logged, never thrown into the execution path.
 */
export class FileJournal implements Journal {
  private readonly dir: string;
  private readonly notebooks = new Map<string, NotebookState>();
  private kernels: Map<string, KernelState> | null = null;
  private writes: Promise<void> = Promise.resolve();
  private dirMade = false;
  /** Files whose last line was torn (crash mid-write): the next line starts on a new line. */
  private readonly torn = new Set<string>();
  private readonly unsubscribe: () => void;

  constructor(private readonly deps: FileJournalDeps) {
    this.dir = path.join(deps.stateDir, 'journal');
    this.unsubscribe = deps.execution.onEvent((ev) => {
      try {
        this.onEvent(ev);
      } catch (err) {
        deps.log.error({ err }, 'execution journal: event not recorded');
      }
    });
  }

  /** Entries of a notebook, oldest first (copies). */
  entries(apiPath: string): JournalEntry[] {
    return this.notebook(keyOf(apiPath)).entries.map((e) => ({ ...e }));
  }

  /** The restart index the journal knows for a kernel (0 if it never restarted). */
  restartIndex(kernelId: string): number {
    return this.kernelStates().get(kernelId)?.restartIndex ?? 0;
  }

  /**
   * Badges over the runs of the latest kernel that ran this notebook, with source hashes
   * computed here; see `computeBadges` in `@eucp/core` for the rules.
   */
  badges(
    apiPath: string,
    cells: { id: string; source: string; cell_type: string; hasOutputs?: boolean }[],
  ): NotebookBadges {
    const entries = this.notebook(keyOf(apiPath)).entries;
    const last = entries[entries.length - 1];
    const restartIndex = last ? this.restartIndex(last.kernelId) : 0;
    return computeBadges(
      entries,
      cells.map((c) => ({
        id: c.id,
        cell_type: c.cell_type,
        sourceHash: sha256(c.source),
        blank: c.source.trim() === '',
        ...(c.hasOutputs === undefined ? {} : { hasOutputs: c.hasOutputs }),
      })),
      { restartIndex },
    );
  }

  /** Resolves once every line recorded so far is on disk. */
  flush(): Promise<void> {
    return this.writes;
  }

  /** Stops listening to the execution service (pending writes still complete). */
  close(): void {
    this.unsubscribe();
  }

  private onEvent(ev: ExecutionEvent): void {
    if (ev.kind === 'restart') {
      this.restarted(ev.kernelId, ev.at);
    } else if (ev.kind === 'request') {
      const key = keyOf(ev.path);
      const nb = this.notebook(key);
      const k = this.kernel(ev.kernelId);
      // '' = the service did not know the kernel's session yet: no evidence either way.
      if (ev.kernelSession !== '') {
        if (k.session !== null && k.session !== ev.kernelSession) this.restarted(ev.kernelId, ev.at);
        k.session = ev.kernelSession;
      }
      const entry: JournalEntry = {
        path: key,
        cellId: ev.cellId,
        sourceHash: sha256(ev.code),
        executionCount: null,
        kernelId: ev.kernelId,
        kernelSession: ev.kernelSession,
        restartIndex: k.restartIndex,
        status: 'running',
        at: ev.at,
      };
      nb.entries.push(entry);
      nb.byMsg.set(ev.msgId, entry);
      const { executionCount: _c, status: _s, ...rest } = entry;
      this.append(nb.file, { t: 'run', msgId: ev.msgId, ...rest });
    } else if (ev.kind === 'reply') {
      const nb = this.notebook(keyOf(ev.path));
      const entry = nb.byMsg.get(ev.msgId);
      if (!entry) return; // requested before the journal listened
      entry.status = ev.status;
      entry.executionCount = ev.executionCount;
      this.append(nb.file, { t: 'reply', msgId: ev.msgId, status: ev.status, executionCount: ev.executionCount });
    }
  }

  private restarted(kernelId: string, at: number): void {
    const k = this.kernel(kernelId);
    k.restartIndex += 1;
    k.session = null;
    this.append(path.join(this.dir, 'kernels.jsonl'), { t: 'restart', kernelId, restartIndex: k.restartIndex, at });
  }

  private kernel(kernelId: string): KernelState {
    const all = this.kernelStates();
    let k = all.get(kernelId);
    if (!k) all.set(kernelId, (k = { restartIndex: 0, session: null }));
    return k;
  }

  private kernelStates(): Map<string, KernelState> {
    if (this.kernels) return this.kernels;
    this.kernels = new Map();
    for (const raw of this.readLines(path.join(this.dir, 'kernels.jsonl'))) {
      const line = restartLine.safeParse(raw);
      if (!line.success) continue;
      const k = this.kernels.get(line.data.kernelId) ?? { restartIndex: 0, session: null };
      k.restartIndex = Math.max(k.restartIndex, line.data.restartIndex);
      this.kernels.set(line.data.kernelId, k);
    }
    return this.kernels;
  }

  private notebook(key: string): NotebookState {
    let nb = this.notebooks.get(key);
    if (nb) return nb;
    nb = { file: path.join(this.dir, `${sha256(key)}.jsonl`), entries: [], byMsg: new Map() };
    for (const raw of this.readLines(nb.file)) {
      const parsed = notebookLine.safeParse(raw);
      if (!parsed.success) continue;
      const line = parsed.data;
      if (line.t === 'run') {
        const { t: _t, msgId, ...rest } = line;
        const entry: JournalEntry = { ...rest, executionCount: null, status: 'running' };
        nb.entries.push(entry);
        nb.byMsg.set(msgId, entry);
      } else {
        const entry = nb.byMsg.get(line.msgId);
        if (entry) Object.assign(entry, { status: line.status, executionCount: line.executionCount });
      }
    }
    this.notebooks.set(key, nb);
    return nb;
  }

  /** Parsed JSON lines of a journal file; a missing file is empty, a torn last line is skipped. */
  private readLines(file: string): unknown[] {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.deps.log.warn({ err, file }, 'execution journal unreadable');
      return [];
    }
    if (text !== '' && !text.endsWith('\n')) this.torn.add(file);
    const out: unknown[] = [];
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      try {
        out.push(JSON.parse(line));
      } catch {
        this.deps.log.warn({ file }, 'execution journal: skipping a damaged line');
      }
    }
    return out;
  }

  /** Appends one line; writes are serialised so lines keep the order of events. */
  private append(file: string, record: Record<string, unknown>): void {
    const line = `${this.torn.delete(file) ? '\n' : ''}${JSON.stringify(record)}\n`;
    this.writes = this.writes
      .then(async () => {
        if (!this.dirMade) await mkdir(this.dir, { recursive: true, mode: 0o700 });
        this.dirMade = true;
        await appendFile(file, line, { mode: 0o600 });
      })
      .catch((err: unknown) => {
        this.deps.log.error({ err, file }, 'execution journal: line not written');
      });
  }
}

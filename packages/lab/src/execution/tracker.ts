/**
 * Tracked executions: one {@link Run} per `execute_request` that carries a cell id, and
 * the per-notebook list of them (bounded), which is what snapshots and notebook writes
 * read from.
 */
import { CellOutputs, type OutputLimits } from '@eucp/core';
import type { NotebookOutput } from '../contents/types.js';
import type { CellRunState, ExecutionResult, RunState } from './types.js';
import type { CellWrite } from './writer.js';

/** What identifies and describes a new execution. */
export interface RunInit {
  msgId: string;
  path: string;
  cellId: string;
  kernelId: string;
  origin: string;
  code: string;
  requestedAt: number;
  /** JupyterLab's `recordTiming`: store `metadata.execution` timestamps in the cell. */
  recordTiming: boolean;
  limits?: Partial<OutputLimits>;
  spillLocation: (spillId: number, kind: 'text' | 'json') => string;
  /** First spill id of this run (a resumed run starts above its earlier blobs). Default 1. */
  firstSpillId?: number;
  /** The kernel process's session when requested ('' = not known yet). */
  kernelSession?: string;
}

/** One tracked execution of one cell. */
export class Run {
  readonly msgId: string;
  readonly path: string;
  readonly cellId: string;
  readonly kernelId: string;
  readonly origin: string;
  readonly code: string;
  readonly requestedAt: number;
  readonly recordTiming: boolean;
  readonly outputs: CellOutputs;
  state: RunState = 'queued';
  executionCount: number | null = null;
  status: ExecutionResult['status'] | null = null;
  replied = false;
  idle = false;
  /** Set once the end was handled (spills finished, `done` resolved). */
  ending = false;
  /** The kernel process's session ('' = not known). */
  kernelSession: string;
  /** Its outputs were written into the stored notebook at least once. */
  stored = false;
  /**
   * Resumed by a later lab server, whose sockets the execute_reply cannot reach: the run
   * ends on its IOPub idle, and its reply is announced then (status from its outputs).
   */
  replyLost = false;
  finishedAt: number | null = null;
  /** `metadata.execution` timestamps (ISO strings) collected from message headers. */
  readonly timing: Record<string, string> = {};
  readonly done: Promise<ExecutionResult>;
  private resolveDone!: (r: ExecutionResult) => void;

  constructor(init: RunInit) {
    this.msgId = init.msgId;
    this.path = init.path;
    this.cellId = init.cellId;
    this.kernelId = init.kernelId;
    this.origin = init.origin;
    this.code = init.code;
    this.requestedAt = init.requestedAt;
    this.recordTiming = init.recordTiming;
    this.kernelSession = init.kernelSession ?? '';
    this.outputs = new CellOutputs({ limits: init.limits, spillLocation: init.spillLocation, firstSpillId: init.firstSpillId });
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  /** Reply and idle both seen (they travel on different sockets, in either order). */
  complete(): boolean {
    return this.replied && this.idle;
  }

  settle(at: number): ExecutionResult {
    this.state = 'done';
    this.finishedAt = at;
    const result: ExecutionResult = {
      status: this.status ?? 'ok',
      executionCount: this.executionCount,
      outputs: this.outputs.outputs() as NotebookOutput[],
    };
    this.resolveDone(result);
    return result;
  }

  view(): CellRunState {
    return {
      path: this.path,
      cellId: this.cellId,
      msgId: this.msgId,
      state: this.state,
      executionCount: this.executionCount,
      outputs: this.outputs.outputs() as NotebookOutput[],
    };
  }
}

/** Finished executions kept per notebook (older ones are forgotten; the file has them). */
export const KEEP_FINISHED_PER_NOTEBOOK = 100;

/** The tracked executions of one notebook, in request order. */
export class NotebookRuns {
  readonly runs: Run[] = [];

  constructor(readonly path: string) {}

  add(run: Run): void {
    this.runs.push(run);
  }

  /** Forgets the oldest finished executions beyond {@link KEEP_FINISHED_PER_NOTEBOOK}. */
  prune(): void {
    let finished = this.runs.filter((r) => r.state === 'done').length;
    for (let i = 0; i < this.runs.length && finished > KEEP_FINISHED_PER_NOTEBOOK; ) {
      if (this.runs[i]!.state === 'done') {
        this.runs.splice(i, 1);
        finished--;
      } else i++;
    }
  }

  /** Latest execution of each cell, in request order of those executions. */
  latestPerCell(): Map<string, Run> {
    const latest = new Map<string, Run>();
    for (const r of this.runs) {
      latest.delete(r.cellId);
      latest.set(r.cellId, r);
    }
    return latest;
  }

  /**
   * What a view shows: every unfinished execution, plus the finished ones no later
   * execution of the same cell superseded; in request order.
   */
  snapshot(): CellRunState[] {
    const latest = this.latestPerCell();
    return this.runs.filter((r) => r.state !== 'done' || latest.get(r.cellId) === r).map((r) => r.view());
  }

  /** Forgets the finished executions of deleted cells. */
  forget(cellIds: string[]): void {
    const gone = new Set(cellIds);
    for (let i = this.runs.length - 1; i >= 0; i--) {
      const r = this.runs[i]!;
      if (r.state === 'done' && gone.has(r.cellId)) this.runs.splice(i, 1);
    }
  }

  /** What to store for the latest execution of the given cells (all tracked cells when null). */
  cellWrites(cellIds: ReadonlySet<string> | null): Map<string, CellWrite> {
    const out = new Map<string, CellWrite>();
    for (const [cellId, run] of this.latestPerCell()) {
      if (cellIds && !cellIds.has(cellId)) continue;
      out.set(cellId, {
        outputs: run.outputs.outputs() as CellWrite['outputs'],
        executionCount: run.executionCount,
        timing: run.recordTiming && Object.keys(run.timing).length ? { ...run.timing } : null,
        finishedAt: run.finishedAt,
      });
    }
    return out;
  }

  kernelIds(): Set<string> {
    return new Set(this.runs.map((r) => r.kernelId));
  }
}

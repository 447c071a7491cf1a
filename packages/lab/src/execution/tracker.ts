/**
 * Tracked executions: one {@link Run} per `execute_request` that carries a cell id, and
 * the per-notebook list of them (bounded), which is what snapshots and notebook writes
 * read from.
 */
import { CellOutputs, type OutputLimits } from '@eucp/core';
import type { NotebookOutput } from '../contents/types.js';
import type { CellRunState, ExecutionResult, RunState } from './types.js';

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
    this.outputs = new CellOutputs({ limits: init.limits, spillLocation: init.spillLocation });
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

  kernelIds(): Set<string> {
    return new Set(this.runs.map((r) => r.kernelId));
  }
}

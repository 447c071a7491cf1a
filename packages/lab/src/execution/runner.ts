import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { compareOutputs, type ComparedCell, type OutputCompareOptions, type Divergence } from '@eucp/core';
import type { ContentsManager, Notebook } from '../contents/types.js';
import type { Kernel } from '../kernels/types.js';
import { JupyterError } from '../http/errors.js';
import type { ExecutionService } from './types.js';

/** `running` until the replay ends; `failed` when it could not be carried out (not when outputs differ). */
export type VerifyState = 'running' | 'done' | 'failed';

/** The report of one "restart and run all, verify" run (`GET api/eucp/runs/{id}`). */
export interface VerifyReport {
  runId: string;
  path: string;
  kernelId: string;
  state: VerifyState;
  /** null while running or when the run failed. */
  reproducible: boolean | null;
  /** The first cell whose replayed outputs differ from the stored ones. */
  divergedAt: Divergence | null;
  /** Code cells executed (blank ones count as run: front-ends skip them too). */
  cellsRun: number;
  cellsTotal: number;
  /** epoch ms */
  startedAt: number;
  finishedAt: number | null;
  /** Why the run failed (`state: 'failed'`). */
  error: string | null;
}

export interface VerifyRunnerDeps {
  execution: ExecutionService;
  contents: ContentsManager;
  log: Logger;
  /** Numeric tolerance and options of the comparison (defaults of `compareOutputs`). */
  compare?: OutputCompareOptions;
  /** Finished reports kept in memory, oldest forgotten first. Default 100. */
  keepRuns?: number;
}

const sourceOf = (s: string | string[]): string => (Array.isArray(s) ? s.join('') : s);

/**
 * "Restart and run all, verify" (notebook-designs.md D4): reads the stored notebook and
 * remembers each code cell's outputs, restarts the kernel, runs every code cell in
 * document order through server-owned execution (which writes the new outputs into the
 * stored notebook), stops at the first error as JupyterLab's "run all" does, and compares
 * the outputs nbval-style. Reports live in memory by run id; one run per notebook at a time.
 */
export class VerifyRunner {
  private readonly runs = new Map<string, { report: VerifyReport; finished: Promise<VerifyReport> }>();
  private readonly busy = new Set<string>();

  constructor(private readonly deps: VerifyRunnerDeps) {}

  /**
   * Starts a verify run of the notebook at `apiPath` on `kernel` and returns its report
   * (state `running`) once the stored notebook has been read; the replay goes on in the
   * background. Throws 409 while a run of that notebook is going on, and the contents
   * manager's error (404, 400) when the notebook cannot be read.
   */
  async start(apiPath: string, kernel: Kernel): Promise<VerifyReport> {
    if (this.busy.has(apiPath)) throw new JupyterError(409, `A verify run of ${apiPath} is already running`);
    this.busy.add(apiPath);
    let nb: Notebook;
    try {
      const model = await this.deps.contents.get(apiPath, { type: 'notebook', content: true });
      nb = model.content as Notebook;
    } catch (err) {
      this.busy.delete(apiPath);
      throw err;
    }
    const cells = nb.cells
      .map((c, index) => ({ c, index }))
      .filter(({ c }) => c.cell_type === 'code')
      .map(({ c, index }) => ({
        cellId: c.id ?? `cell-${index}`,
        cellIndex: index,
        code: sourceOf(c.source),
        outputs: c.outputs ?? [],
      }));
    const report: VerifyReport = {
      runId: randomUUID(),
      path: apiPath,
      kernelId: kernel.id,
      state: 'running',
      reproducible: null,
      divergedAt: null,
      cellsRun: 0,
      cellsTotal: cells.length,
      startedAt: Date.now(),
      finishedAt: null,
      error: null,
    };
    const finished = this.replay(report, kernel, cells).finally(() => this.busy.delete(apiPath));
    this.runs.set(report.runId, { report, finished });
    this.forgetOld();
    return { ...report };
  }

  /** A copy of the report of a run, or undefined for an unknown (or forgotten) id. */
  get(runId: string): VerifyReport | undefined {
    const r = this.runs.get(runId);
    return r ? { ...r.report } : undefined;
  }

  /** Settles with the final report when the run ends (never rejects). */
  finished(runId: string): Promise<VerifyReport> | undefined {
    return this.runs.get(runId)?.finished;
  }

  /** Whether a verify run of the notebook is going on. */
  running(apiPath: string): boolean {
    return this.busy.has(apiPath);
  }

  private async replay(
    report: VerifyReport,
    kernel: Kernel,
    cells: { cellId: string; cellIndex: number; code: string; outputs: ComparedCell['outputs'] }[],
  ): Promise<VerifyReport> {
    const log = this.deps.log.child({ runId: report.runId, path: report.path, kernelId: kernel.id });
    const actual: ComparedCell[] = [];
    try {
      await kernel.restart();
      for (const cell of cells) {
        if (cell.code.trim() === '') {
          actual.push({ cellId: cell.cellId, outputs: [] });
          report.cellsRun++;
          continue;
        }
        const tracked = await this.deps.execution.execute({ kernel, path: report.path, cellId: cell.cellId, code: cell.code });
        const result = await tracked.done;
        actual.push({ cellId: cell.cellId, outputs: result.outputs });
        report.cellsRun++;
        if (result.status !== 'ok') break;
      }
      const cmp = compareOutputs(cells, actual, this.deps.compare);
      report.reproducible = cmp.reproducible;
      report.divergedAt = cmp.divergedAt ?? null;
      report.state = 'done';
      log.info({ reproducible: cmp.reproducible, divergedAt: cmp.divergedAt?.cellIndex }, 'verify run done');
    } catch (err) {
      report.state = 'failed';
      report.error = err instanceof Error ? err.message : String(err);
      log.warn({ err }, 'verify run failed');
    }
    report.finishedAt = Date.now();
    return { ...report };
  }

  private forgetOld(): void {
    const keep = this.deps.keepRuns ?? 100;
    for (const [id, r] of this.runs) {
      if (this.runs.size <= keep) break;
      if (r.report.state !== 'running') this.runs.delete(id);
    }
  }
}

/**
 * The execution journal (notebook-designs.md D4): for every kernel, the real order of
 * executions (cell id, source hash at run time, execution count, kernel session,
 * restarts), kept on disk under the lab server's state directory, and the trust badges
 * derived from it for a notebook.
 */
export interface Journal {
  /** Entries for one notebook, oldest first. */
  entries(path: string): JournalEntry[];
  /**
   * Badges of a notebook given its current cells in document order (the browser's, maybe
   * unsaved). `hasOutputs` (optional, default true): the cell shows outputs or an execution
   * count; false after "clear outputs", so a cell that ran before a restart is not stale.
   */
  badges(path: string, cells: { id: string; source: string; cell_type: string; hasOutputs?: boolean }[]): NotebookBadges;
}

export interface JournalEntry {
  path: string;
  cellId: string;
  /** sha256 hex of the source as executed. */
  sourceHash: string;
  executionCount: number | null;
  kernelId: string;
  kernelSession: string;
  /** Increases by one with every restart of that kernel. */
  restartIndex: number;
  status: 'ok' | 'error' | 'aborted' | 'dead' | 'running';
  /** epoch ms */
  at: number;
}

export interface NotebookBadges {
  /** Executions in the current kernel session did not follow document order. */
  outOfOrder: boolean;
  /** Cell ids that ran after a cell below them in the current kernel session. */
  outOfOrderCells: string[];
  /** Cells whose output no longer matches their source or their inputs. */
  stale: { cellId: string; reason: 'source-changed' | 'upstream-rerun' | 'kernel-restarted' }[];
  /** Cells that ran in this kernel session but were since deleted from the document. */
  orphaned: string[];
  /** The kernel was restarted and only part of the document ran since. */
  restartedMidDocument: boolean;
}

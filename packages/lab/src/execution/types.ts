import type { Kernel, KernelMessage } from '../kernels/types.js';
import type { NotebookOutput } from '../contents/types.js';

/**
 * Server-owned execution (notebook-designs.md D1, D4, D10): the lab server maps every
 * execution to its notebook and cell and writes outputs into the stored notebook whether
 * or not a browser is attached, and records the real order of executions per kernel.
 */
export interface ExecutionService {
  /**
   * Called by the kernel WebSocket bridge with every message a client sends, before it
   * reaches the kernel; `execute_request`s carrying JupyterLab's `cellId` metadata (and a
   * session whose path is a notebook) start being tracked here.
   */
  observeClientMessage(kernel: Kernel, msg: KernelMessage): void;
  /**
   * Runs `code` for `cellId` of the notebook at `path` on `kernel` from the server itself
   * (no browser needed). Outputs are tracked exactly like a browser's execution.
   */
  execute(req: ServerExecuteRequest): Promise<TrackedExecution>;
  /** Listens to the life of every tracked execution (journal, activity, event streams). */
  onEvent(listener: (ev: ExecutionEvent) => void): () => void;
  /** Current state of the tracked executions of a notebook (for a reconnecting view). */
  snapshot(path: string): CellRunState[];
  /**
   * `seq` of the latest event (0 before any); a {@link snapshot} taken now is as of this
   * seq. Optional (fakes may omit it; views then number from the events they see).
   */
  lastSeq?(): number;
  /**
   * The events of notebook `path` with `seq > after`, oldest first, from a bounded
   * per-notebook ring; null when some of them are no longer kept (take a snapshot).
   * Optional (without it, resuming views always get a snapshot).
   */
  eventsSince?(path: string, after: number): ExecutionEvent[] | null;
  /** Writes every pending notebook update now (server exit, tests). */
  flush(): Promise<void>;
}

export interface ServerExecuteRequest {
  kernel: Kernel;
  path: string;
  cellId: string;
  code: string;
}

export interface TrackedExecution {
  /** `msg_id` of the execute_request. */
  msgId: string;
  /** Settles when the execute_reply arrived and the kernel went idle for it. */
  done: Promise<ExecutionResult>;
}

export interface ExecutionResult {
  status: 'ok' | 'error' | 'aborted' | 'dead';
  executionCount: number | null;
  outputs: NotebookOutput[];
}

export type RunState = 'queued' | 'running' | 'done';

/** What a view needs to show a cell's execution: its full outputs so far. */
export interface CellRunState {
  path: string;
  cellId: string;
  msgId: string;
  state: RunState;
  executionCount: number | null;
  outputs: NotebookOutput[];
}

/**
 * Events of tracked executions, in order, numbered per lab server (`seq` increases by one).
 * `set` replaces `outputs[index]` (or appends when `index` equals the current length);
 * `clear` empties the outputs (after `clear_output`, applied when the next output comes
 * if it was `wait=True`).
 */
export type ExecutionEvent =
  | {
      kind: 'request';
      seq: number;
      path: string;
      cellId: string;
      msgId: string;
      kernelId: string;
      /** The kernel process's session (changes on restart). */
      kernelSession: string;
      code: string;
      /** epoch ms */
      at: number;
      /** `server` for {@link ExecutionService.execute}, else the client's session id. */
      origin: string;
    }
  | { kind: 'state'; seq: number; path: string; cellId: string; msgId: string; state: RunState; executionCount: number | null }
  | { kind: 'set'; seq: number; path: string; cellId: string; msgId: string; index: number; output: NotebookOutput }
  | { kind: 'clear'; seq: number; path: string; cellId: string; msgId: string }
  | {
      kind: 'reply';
      seq: number;
      path: string;
      cellId: string;
      msgId: string;
      status: ExecutionResult['status'];
      executionCount: number | null;
    }
  | { kind: 'restart'; seq: number; kernelId: string; at: number };

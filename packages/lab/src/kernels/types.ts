/**
 * The seam between the lab server's HTTP/WebSocket side and the kernels it runs. The
 * ZeroMQ side (`kernels/manager.ts`, `kernels/connection.ts`) implements it; the REST
 * routes, the WebSocket bridge, sessions and server-owned execution only use it.
 */

/** The five ZeroMQ channels of the Jupyter messaging protocol (heartbeat is internal). */
export type Channel = 'shell' | 'iopub' | 'stdin' | 'control';

/** Jupyter message header (messaging spec 5.x). */
export interface MessageHeader {
  msg_id: string;
  msg_type: string;
  session: string;
  username: string;
  date: string;
  version: string;
  [key: string]: unknown;
}

/**
 * One Jupyter message as the lab server handles it, already verified and parsed.
 * `buffers` are the raw extra frames (comm/widget binary data), never JSON.
 */
export interface KernelMessage {
  channel: Channel;
  header: MessageHeader;
  /** `{}` when the message has no parent. */
  parent_header: Partial<MessageHeader>;
  metadata: Record<string, unknown>;
  content: Record<string, unknown>;
  buffers: Uint8Array[];
}

/** `execution_state` as JupyterLab knows it; `dead` once the process is gone for good. */
export type ExecutionState =
  | 'starting'
  | 'idle'
  | 'busy'
  | 'restarting'
  | 'autorestarting'
  | 'dead';

/** The REST model of a kernel (`GET api/kernels/{id}`), jupyter-server-api.md b.1. */
export interface KernelModel {
  id: string;
  name: string;
  /** ISO 8601 UTC. */
  last_activity: string;
  execution_state: ExecutionState;
  /** Number of WebSocket clients attached. */
  connections: number;
}

/** Why the kernel changed state, as seen by listeners of {@link Kernel.onStatus}. */
export interface KernelStatusEvent {
  state: ExecutionState;
  /** Set when the process exited: its exit code or signal. */
  exit?: { code: number | null; signal: string | null };
}

/**
 * One running kernel, spoken to directly over ZeroMQ. Every method is safe to call after
 * the kernel died: sends are dropped, `interrupt`/`restart` reject with a clear error.
 */
export interface Kernel {
  readonly id: string;
  /** Kernelspec name, e.g. `python3` or `ir`. */
  readonly name: string;
  model(): KernelModel;
  /**
   * Signs and sends a message to the kernel on `msg.channel` (`shell`, `control`, `stdin`).
   * The caller fills in the header; `session` is kept as given so the client that made
   * the request recognises the replies.
   */
  send(msg: KernelMessage): void;
  /**
   * Calls `listener` for every message the kernel sends, on every channel (iopub,
   * shell/control replies, stdin requests), in arrival order per channel. Returns the
   * unsubscribe function.
   */
  onMessage(listener: (msg: KernelMessage) => void): () => void;
  /** Calls `listener` on every change of execution state, including death. */
  onStatus(listener: (ev: KernelStatusEvent) => void): () => void;
  /** Interrupts per the kernelspec's `interrupt_mode` (signal or `interrupt_request`). */
  interrupt(): Promise<void>;
  /**
   * Restarts the process with the same connection info (ports, key), so connected
   * clients keep working; resolves once the new process answers `kernel_info_request`.
   */
  restart(): Promise<void>;
  /** Asks the kernel to shut down, kills it after a grace period; idempotent. */
  shutdown(): Promise<void>;
  /** Count of attached WebSocket clients, maintained by the WebSocket bridge. */
  connections: number;
  /** Marks activity (ISO time kept in the model's `last_activity`). */
  touch(): void;
}

/** Kernelspec as found on disk (`kernel.json` plus its resource files). */
export interface KernelSpec {
  name: string;
  /** Directory holding `kernel.json`, `logo-64x64.png`… */
  resourceDir: string;
  spec: {
    argv: string[];
    display_name: string;
    language: string;
    interrupt_mode?: 'signal' | 'message';
    env?: Record<string, string>;
    metadata?: Record<string, unknown>;
  };
  /** Resource file names relative to `resourceDir` (`logo-64x64.png`, `kernel.js`…). */
  resources: string[];
}

export interface StartKernelOptions {
  /** Kernelspec name; the default kernel when omitted. */
  name?: string;
  /** Absolute working directory of the kernel process. */
  cwd: string;
  /** Extra environment (e.g. `JPY_SESSION_NAME`). */
  env?: Record<string, string>;
}

/** All kernels of one lab server. */
export interface KernelManager {
  /** Kernelspecs by name, re-read from the standard Jupyter data paths on each call. */
  specs(): Promise<{ default: string; kernelspecs: Record<string, KernelSpec> }>;
  list(): Kernel[];
  get(id: string): Kernel | undefined;
  /** Launches and waits until the kernel answers `kernel_info_request`. Throws on unknown spec. */
  start(opts: StartKernelOptions): Promise<Kernel>;
  /** Shuts down and forgets the kernel; unknown ids are ignored. */
  shutdown(id: string): Promise<void>;
  /** Shuts down every kernel (server exit). */
  shutdownAll(): Promise<void>;
  /** Called with every newly started (or re-adopted) kernel. */
  onKernel(listener: (k: Kernel) => void): () => void;
}

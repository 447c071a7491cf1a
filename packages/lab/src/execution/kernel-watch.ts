/**
 * The kernels server-owned execution listens to: one subscription per kernel (every
 * kernel the manager starts or re-adopts, and any kernel handed to `execute`), the
 * kernel process's session id as last seen, and a cheap poll of each kernel's client
 * count that reports when the last client detached.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Kernel, KernelManager, KernelMessage, KernelStatusEvent } from '../kernels/types.js';

/** What the watcher tells its owner. */
export interface KernelWatchHandlers {
  message(kernel: Kernel, msg: KernelMessage): void;
  status(kernel: Kernel, ev: KernelStatusEvent): void;
  /** The kernel's client count went from at least one to zero. */
  detached(kernel: Kernel): void;
}

interface Track {
  kernel: Kernel;
  unsubs: (() => void)[];
  session: string | null;
  connections: number;
  waiters: Map<string, () => void>;
}

export interface KernelWatchOptions {
  kernels: KernelManager;
  log: Logger;
  handlers: KernelWatchHandlers;
  /** `header.session` of the requests the server sends itself. */
  serverSession: string;
  /** Poll period of the client counts, ms. */
  pollMs: number;
  now: () => number;
}

/** See the module comment. */
export class KernelWatch {
  private readonly tracks = new Map<string, Track>();
  private readonly unsubscribe: () => void;
  private readonly poll: NodeJS.Timeout;

  constructor(private readonly opts: KernelWatchOptions) {
    this.unsubscribe = opts.kernels.onKernel((k) => this.watch(k));
    for (const k of opts.kernels.list()) this.watch(k);
    this.poll = setInterval(() => this.checkConnections(), opts.pollMs);
    this.poll.unref();
  }

  /** Subscribes to a kernel once (again if the manager replaced the object of that id). */
  watch(kernel: Kernel): void {
    const old = this.tracks.get(kernel.id);
    if (old?.kernel === kernel) return;
    if (old) for (const u of old.unsubs) u();
    const t: Track = { kernel, unsubs: [], session: null, connections: kernel.connections, waiters: new Map() };
    t.unsubs.push(
      kernel.onMessage((msg) => {
        if (typeof msg.header.session === 'string' && msg.header.session) {
          t.session = msg.header.session;
          // Any message names the session; no need to wait for our kernel_info (maybe queued behind a cell).
          for (const resolve of t.waiters.values()) resolve();
        }
        this.opts.handlers.message(kernel, msg);
      }),
      kernel.onStatus((ev) => {
        if (ev.state === 'restarting' || ev.state === 'autorestarting') t.session = null;
        this.opts.handlers.status(kernel, ev);
      }),
    );
    this.tracks.set(kernel.id, t);
  }

  /** The kernel process's `header.session` as last seen ('' when not yet known). */
  session(kernelId: string): string {
    return this.tracks.get(kernelId)?.session ?? '';
  }

  /** Client count of a watched kernel (0 for unknown ones). */
  connections(kernelId: string): number {
    return this.tracks.get(kernelId)?.kernel.connections ?? 0;
  }

  /** Builds a shell request from the server's own session. */
  message(msgType: string, content: Record<string, unknown>): KernelMessage {
    const header = {
      msg_id: randomUUID(),
      msg_type: msgType,
      session: this.opts.serverSession,
      username: '',
      date: new Date(this.opts.now()).toISOString(),
      version: '5.3',
    };
    return { channel: 'shell', header, parent_header: {}, metadata: {}, content, buffers: [] };
  }

  /**
   * Makes sure the kernel's session is known, asking `kernel_info` when it is not (the
   * reply's header names it). Gives up silently after `timeoutMs`.
   */
  async learnSession(kernel: Kernel, timeoutMs: number): Promise<void> {
    this.watch(kernel);
    const t = this.tracks.get(kernel.id)!;
    if (t.session !== null) return;
    const msg = this.message('kernel_info_request', {});
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      t.waiters.set(msg.header.msg_id, resolve);
      timer = setTimeout(resolve, timeoutMs);
      kernel.send(msg);
    });
    clearTimeout(timer);
    t.waiters.delete(msg.header.msg_id);
  }

  close(): void {
    this.unsubscribe();
    clearInterval(this.poll);
    for (const t of this.tracks.values()) for (const u of t.unsubs) u();
    this.tracks.clear();
  }

  private checkConnections(): void {
    for (const [id, t] of this.tracks) {
      if (this.opts.kernels.get(id) !== t.kernel && t.kernel.model().execution_state === 'dead') {
        // Shut down and forgotten by the manager.
        for (const u of t.unsubs) u();
        this.tracks.delete(id);
        continue;
      }
      const now = t.kernel.connections;
      const was = t.connections;
      t.connections = now;
      if (was > 0 && now === 0) {
        try {
          this.opts.handlers.detached(t.kernel);
        } catch (err) {
          this.opts.log.error({ err }, 'detach handler threw');
        }
      }
    }
  }
}

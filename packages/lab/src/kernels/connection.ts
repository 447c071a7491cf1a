/**
 * The ZeroMQ sockets to one kernel (jupyter-server-api.md d.2): a DEALER each for shell,
 * control and stdin (same routing id, so `input_request`s come back to us), a SUB for
 * iopub and a REQ for the heartbeat. Sockets connect (the kernel binds) and reconnect on
 * their own, so one connection survives a kernel restart on the same ports.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import * as zmq from 'zeromq';
import { z } from 'zod';
import type { Channel, KernelMessage } from './types.js';
import { createSigner, deserialize, newMessage, serialize, WireError, type Signer } from './wire.js';

/** The connection file (d.1); unknown fields are kept. */
export const connectionInfoSchema = z.looseObject({
  shell_port: z.number().int().positive(),
  iopub_port: z.number().int().positive(),
  stdin_port: z.number().int().positive(),
  control_port: z.number().int().positive(),
  hb_port: z.number().int().positive(),
  ip: z.string().min(1),
  key: z.string(),
  transport: z.enum(['tcp', 'ipc']),
  signature_scheme: z.string(),
  kernel_name: z.string().optional(),
});
export type ConnectionInfo = z.infer<typeof connectionInfoSchema>;

/** The ZeroMQ address of one channel (`tcp://ip:port` or `ipc://ip-port`). */
export function channelUrl(info: ConnectionInfo, channel: Channel | 'hb'): string {
  const port = info[`${channel}_port`];
  return info.transport === 'tcp' ? `tcp://${info.ip}:${port}` : `ipc://${info.ip}-${port}`;
}

/** A reply (or timeout) to a request made with {@link KernelConnection.request}. */
export class RequestTimeout extends Error {
  constructor(msgType: string, timeoutMs: number) {
    super(`no reply to ${msgType} within ${timeoutMs} ms`);
    this.name = 'RequestTimeout';
  }
}

/** Heartbeat settings: one `ping` every `intervalMs`, a miss when no echo within `timeoutMs`. */
export interface HeartbeatOptions {
  intervalMs: number;
  timeoutMs: number;
  /** Called after every beat: `missed` = consecutive misses so far (0 = answered). */
  onBeat(missed: number): void;
}

/** How many recent signatures are remembered to refuse replayed messages. */
const REPLAY_HISTORY = 4096;
/** Socket linger on close (jupyter_client uses 1000 ms; we close only after the kernel answered or died). */
const LINGER_MS = 100;
/**
 * Retry interval of a connect that failed. The sockets connect before the kernel has bound
 * its ports, so the first attempts are refused; libzmq's default of 100 ms added 50–150 ms
 * to every kernel start (shell and iopub each waited for their next retry). Sockets are
 * closed once a kernel is dead, so fast retries only happen during a start or restart.
 */
const RECONNECT_MS = 10;
/**
 * IOPub messages the SUB socket may queue while we are busy (libzmq's default is 1000).
 * Past the limit ZeroMQ drops messages silently: a cell flushing one line per print lost
 * output, and sometimes its final `status: idle`, whenever the lab server fell 1000
 * messages behind the kernel (a loaded machine). Bounded, so a runaway kernel cannot
 * grow the queue without limit.
 */
const IOPUB_QUEUE = 100_000;

type Writable = zmq.Dealer | zmq.Request;

/**
 * An open set of sockets to one kernel. Messages with a bad signature, replayed or
 * malformed messages are dropped with a warning. Closing is idempotent.
 */
export class KernelConnection {
  /** Our session id: header `session` of our own requests and the DEALERs' routing id. */
  readonly session: string;
  private readonly signer: Signer;
  private readonly log: Logger;
  private readonly sockets: { shell: zmq.Dealer; control: zmq.Dealer; stdin: zmq.Dealer; iopub: zmq.Subscriber };
  private readonly listeners = new Set<(msg: KernelMessage) => void>();
  private readonly waiting = new Map<string, (msg: KernelMessage) => void>();
  private readonly seen = new Set<string>();
  private readonly sendTails = new Map<Writable, Promise<void>>();
  private readonly abort = new AbortController();
  private hb: zmq.Request | null = null;
  private isClosed = false;

  /**
   * Creates the sockets and connects them. Nothing needs to listen yet: ZeroMQ queues
   * outgoing messages and connects when the kernel binds.
   * @throws Error for an unsupported `signature_scheme`.
   */
  constructor(
    private readonly info: ConnectionInfo,
    opts: { log: Logger; session?: string },
  ) {
    this.session = opts.session ?? randomUUID();
    this.signer = createSigner(info.key, info.signature_scheme);
    this.log = opts.log;
    const dealer = (): zmq.Dealer => new zmq.Dealer({ routingId: this.session, linger: LINGER_MS, reconnectInterval: RECONNECT_MS });
    const iopub = new zmq.Subscriber({ linger: LINGER_MS, reconnectInterval: RECONNECT_MS, receiveHighWaterMark: IOPUB_QUEUE });
    this.sockets = { shell: dealer(), control: dealer(), stdin: dealer(), iopub };
    this.sockets.iopub.subscribe('');
    for (const channel of ['shell', 'control', 'stdin', 'iopub'] as const) {
      const sock = this.sockets[channel];
      sock.connect(channelUrl(info, channel));
      void this.readLoop(sock, channel);
    }
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.isClosed;
  }

  /** Calls `listener` for every verified message on any channel. Returns the unsubscribe function. */
  onMessage(listener: (msg: KernelMessage) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Signs and sends `msg` on `msg.channel` (shell, control or stdin); iopub messages and
   * sends after {@link close} are dropped. Never throws: send errors are logged.
   */
  send(msg: KernelMessage): void {
    if (this.isClosed) return;
    if (msg.channel === 'iopub') {
      this.log.warn({ msg_type: msg.header.msg_type }, 'dropping message sent to iopub');
      return;
    }
    this.enqueue(this.sockets[msg.channel], serialize(msg, this.signer), msg.channel);
  }

  /**
   * Sends a new `msgType` request from our own session on `channel` and resolves with the
   * reply (the first message on that channel whose parent is the request).
   * @throws RequestTimeout after `timeoutMs`; Error if the connection closes meanwhile.
   */
  async request(
    channel: 'shell' | 'control',
    msgType: string,
    content: Record<string, unknown> = {},
    timeoutMs = 10_000,
  ): Promise<KernelMessage> {
    const msg = newMessage(channel, msgType, this.session, content);
    const id = msg.header.msg_id;
    const reply = new Promise<KernelMessage>((resolve) => this.waiting.set(id, resolve));
    this.send(msg);
    const ac = new AbortController();
    const signal = AbortSignal.any([ac.signal, this.abort.signal]);
    try {
      return await Promise.race([
        reply,
        sleep(timeoutMs, undefined, { signal }).then(
          () => Promise.reject(new RequestTimeout(msgType, timeoutMs)),
          () => Promise.reject(new Error(`connection closed while waiting for the reply to ${msgType}`)),
        ),
      ]);
    } finally {
      ac.abort();
      this.waiting.delete(id);
    }
  }

  /**
   * Starts pinging the heartbeat socket (REQ, relaxed + correlated so a lost echo does not
   * wedge it). Runs until {@link close}; calling it again is a no-op.
   */
  startHeartbeat(opts: HeartbeatOptions): void {
    if (this.hb || this.isClosed) return;
    const hb = new zmq.Request({ linger: 0, relaxed: true, correlate: true, sendTimeout: opts.timeoutMs, receiveTimeout: opts.timeoutMs });
    hb.connect(channelUrl(this.info, 'hb'));
    this.hb = hb;
    void (async () => {
      let missed = 0;
      while (!this.isClosed) {
        try {
          await sleep(opts.intervalMs, undefined, { signal: this.abort.signal });
          await hb.send('ping');
          await hb.receive();
          missed = 0;
        } catch (err) {
          if (this.isClosed) return;
          if ((err as { code?: string }).code !== 'EAGAIN') this.log.warn({ err: String(err) }, 'heartbeat socket error');
          missed++;
        }
        if (!this.isClosed) opts.onBeat(missed);
      }
    })();
  }

  /** Closes every socket; pending {@link request}s reject. Idempotent. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.abort.abort();
    for (const sock of Object.values(this.sockets)) sock.close();
    this.hb?.close();
    this.listeners.clear();
  }

  private enqueue(sock: Writable, frames: Buffer[], channel: string): void {
    const prev = this.sendTails.get(sock) ?? Promise.resolve();
    const next = prev
      .then(() => (sock.closed ? undefined : sock.send(frames)))
      .catch((err: unknown) => {
        if (!this.isClosed) this.log.error({ err: String(err), channel }, 'failed to send to kernel');
      });
    this.sendTails.set(sock, next);
    // Forget settled tails so the map does not pin the last message's frames.
    void next.then(() => {
      if (this.sendTails.get(sock) === next) this.sendTails.delete(sock);
    });
  }

  private async readLoop(sock: zmq.Dealer | zmq.Subscriber, channel: Channel): Promise<void> {
    try {
      for await (const frames of sock) this.handle(frames, channel);
    } catch (err) {
      if (!this.isClosed) this.log.error({ err: String(err), channel }, 'kernel socket receive failed');
    }
  }

  private handle(frames: Buffer[], channel: Channel): void {
    let msg: KernelMessage;
    try {
      const received = deserialize(frames, this.signer, channel);
      if (received.signature !== '') {
        if (this.seen.has(received.signature)) throw new WireError('replayed signature', 'signature');
        this.seen.add(received.signature);
        if (this.seen.size > REPLAY_HISTORY) this.seen.delete(this.seen.values().next().value!);
      }
      msg = received.msg;
    } catch (err) {
      this.log.warn({ channel, reason: err instanceof Error ? err.message : String(err) }, 'dropping invalid kernel message');
      return;
    }
    const parentId = msg.parent_header.msg_id;
    if (parentId !== undefined && channel !== 'iopub') this.waiting.get(parentId)?.(msg);
    for (const listener of this.listeners) {
      try {
        listener(msg);
      } catch (err) {
        this.log.error({ err, msg_type: msg.header.msg_type }, 'kernel message listener threw');
      }
    }
  }
}

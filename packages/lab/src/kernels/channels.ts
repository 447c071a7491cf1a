/**
 * The kernel WebSocket `api/kernels/{id}/channels` (jupyter-server-api.md c): bridges
 * browser clients to one {@link Kernel}. Every client message goes to the execution
 * service (server-owned execution) and then to the kernel; kernel messages go to the
 * clients: IOPub to all of them, shell/control/stdin only to the client whose session
 * made the request. A client that drops and comes back with the same `session_id` gets
 * what it missed replayed (c.6).
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type {} from '@fastify/websocket';
import type { Logger } from 'pino';
import WebSocket from 'ws';
import type { LabContext } from '../context.js';
import type { Kernel, KernelMessage, KernelStatusEvent } from './types.js';
import {
  V1_PROTOCOL,
  WsProtocolError,
  decodeMessage,
  encodeMessage,
  parseProtocolHeader,
  selectProtocol,
  type WsFrame,
  type WsProtocol,
} from './ws-protocol.js';

/**
 * Message types that are not user activity (jupyter_server's `untracked_message_types`,
 * b.1); the same list belongs in the page config of the `lab` page.
 */
export const UNTRACKED_MESSAGE_TYPES: readonly string[] = [
  'comm_info_request', 'comm_info_reply', 'kernel_info_request', 'kernel_info_reply',
  'shutdown_request', 'shutdown_reply', 'interrupt_request', 'interrupt_reply',
  'debug_request', 'debug_reply', 'stream', 'display_data', 'update_display_data',
  'execute_input', 'execute_result', 'error', 'status', 'clear_output', 'debug_event',
  'input_request', 'input_reply',
];
const UNTRACKED = new Set(UNTRACKED_MESSAGE_TYPES);

/** Tunables of the kernel WebSocket; the defaults are jupyter_server's. */
export interface ChannelsOptions {
  /** Interval between WebSocket pings. Default 30 000. */
  pingIntervalMs?: number;
  /** A client that sent no pong for this long is dropped. Default max(3 × ping interval, 30 000). */
  pongTimeoutMs?: number;
  /** How long the messages of a dropped client are kept for its return. Default 300 000 (JupyterLab retries for up to ~4 min). */
  offlineRetentionMs?: number;
  /** Most messages kept per dropped client (oldest dropped first). Default 10 000. */
  offlineMaxMessages?: number;
  /** Most bytes (estimated) kept per dropped client (oldest dropped first). Default 64 MiB. */
  offlineMaxBytes?: number;
}

const DEFAULTS: Omit<Required<ChannelsOptions>, 'pongTimeoutMs'> = {
  pingIntervalMs: 30_000,
  offlineRetentionMs: 300_000,
  offlineMaxMessages: 10_000,
  offlineMaxBytes: 64 * 1024 * 1024,
};

interface Client {
  ws: WebSocket;
  sessionId: string;
  protocol: WsProtocol;
  /** `header.session` values this client used (normally just `sessionId`). */
  sessions: Set<string>;
  /** Messages for this client that arrived while its socket was already closing. */
  unsent: KernelMessage[];
  log: Logger;
}

/** Messages kept for a client that dropped (c.6). */
class OfflineBuffer {
  readonly messages: { msg: KernelMessage; bytes: number }[] = [];
  private bytes = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly sessions: Set<string>,
    private readonly opts: Required<ChannelsOptions>,
    onExpire: () => void,
  ) {
    this.timer = setTimeout(onExpire, opts.offlineRetentionMs);
    this.timer.unref();
  }

  push(msg: KernelMessage): void {
    const bytes = estimateBytes(msg);
    this.messages.push({ msg, bytes });
    this.bytes += bytes;
    while (this.messages.length > this.opts.offlineMaxMessages || (this.bytes > this.opts.offlineMaxBytes && this.messages.length > 1)) {
      this.bytes -= this.messages.shift()!.bytes;
    }
  }

  dispose(): void {
    clearTimeout(this.timer);
  }
}

function estimateBytes(msg: KernelMessage): number {
  let n = 512 + msg.buffers.reduce((sum, b) => sum + b.byteLength, 0);
  const data = msg.content.data ?? msg.content.text;
  if (data !== undefined) n += JSON.stringify(data)?.length ?? 0;
  return n;
}

function tracked(msg: KernelMessage): boolean {
  return !UNTRACKED.has(msg.header.msg_type) && !UNTRACKED.has(String(msg.parent_header.msg_type ?? ''));
}

/** All WebSocket clients of one kernel. Created on first connect, disposed when the kernel dies. */
class KernelBridge {
  private readonly clients = new Map<string, Client>();
  private readonly offline = new Map<string, OfflineBuffer>();
  private readonly unsubscribe: (() => void)[] = [];
  /** `header.session` of the messages the server writes itself. */
  private readonly serverSession = randomUUID();
  private disposed = false;

  constructor(
    private readonly kernel: Kernel,
    private readonly ctx: LabContext,
    private readonly opts: Required<ChannelsOptions>,
    private readonly log: Logger,
    private readonly onDispose: () => void,
  ) {
    this.unsubscribe.push(kernel.onMessage((msg) => this.fromKernel(msg)));
    this.unsubscribe.push(kernel.onStatus((ev) => this.onStatus(ev)));
  }

  /** Wires a freshly opened WebSocket of session `sessionId` to the kernel. */
  attach(ws: WebSocket, sessionId: string, protocol: WsProtocol): void {
    const log = this.log.child({ session: sessionId });
    const stale = this.clients.get(sessionId);
    if (stale) {
      log.info('replacing stale connection');
      this.clients.delete(sessionId);
      stale.ws.close(1000, 'Replacing stale connection');
    }
    const client: Client = { ws, sessionId, protocol, sessions: new Set([sessionId]), unsent: [], log };
    const buffered = this.offline.get(sessionId);
    if (buffered) {
      this.offline.delete(sessionId);
      buffered.dispose();
      for (const s of buffered.sessions) client.sessions.add(s);
      log.info({ messages: buffered.messages.length }, 'replaying messages missed while disconnected');
      for (const { msg } of buffered.messages) this.send(client, msg, encodeMessage(protocol, msg));
    }
    this.clients.set(sessionId, client);
    this.kernel.connections = this.clients.size;
    log.debug({ protocol, connections: this.clients.size }, 'kernel websocket opened');

    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
      try {
        this.fromClient(client, data, isBinary);
      } catch (err) {
        log.error({ err }, 'failed to pass a client message to the kernel');
      }
    });
    const stopPing = keepAlive(ws, this.opts.pingIntervalMs, this.opts.pongTimeoutMs, () => log.info('no pong from client; dropping connection'));
    ws.on('close', () => {
      stopPing();
      if (this.clients.get(sessionId) !== client) return; // replaced, or the kernel died
      this.clients.delete(sessionId);
      this.kernel.connections = this.clients.size;
      if (this.disposed) return;
      log.debug({ connections: this.clients.size }, 'kernel websocket closed; buffering its messages');
      const buffer = new OfflineBuffer(client.sessions, this.opts, () => {
        if (this.offline.get(sessionId) === buffer) this.offline.delete(sessionId);
      });
      for (const msg of client.unsent) buffer.push(msg);
      this.offline.get(sessionId)?.dispose();
      this.offline.set(sessionId, buffer);
    });
  }

  private fromClient(client: Client, data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    let msg: KernelMessage;
    try {
      msg = decodeMessage(client.protocol, isBinary ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : bytes.toString('utf8'), isBinary);
    } catch (err) {
      if (!(err instanceof WsProtocolError)) throw err;
      client.log.warn({ reason: err.message, bytes: bytes.byteLength }, 'dropping malformed frame from client');
      return;
    }
    if (msg.channel === 'iopub') {
      client.log.warn({ msgType: msg.header.msg_type }, 'dropping client message on iopub');
      return;
    }
    client.sessions.add(msg.header.session);
    if (tracked(msg)) {
      this.kernel.touch();
      this.ctx.activity?.touch();
    }
    try {
      this.ctx.execution?.observeClientMessage(this.kernel, msg);
    } catch (err) {
      client.log.error({ err, msgType: msg.header.msg_type }, 'execution service failed to observe a message');
    }
    this.kernel.send(msg);
  }

  private fromKernel(msg: KernelMessage): void {
    if (this.disposed) return;
    if (tracked(msg)) this.kernel.touch();
    if (msg.channel === 'iopub') {
      this.broadcast(msg);
      return;
    }
    const session = msg.parent_header.session;
    if (typeof session !== 'string') return;
    const client = this.clients.get(session) ?? [...this.clients.values()].find((c) => c.sessions.has(session));
    if (client) {
      this.send(client, msg, encodeMessage(client.protocol, msg));
      return;
    }
    const buffer = this.offline.get(session) ?? [...this.offline.values()].find((b) => b.sessions.has(session));
    if (buffer) buffer.push(msg);
    else this.log.debug({ msgType: msg.header.msg_type, session }, 'no client for kernel reply; dropped');
  }

  /** Sends an IOPub message to every client and every offline buffer, encoding once per form. */
  private broadcast(msg: KernelMessage): void {
    const frames = new Map<WsProtocol, WsFrame>();
    for (const client of this.clients.values()) {
      let frame = frames.get(client.protocol);
      if (!frame) frames.set(client.protocol, (frame = encodeMessage(client.protocol, msg)));
      this.send(client, msg, frame);
    }
    for (const buffer of this.offline.values()) buffer.push(msg);
  }

  /** Sends to an open socket; keeps the message for the offline buffer once it is closing. */
  private send(client: Client, msg: KernelMessage, frame: WsFrame): void {
    if (client.ws.readyState === WebSocket.OPEN) client.ws.send(frame.data, { binary: frame.binary });
    else if (this.clients.get(client.sessionId) === client) client.unsent.push(msg);
  }

  private onStatus(ev: KernelStatusEvent): void {
    // Only states the kernel cannot report itself (c.5); busy/idle/starting come on IOPub.
    if (ev.state === 'autorestarting') {
      this.broadcast(serverStatus('restarting', this.serverSession));
    } else if (ev.state === 'dead') {
      this.log.info({ exit: ev.exit }, 'kernel died; closing its websockets');
      this.broadcast(serverStatus('dead', this.serverSession));
      this.dispose();
    }
  }

  /** Closes every client (normal closure, so JupyterLab does not retry) and forgets buffers. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const off of this.unsubscribe) off();
    for (const buffer of this.offline.values()) buffer.dispose();
    this.offline.clear();
    const clients = [...this.clients.values()];
    this.clients.clear();
    this.kernel.connections = 0;
    for (const c of clients) c.ws.close(1000, 'Kernel is dead');
    this.onDispose();
  }
}

/**
 * Pings every `intervalMs`; terminates the socket when no pong came for `limitMs`.
 * Returns the function that stops it.
 */
function keepAlive(ws: WebSocket, intervalMs: number, limitMs: number, onTimeout: () => void): () => void {
  let lastPong = Date.now();
  const limit = limitMs;
  ws.on('pong', () => (lastPong = Date.now()));
  const timer = setInterval(() => {
    if (Date.now() - lastPong > limit) {
      onTimeout();
      ws.terminate();
      return;
    }
    if (ws.readyState === WebSocket.OPEN) ws.ping();
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** A `status` message written by the server itself (fresh header, empty parent; c.5). */
export function serverStatus(state: 'restarting' | 'dead', session: string = randomUUID()): KernelMessage {
  return {
    channel: 'iopub',
    header: { msg_id: randomUUID(), msg_type: 'status', session, username: 'lab', date: new Date().toISOString(), version: '5.3' },
    parent_header: {},
    metadata: {},
    content: { execution_state: state },
    buffers: [],
  };
}

/** Sends one `status: dead` and closes: the answer for a kernel that is gone. */
function refuseDead(ws: WebSocket, protocol: WsProtocol): void {
  const frame = encodeMessage(protocol, serverStatus('dead'));
  ws.send(frame.data, { binary: frame.binary }, () => ws.close(1000, 'Kernel is dead'));
}

/**
 * Registers the WebSocket route `api/kernels/:id/channels` (query `session_id`). Unknown
 * kernels are answered 404 before the upgrade; the `v1.kernel.websocket.jupyter.org`
 * subprotocol is selected when offered, otherwise the JSON form is spoken.
 */
export function kernelChannelsRoute(app: FastifyInstance, ctx: LabContext, options: ChannelsOptions = {}): void {
  const merged = { ...DEFAULTS, ...options };
  const opts: Required<ChannelsOptions> = { ...merged, pongTimeoutMs: options.pongTimeoutMs ?? Math.max(3 * merged.pingIntervalMs, 30_000) };
  const bridges = new Map<Kernel, KernelBridge>();
  const log = ctx.log.child({ component: 'kernel-ws' });

  const bridgeFor = (kernel: Kernel): KernelBridge => {
    let bridge = bridges.get(kernel);
    if (!bridge) {
      const created = new KernelBridge(kernel, ctx, opts, log.child({ kernel: kernel.id }), () => {
        if (bridges.get(kernel) === created) bridges.delete(kernel);
      });
      bridges.set(kernel, (bridge = created));
    }
    return bridge;
  };

  type Req = FastifyRequest<{ Params: { id: string }; Querystring: { session_id?: string } }>;
  app.get<{ Params: { id: string }; Querystring: { session_id?: string } }>(
    '/api/kernels/:id/channels',
    {
      websocket: true,
      preValidation: async (req, reply) => {
        if (!ctx.kernels.get(req.params.id)) {
          return reply.status(404).send({ message: `Kernel does not exist: ${req.params.id}`, reason: null });
        }
        // ws selects the first offered subprotocol; narrow the offer to what we speak (c.1).
        const selected = selectProtocol(parseProtocolHeader(req.raw.headers['sec-websocket-protocol']));
        if (selected) req.raw.headers['sec-websocket-protocol'] = selected;
        else delete req.raw.headers['sec-websocket-protocol'];
      },
    },
    (socket: WebSocket, req: Req) => {
      const protocol: WsProtocol = socket.protocol === V1_PROTOCOL ? 'v1' : 'json';
      const sessionId = typeof req.query.session_id === 'string' && req.query.session_id ? req.query.session_id : randomUUID();
      const kernel = ctx.kernels.get(req.params.id);
      if (!kernel) {
        socket.close(1011, 'Kernel does not exist');
        return;
      }
      if (kernel.model().execution_state === 'dead') {
        bridges.get(kernel)?.dispose();
        refuseDead(socket, protocol);
        return;
      }
      bridgeFor(kernel).attach(socket, sessionId, protocol);
    },
  );
}

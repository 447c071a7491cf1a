/**
 * A minimal lab app for the kernel/session tests: fastify + error handler + websocket +
 * the kernel and session routes, a real ZmqKernelManager and FileSessionManager, on
 * 127.0.0.1:0 under base URL `/user/tester/`. Also a raw `ws` client of the JSON form.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import websocket from '@fastify/websocket';
import fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import WebSocket from 'ws';
import { ServerConnection } from '@jupyterlab/services';
import type { LabContext } from '../../src/context.js';
import { installErrorHandler } from '../../src/http/errors.js';
import type { ChannelsOptions } from '../../src/kernels/channels.js';
import { ZmqKernelManager } from '../../src/kernels/manager.js';
import { kernelRoutes } from '../../src/kernels/routes.js';
import type { Kernel, KernelMessage } from '../../src/kernels/types.js';
import { FileSessionManager } from '../../src/sessions/manager.js';
import { sessionRoutes } from '../../src/sessions/routes.js';

export const BASE = '/user/tester/';

export interface KernelLab {
  app: FastifyInstance;
  ctx: LabContext;
  kernels: ZmqKernelManager;
  sessions: FileSessionManager;
  root: string;
  stateDir: string;
  /** `http://127.0.0.1:<port>/user/tester/` */
  url: string;
  /** `ws://127.0.0.1:<port>/user/tester/` */
  wsUrl: string;
  /** Every client message the bridge passed to the execution service. */
  observed: KernelMessage[];
  /** `@jupyterlab/services` settings; `sockets` records each WebSocket it opened. */
  settings: ServerConnection.ISettings;
  sockets: WebSocket[];
  /** Closes the app (keeping kernels when `detach`), shuts kernels down, removes the dirs. */
  close(opts?: { detach?: boolean; keepDirs?: boolean }): Promise<void>;
}

/** Starts a {@link KernelLab}; pass `root`/`stateDir` to start on an earlier lab's state. */
export async function startKernelLab(
  opts: { root?: string; stateDir?: string; channels?: ChannelsOptions; specPaths?: string[] } = {},
): Promise<KernelLab> {
  const root = opts.root ?? mkdtempSync(join(tmpdir(), 'eucp-kernel-lab-'));
  const stateDir = opts.stateDir ?? join(root, '.state');
  mkdirSync(stateDir, { recursive: true });
  const log: Logger = pino({ level: process.env.EUCP_TEST_LOG ?? 'silent' });
  const kernels = new ZmqKernelManager({ stateDir, log, shutdownGraceMs: 2000, specPaths: opts.specPaths });
  await kernels.adopt();
  const sessions = new FileSessionManager({ stateDir, rootDir: root, kernels, log });
  await sessions.load();
  const observed: KernelMessage[] = [];
  let lastActivity = Date.now();
  const ctx = {
    config: { baseUrl: BASE, rootDir: root, stateDir, uiDir: null, defaultUrl: 'lab' },
    log,
    kernels,
    sessions,
    execution: {
      observeClientMessage: (_k: Kernel, msg: KernelMessage) => void observed.push(msg),
      flush: async () => {},
    },
    activity: { touch: () => void (lastActivity = Date.now()), last: () => lastActivity },
  } as unknown as LabContext;

  const app: FastifyInstance = fastify({ loggerInstance: log as FastifyBaseLogger, routerOptions: { ignoreDuplicateSlashes: true } });
  installErrorHandler(app);
  // As app.ts: an empty JSON body is no body.
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(Object.assign(new Error('Request body is not valid JSON'), { statusCode: 400 }), undefined);
    }
  });
  await app.register(websocket, { options: { perMessageDeflate: false } });
  await app.register(
    async (scoped) => {
      kernelRoutes(scoped, ctx, opts.channels);
      sessionRoutes(scoped, ctx);
    },
    { prefix: BASE.replace(/\/$/, '') },
  );
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;
  const url = `http://127.0.0.1:${port}${BASE}`;
  const wsUrl = `ws://127.0.0.1:${port}${BASE}`;

  const sockets: WebSocket[] = [];
  class RecordingWebSocket extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols);
      sockets.push(this);
    }
  }
  const settings = ServerConnection.makeSettings({
    baseUrl: url,
    wsUrl,
    WebSocket: RecordingWebSocket as unknown as typeof globalThis.WebSocket,
    fetch: globalThis.fetch,
  });

  return {
    app, ctx, kernels, sessions, root, stateDir, url, wsUrl, observed, settings, sockets,
    async close(o = {}) {
      for (const s of sockets) s.terminate();
      await app.close();
      if (o.detach) kernels.detachAll();
      else await kernels.shutdownAll();
      await sessions.flush();
      if (!o.keepDirs && !opts.root) rmSync(root, { recursive: true, force: true });
    },
  };
}

/** A JSON-form kernel WebSocket client (offers no subprotocol) that records every message. */
export class RawClient {
  readonly received: (KernelMessage & { binary: boolean })[] = [];
  private readonly waiters: { pred: (m: KernelMessage) => boolean; resolve: (m: KernelMessage) => void }[] = [];
  readonly closed: Promise<number>;

  private constructor(readonly ws: WebSocket, readonly session: string) {
    ws.on('message', (data: Buffer, binary: boolean) => {
      let msg: KernelMessage & { binary: boolean };
      if (!binary) msg = { ...JSON.parse(data.toString('utf8')), binary };
      else {
        const n = data.readUInt32BE(0);
        const offsets = Array.from({ length: n }, (_, i) => data.readUInt32BE(4 * (i + 1)));
        const parts = offsets.map((o, i) => data.subarray(o, offsets[i + 1] ?? data.length));
        msg = { ...JSON.parse(parts[0]!.toString('utf8')), buffers: parts.slice(1).map((p) => new Uint8Array(p)), binary };
      }
      this.received.push(msg);
      for (const w of this.waiters.splice(0)) (w.pred(msg) ? w.resolve(msg) : this.waiters.push(w));
    });
    this.closed = new Promise((resolve) => ws.once('close', (code) => resolve(code)));
  }

  /** Connects to kernel `kernelId` as session `session` (random when omitted). */
  static connect(lab: Pick<KernelLab, 'wsUrl'>, kernelId: string, session: string = randomUUID()): Promise<RawClient> {
    const ws = new WebSocket(`${lab.wsUrl}api/kernels/${kernelId}/channels?session_id=${session}`, { perMessageDeflate: false });
    const client = new RawClient(ws, session);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  /** Sends a request on `channel` and returns its msg_id. */
  send(msgType: string, content: Record<string, unknown>, opts: { channel?: string; buffers?: Uint8Array[]; metadata?: Record<string, unknown> } = {}): string {
    const msgId = randomUUID();
    const msg = {
      channel: opts.channel ?? 'shell',
      header: { msg_id: msgId, msg_type: msgType, session: this.session, username: 'test', date: new Date().toISOString(), version: '5.3' },
      parent_header: {},
      metadata: opts.metadata ?? {},
      content,
    };
    if (!opts.buffers?.length) {
      this.ws.send(JSON.stringify({ ...msg, buffers: [] }));
      return msgId;
    }
    const parts = [Buffer.from(JSON.stringify(msg)), ...opts.buffers.map((b) => Buffer.from(b))];
    const head = Buffer.alloc(4 * (parts.length + 1));
    head.writeUInt32BE(parts.length, 0);
    let pos = head.length;
    parts.forEach((p, i) => {
      head.writeUInt32BE(pos, 4 * (i + 1));
      pos += p.length;
    });
    this.ws.send(Buffer.concat([head, ...parts]), { binary: true });
    return msgId;
  }

  /** Resolves with the first message (already received or future) matching `pred`. */
  next(pred: (m: KernelMessage) => boolean): Promise<KernelMessage> {
    const found = this.received.find(pred);
    return found ? Promise.resolve(found) : new Promise((resolve) => this.waiters.push({ pred, resolve }));
  }

  /** The shell reply to `msgId`. */
  reply(msgId: string): Promise<KernelMessage> {
    return this.next((m) => m.channel !== 'iopub' && m.parent_header.msg_id === msgId);
  }

  /** IOPub `status: idle` for `msgId` (all outputs of the request have arrived before it). */
  idle(msgId: string): Promise<KernelMessage> {
    return this.next((m) => m.channel === 'iopub' && m.header.msg_type === 'status' && m.content.execution_state === 'idle' && m.parent_header.msg_id === msgId);
  }

  /** Messages received for request `msgId`. */
  about(msgId: string): KernelMessage[] {
    return this.received.filter((m) => m.parent_header.msg_id === msgId);
  }

  /** Executes `code` and resolves after the reply and the idle status. */
  async execute(code: string, metadata: Record<string, unknown> = {}): Promise<{ msgId: string; reply: KernelMessage; result?: string; stdout: string }> {
    const msgId = this.send('execute_request', { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true }, { metadata });
    const [reply] = await Promise.all([this.reply(msgId), this.idle(msgId)]);
    const msgs = this.about(msgId);
    const result = msgs.find((m) => m.header.msg_type === 'execute_result')?.content.data as Record<string, string> | undefined;
    const stdout = msgs.filter((m) => m.header.msg_type === 'stream' && m.content.name === 'stdout').map((m) => String(m.content.text)).join('');
    return { msgId, reply, result: result?.['text/plain'], stdout };
  }

  close(): Promise<number> {
    this.ws.close();
    return this.closed;
  }
}

/**
 * Disposes `@jupyterlab/services` objects. Lumino's `Poll.dispose()` leaves its timer
 * pending (up to 61 s, keeping the test process alive), so polls are stopped first.
 */
export async function disposeServices(...objs: { dispose(): void }[]): Promise<void> {
  for (const obj of objs) {
    for (const value of Object.values(obj)) {
      const poll = value as { stop?: () => Promise<void>; tick?: unknown; isDisposed?: boolean } | null;
      if (poll && typeof poll.stop === 'function' && 'tick' in poll && !poll.isDisposed) await poll.stop();
    }
    obj.dispose();
  }
}

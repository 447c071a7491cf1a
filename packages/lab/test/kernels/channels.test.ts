/**
 * The kernel WebSocket bridge over an in-memory kernel: routing, server-made status
 * messages, stale connections, offline buffer bounds, v1 framing, keep-alive.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import websocket from '@fastify/websocket';
import { deserialize } from '@jupyterlab/services/lib/kernel/serialize.js';
import fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import WebSocket from 'ws';
import type { LabContext } from '../../src/context.js';
import { installErrorHandler } from '../../src/http/errors.js';
import { kernelChannelsRoute, type ChannelsOptions } from '../../src/kernels/channels.js';
import type { KernelMessage } from '../../src/kernels/types.js';
import { V1_PROTOCOL, encodeV1 } from '../../src/kernels/ws-protocol.js';
import { FakeKernel, FakeKernelManager } from './fake-kernels.js';

const log = pino({ level: process.env.EUCP_TEST_LOG ?? 'silent' });

interface Bench {
  app: FastifyInstance;
  kernels: FakeKernelManager;
  observed: KernelMessage[];
  url: string;
}

async function bench(opts: ChannelsOptions = {}): Promise<Bench> {
  const kernels = new FakeKernelManager();
  const observed: KernelMessage[] = [];
  const ctx = {
    log,
    kernels,
    execution: { observeClientMessage: (_k: unknown, m: KernelMessage) => void observed.push(m), flush: async () => {} },
    activity: { touch() {}, last: () => Date.now() },
  } as unknown as LabContext;
  const app: FastifyInstance = fastify({ loggerInstance: log as FastifyBaseLogger });
  installErrorHandler(app);
  await app.register(websocket);
  kernelChannelsRoute(app, ctx, opts);
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, kernels, observed, url: `ws://127.0.0.1:${(app.server.address() as { port: number }).port}/` };
}

/** A client that decodes what it receives with @jupyterlab/services' own deserializer. */
class Client {
  readonly received: KernelMessage[] = [];
  private waiters: { pred: (m: KernelMessage) => boolean; resolve: (m: KernelMessage) => void }[] = [];
  readonly closed: Promise<number>;
  constructor(readonly ws: WebSocket) {
    ws.binaryType = 'arraybuffer';
    ws.on('message', (data: ArrayBuffer | Buffer, binary: boolean) => {
      const msg = deserialize((binary ? data : (data as Buffer).toString()) as ArrayBuffer, ws.protocol) as unknown as KernelMessage;
      this.received.push(msg);
      for (const w of this.waiters.splice(0)) (w.pred(msg) ? w.resolve(msg) : this.waiters.push(w));
    });
    this.closed = new Promise((resolve) => ws.once('close', (code) => resolve(code)));
  }
  static open(b: Bench, kernel: FakeKernel, session: string, protocols: string[] = [], opts: WebSocket.ClientOptions = {}): Promise<Client> {
    const ws = new WebSocket(`${b.url}api/kernels/${kernel.id}/channels?session_id=${session}`, protocols, opts);
    const c = new Client(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(c));
      ws.once('error', reject);
    });
  }
  next(pred: (m: KernelMessage) => boolean): Promise<KernelMessage> {
    const found = this.received.find(pred);
    return found ? Promise.resolve(found) : new Promise((resolve) => this.waiters.push({ pred, resolve }));
  }
  /** Waits for the iopub marker `name` (see {@link marker}) and returns everything received before it. */
  async until(name: string): Promise<KernelMessage[]> {
    const m = await this.next((x) => x.header.msg_type === 'marker' && x.content.name === name);
    return this.received.slice(0, this.received.indexOf(m));
  }
}

function request(session: string, msgType = 'execute_request', channel: KernelMessage['channel'] = 'shell'): KernelMessage {
  return {
    channel,
    header: { msg_id: randomUUID(), msg_type: msgType, session, username: 't', date: new Date().toISOString(), version: '5.3' },
    parent_header: {},
    metadata: {},
    content: {},
    buffers: [],
  };
}

const marker = (k: FakeKernel, name: string): KernelMessage => k.reply('iopub', 'marker', null, { name });
const sendJson = (c: Client, msg: KernelMessage): void => c.ws.send(JSON.stringify(msg));

describe('kernel websocket bridge', () => {
  let b: Bench;
  before(async () => {
    b = await bench({ offlineMaxMessages: 3 });
  });
  after(() => b.app.close());

  const kernel = async (): Promise<FakeKernel> => (await b.kernels.start({ cwd: '/' })) as FakeKernel;

  it('routes replies to the session that asked (by header.session too) and IOPub to all', async () => {
    const k = await kernel();
    const a = await Client.open(b, k, 'A');
    const c = await Client.open(b, k, 'C');
    const req = request('A-header-session');
    sendJson(a, req);
    const got = await k.nextSent();
    assert.equal(got.header.msg_id, req.header.msg_id);
    assert.deepEqual(b.observed.at(-1)?.header.msg_id, req.header.msg_id, 'the execution service saw it first');
    k.emit(k.reply('shell', 'execute_reply', got, { status: 'ok' }));
    k.emit(k.reply('shell', 'kernel_info_reply', request('somebody-else'), {}));
    k.emit(k.reply('iopub', 'stream', got, { name: 'stdout', text: 'x' }));
    k.emit(marker(k, 'm1'));
    assert.deepEqual((await a.until('m1')).map((m) => m.header.msg_type), ['execute_reply', 'stream']);
    assert.deepEqual((await c.until('m1')).map((m) => m.header.msg_type), ['stream']);
    assert.equal(k.connections, 2);
    assert.equal(k.touched > 0, true);
  });

  it('speaks v1 when offered among others; drops text, malformed and iopub frames', async () => {
    const k = await kernel();
    const v = await Client.open(b, k, 'V', ['chat', V1_PROTOCOL]);
    assert.equal(v.ws.protocol, V1_PROTOCOL);
    v.ws.send(JSON.stringify(request('V')));
    v.ws.send(Buffer.from([6, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3]));
    v.ws.send(encodeV1(request('V', 'comm_msg', 'iopub')).data);
    const good = { ...request('V', 'comm_msg'), buffers: [Uint8Array.from([9, 9])] };
    v.ws.send(encodeV1(good).data);
    const got = await k.nextSent(1);
    assert.equal(got.header.msg_id, good.header.msg_id);
    assert.deepEqual(got.buffers.map((x) => [...x]), [[9, 9]]);
    k.emit({ ...k.reply('iopub', 'comm_msg', got, { comm_id: 'c', data: {} }), buffers: [Uint8Array.from([1])] });
    const echo = await v.next((m) => m.header.msg_type === 'comm_msg');
    const buf = echo.buffers[0] as unknown as DataView;
    assert.deepEqual([...new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)], [1]);
    assert.equal(v.ws.readyState, WebSocket.OPEN);
  });

  it('selects no subprotocol when v1 is not among the offered ones', async () => {
    const k = await kernel();
    await assert.rejects(Client.open(b, k, 'X', ['chat']), /Server sent no subprotocol/);
  });

  it('JSON: a message without channel goes to shell; kernel_info is not activity', async () => {
    const k = await kernel();
    const j = await Client.open(b, k, 'J');
    const { channel: _omit, ...noChannel } = request('J', 'kernel_info_request');
    const touched = k.touched;
    j.ws.send(JSON.stringify(noChannel));
    const got = await k.nextSent(1);
    assert.equal(got.channel, 'shell');
    assert.equal(k.touched, touched);
  });

  it('a second socket with the same session_id replaces the first', async () => {
    const k = await kernel();
    const first = await Client.open(b, k, 'S');
    const second = await Client.open(b, k, 'S');
    assert.equal(await first.closed, 1000);
    assert.equal(k.connections, 1);
    const req = request('S');
    sendJson(second, req);
    k.emit(k.reply('shell', 'execute_reply', await k.nextSent(1)));
    await second.next((m) => m.header.msg_type === 'execute_reply');
  });

  it('replays at most the newest offlineMaxMessages to a returning session', async () => {
    const k = await kernel();
    const gone = await Client.open(b, k, 'R');
    gone.ws.close();
    await k.waitConnections(0);
    for (let i = 1; i <= 5; i++) k.emit(k.reply('iopub', 'stream', null, { name: 'stdout', text: String(i) }));
    const back = await Client.open(b, k, 'R');
    k.emit(marker(k, 'm2'));
    assert.deepEqual((await back.until('m2')).map((m) => m.content.text), ['3', '4', '5']);
    const stranger = await Client.open(b, k, 'other');
    k.emit(marker(k, 'm3'));
    assert.deepEqual(await stranger.until('m3'), [], 'a different session gets no replay');
  });

  it('tells clients `restarting` on auto-restart; leaves busy/idle to the kernel', async () => {
    const k = await kernel();
    const c = await Client.open(b, k, 'T');
    k.setState('busy');
    k.setState('autorestarting');
    k.emit(marker(k, 'm4'));
    const before = await c.until('m4');
    assert.deepEqual(before.map((m) => [m.channel, m.header.msg_type, m.content.execution_state]), [['iopub', 'status', 'restarting']]);
    assert.deepEqual(before[0]!.parent_header, {});
  });

  it('on death: `dead` to every client, sockets closed normally, later clients told the same', async () => {
    const k = await kernel();
    const c1 = await Client.open(b, k, 'D1', [V1_PROTOCOL]);
    const c2 = await Client.open(b, k, 'D2');
    k.setState('dead');
    for (const c of [c1, c2]) {
      await c.next((m) => m.header.msg_type === 'status' && m.content.execution_state === 'dead');
      assert.equal(await c.closed, 1000);
    }
    assert.equal(k.connections, 0);
    const late = await Client.open(b, k, 'D3');
    await late.next((m) => m.content.execution_state === 'dead');
    assert.equal(await late.closed, 1000);
  });

  it('answers 404 for an unknown kernel without upgrading', async () => {
    const ws = new WebSocket(`${b.url}api/kernels/nope/channels`);
    const status = await new Promise<number>((resolve) => ws.once('unexpected-response', (_req, r) => resolve(r.statusCode ?? 0)));
    assert.equal(status, 404);
  });
});

describe('kernel websocket keep-alive', () => {
  it('drops a client that stops answering pings', async () => {
    const b = await bench({ pingIntervalMs: 20, pongTimeoutMs: 200 });
    try {
      const k = (await b.kernels.start({ cwd: '/' })) as FakeKernel;
      const mute = await Client.open(b, k, 'P', [], { autoPong: false });
      assert.equal(await mute.closed, 1006);
      await k.waitConnections(0);
    } finally {
      await b.app.close();
    }
  });
});

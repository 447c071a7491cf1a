/**
 * The execution events WebSocket and REST routes over real sockets, a real ipykernel and
 * real files: a view connecting mid-run gets the snapshot and then the rest, with no line
 * missing or repeated; a view resuming with `after` gets only what it missed.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fastify, { type FastifyInstance } from 'fastify';
import websocket from '@fastify/websocket';
import { pino } from 'pino';
import { WebSocket } from 'ws';
import type { LabContext } from '../src/context.js';
import { FileContentsManager } from '../src/contents/manager.js';
import { FileJournal } from '../src/execution/journal.js';
import { executionRoutes } from '../src/execution/routes.js';
import { ServerExecution } from '../src/execution/service.js';
import type { CellRunState, ExecutionEvent } from '../src/execution/types.js';
import { installErrorHandler } from '../src/http/errors.js';
import { ZmqKernelManager } from '../src/kernels/manager.js';
import type { NotebookOutput } from '../src/contents/types.js';
import { FileSessionManager } from '../src/sessions/manager.js';

const log = pino({ level: process.env.EUCP_TEST_LOG ?? 'silent' });

type ViewMessage = { type: 'snapshot'; seq: number; cells: CellRunState[] } | { type: 'event'; event: ExecutionEvent };

/** A view: collects what the server sends, and lets a test await a message. */
class View {
  readonly messages: ViewMessage[] = [];
  private waiters: { test: (m: ViewMessage) => boolean; resolve: () => void }[] = [];
  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as ViewMessage;
      this.messages.push(m);
      this.waiters = this.waiters.filter((w) => (w.test(m) ? (w.resolve(), false) : true));
    });
  }
  static open(url: string): Promise<View> {
    const ws = new WebSocket(url);
    const view = new View(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(view));
      ws.once('error', reject);
    });
  }
  until(test: (m: ViewMessage) => boolean): Promise<void> {
    if (this.messages.some(test)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ test, resolve }));
  }
}

/** Applies events of one execution to its outputs the way a view does. */
function apply(outputs: NotebookOutput[], events: ExecutionEvent[], msgId: string): NotebookOutput[] {
  const out = [...outputs];
  for (const ev of events) {
    if (!('msgId' in ev) || ev.msgId !== msgId) continue;
    if (ev.kind === 'clear') out.length = 0;
    else if (ev.kind === 'set') out[ev.index] = ev.output;
  }
  return out;
}
const streamText = (outputs: NotebookOutput[]): string =>
  outputs.map((o) => (o.output_type === 'stream' ? (Array.isArray(o.text) ? o.text.join('') : o.text) : '')).join('');
const isDone = (msgId: string) => (m: ViewMessage) => m.type === 'event' && m.event.kind === 'state' && m.event.msgId === msgId && m.event.state === 'done';

describe('execution events WebSocket and routes', { timeout: 120_000 }, () => {
  let root: string;
  let kernels: ZmqKernelManager;
  let execution: ServerExecution;
  let journal: FileJournal;
  let app: FastifyInstance;
  let base: string;
  const NB = 'events.ipynb';

  before(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'eucp-events-'));
    const stateDir = path.join(root, '.state');
    await mkdir(stateDir);
    const nb = {
      cells: [{ id: 'loop', cell_type: 'code', source: [], metadata: {}, outputs: [], execution_count: null }],
      metadata: {},
      nbformat: 4,
      nbformat_minor: 5,
    };
    await writeFile(path.join(root, NB), JSON.stringify(nb));
    kernels = new ZmqKernelManager({ stateDir, log });
    const contents = new FileContentsManager({ root, log });
    const sessions = new FileSessionManager({ stateDir, rootDir: root, kernels, contents, log });
    execution = new ServerExecution({ kernels, sessions, contents, stateDir, log });
    journal = new FileJournal({ execution, stateDir, log });
    await sessions.create({ path: NB, type: 'notebook', kernel: { name: 'python3' } });
    const ctx = {
      config: { baseUrl: '/', rootDir: root, stateDir, uiDir: null, defaultUrl: 'lab' },
      log,
      contents,
      kernels,
      sessions,
      execution,
      journal,
      // Not used by these routes.
      terminals: undefined as unknown as LabContext['terminals'],
      activity: { touch() {}, last: () => Date.now() },
    } satisfies LabContext;
    app = fastify();
    installErrorHandler(app);
    await app.register(websocket);
    await app.register(async (scoped) => executionRoutes(scoped, ctx));
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address();
    base = `127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  });

  after(async () => {
    await app?.close();
    journal?.close();
    await execution?.close();
    await kernels?.shutdownAll();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('sends a mid-run view the snapshot, then every later event; a resuming view gets only what it missed', async () => {
    const gate = path.join(root, 'gate');
    const n = 60;
    const src = [
      'import os, time',
      `for i in range(${n}):`,
      '    print(i, flush=True)',
      `    if i == 20:`,
      `        while not os.path.exists(${JSON.stringify(gate)}): time.sleep(0.01)`,
    ].join('\n');
    // The kernel blocks after line 20 until the gate file exists: the views connect mid-run.
    let msgId = '';
    const reached20 = new Promise<void>((resolve) => {
      const off = execution.onEvent((ev) => {
        if (ev.kind === 'set' && ev.msgId === msgId && streamText([ev.output]).includes('20\n')) {
          off();
          resolve();
        }
      });
    });
    const res = await fetch(`http://${base}/api/eucp/notebooks/execute`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ path: NB, cellId: 'loop', code: src }),
    });
    assert.equal(res.status, 200);
    msgId = ((await res.json()) as { msgId: string }).msgId;
    await reached20;

    const view = await View.open(`ws://${base}/api/eucp/notebooks/events?path=${NB}`);
    await view.until((m) => m.type === 'snapshot');
    const snap = view.messages[0]!;
    assert.equal(snap.type, 'snapshot');
    if (snap.type !== 'snapshot') return;
    const cell = snap.cells.find((c) => c.msgId === msgId)!;
    assert.equal(cell.state, 'running');
    assert.match(streamText(cell.outputs), /^0\n1\n[\s\S]*20\n$/);

    const resumed = await View.open(`ws://${base}/api/eucp/notebooks/events?path=${NB}&after=${snap.seq}`);
    await writeFile(gate, '');
    await Promise.all([view.until(isDone(msgId)), resumed.until(isDone(msgId))]);

    const expected = Array.from({ length: n }, (_, i) => `${i}\n`).join('');
    const events = (v: View) => v.messages.flatMap((m) => (m.type === 'event' ? [m.event] : []));
    assert.equal(streamText(apply(cell.outputs, events(view), msgId)), expected);
    assert.equal(resumed.messages.filter((m) => m.type === 'snapshot').length, 0, 'resumed without a snapshot');
    assert.equal(streamText(apply(cell.outputs, events(resumed), msgId)), expected);
    const seqs = events(view).map((e) => e.seq);
    assert.ok(seqs.every((s, i) => s > snap.seq && (i === 0 || s > seqs[i - 1]!)), 'events in order, after the snapshot');
    view.ws.close();
    resumed.ws.close();

    const state = (await (await fetch(`http://${base}/api/eucp/notebooks/state?path=${NB}`)).json()) as { seq: number; cells: CellRunState[] };
    const final = state.cells.find((c) => c.msgId === msgId)!;
    assert.equal(final.state, 'done');
    assert.equal(streamText(final.outputs), expected);
  });

  it('refuses paths outside the root, notebooks without a session and bad cell ids', async () => {
    const status = (url: string) =>
      new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(url);
        ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.once('open', () => reject(new Error('upgraded')));
      });
    assert.equal(await status(`ws://${base}/api/eucp/notebooks/events?path=../../etc/passwd`), 404);
    assert.equal(await status(`ws://${base}/api/eucp/notebooks/events`), 400);
    const post = (body: unknown) =>
      fetch(`http://${base}/api/eucp/notebooks/execute`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal((await post({ path: 'other.ipynb', cellId: 'x', code: '1' })).status, 404);
    assert.equal((await post({ path: NB, cellId: 'bad id!', code: '1' })).status, 400);
    assert.equal((await fetch(`http://${base}/api/eucp/notebooks/state?path=../x.ipynb`)).status, 404);
  });
});

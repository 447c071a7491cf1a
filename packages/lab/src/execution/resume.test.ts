/**
 * Resuming the executions a previous lab server left unfinished (records on disk, a fake
 * re-adopted kernel, real notebook files): continue from the stored outputs, replay what
 * arrived before `resume()`, close runs that ended unseen, and end runs whose kernel is
 * gone as `dead` without touching the notebook. Also the record store itself.
 */
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { FileContentsManager } from '../contents/manager.js';
import type { SessionManager } from '../sessions/types.js';
import type { KernelMessage } from '../kernels/types.js';
import { FakeKernel, FakeKernelManager } from '../../test/kernels/fake-kernels.js';
import { RunStore, type RunRecord } from './persist.js';
import { ServerExecution } from './service.js';
import type { ExecutionEvent } from './types.js';

const log = pino({ level: 'silent' });
const NB = 'n.ipynb';
const sessions = { forKernel: () => undefined } as unknown as SessionManager;

const record = (over: Partial<RunRecord>): RunRecord => ({
  version: 1,
  msgId: 'run-1',
  path: NB,
  cellId: 'c',
  origin: 'client-session',
  kernelId: 'k',
  kernelSession: 'kernel-session',
  code: 'loop()',
  requestedAt: Date.now() - 60_000,
  recordTiming: false,
  timing: {},
  state: 'running',
  executionCount: 3,
  replied: false,
  status: null,
  stored: true,
  ...over,
});

const iopub = (parent: string, msgType: string, content: Record<string, unknown>): KernelMessage => ({
  channel: 'iopub',
  header: { msg_id: `m-${Math.random()}`, msg_type: msgType, session: 'kernel-session', username: 'k', date: new Date().toISOString(), version: '5.3' },
  parent_header: { msg_id: parent, msg_type: 'execute_request' },
  metadata: {},
  content,
  buffers: [],
});

describe('resuming executions after a lab-server restart', () => {
  let root: string;
  let stateDir: string;
  let contents: FileContentsManager;
  let kernels: FakeKernelManager;
  let execution: ServerExecution | null;
  let events: ExecutionEvent[];

  const writeNotebook = (outputs: unknown[], count: number | null) =>
    writeFile(
      path.join(root, NB),
      JSON.stringify({
        cells: [{ id: 'c', cell_type: 'code', source: 'loop()', metadata: {}, outputs, execution_count: count }],
        metadata: {},
        nbformat: 4,
        nbformat_minor: 5,
      }),
    );
  const storedCell = async () => {
    const nb = JSON.parse(await readFile(path.join(root, NB), 'utf8')) as { cells: Array<{ outputs: Array<{ text: string | string[] }>; execution_count: number | null }> };
    const cell = nb.cells[0]!;
    return { text: cell.outputs.map((o) => (Array.isArray(o.text) ? o.text.join('') : o.text)).join(''), count: cell.execution_count };
  };
  const save = async (rec: RunRecord) => {
    const store = new RunStore(path.join(stateDir, 'execution'), log);
    store.save(rec.msgId, () => rec);
    await store.flush();
  };
  const start = () => {
    execution = new ServerExecution({ kernels, sessions, contents, stateDir, log, connectionPollMs: 60_000 });
    execution.onEvent((ev) => events.push(ev));
    return execution;
  };
  const records = () => (existsSync(path.join(stateDir, 'execution')) ? readdirSync(path.join(stateDir, 'execution')) : []);

  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'eucp-resume-'));
    stateDir = path.join(root, '.state');
    await mkdir(stateDir);
    contents = new FileContentsManager({ root, log });
    kernels = new FakeKernelManager();
    execution = null;
    events = [];
  });
  afterEach(async () => {
    await execution?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('continues from the stored outputs, replays what came before resume(), and ends on idle', async () => {
    const kernel = new FakeKernel('python3', { cwd: root });
    kernels.adopt(kernel);
    await writeNotebook([{ output_type: 'stream', name: 'stdout', text: ['0\n', '1\n'] }], 3);
    await save(record({ kernelId: kernel.id }));
    const ex = start();
    kernel.emit(iopub('run-1', 'stream', { name: 'stdout', text: '2\n' })); // before resume(): held
    await ex.resume();
    assert.deepEqual(ex.snapshot(NB).map((c) => [c.msgId, c.state, c.executionCount]), [['run-1', 'running', 3]]);
    kernel.emit(iopub('run-1', 'stream', { name: 'stdout', text: '3\n' }));
    kernel.emit(iopub('run-1', 'status', { execution_state: 'idle' }));
    await ex.flush();
    assert.deepEqual(await storedCell(), { text: '0\n1\n2\n3\n', count: 3 });
    const reply = events.find((e) => e.kind === 'reply');
    assert.deepEqual(reply && reply.kind === 'reply' ? [reply.msgId, reply.status, reply.executionCount] : null, ['run-1', 'ok', 3]);
    assert.ok(events.some((e) => e.kind === 'state' && e.state === 'done'));
    assert.ok(!events.some((e) => e.kind === 'request'), 'no second request (the journal has it)');
    assert.deepEqual(records(), []);
    // One probe queued behind the run, from the server's own session.
    assert.deepEqual(kernel.sent.map((m) => m.header.msg_type), ['kernel_info_request']);
  });

  it('closes a run that ended while no server listened once the probe queued behind it is done', async () => {
    const kernel = new FakeKernel('python3', { cwd: root });
    kernels.adopt(kernel);
    await writeNotebook([{ output_type: 'stream', name: 'stdout', text: 'partial\n' }], 3);
    await save(record({ kernelId: kernel.id }));
    const ex = start();
    await ex.resume();
    const probe = kernel.sent[0]!;
    kernel.emit(kernel.reply('shell', 'kernel_info_reply', probe, { status: 'ok' }));
    kernel.emit(kernel.reply('iopub', 'status', probe, { execution_state: 'idle' }));
    await ex.flush();
    assert.equal(ex.snapshot(NB)[0]?.state, 'done');
    assert.deepEqual(await storedCell(), { text: 'partial\n', count: 3 });
    assert.deepEqual(records(), []);
  });

  it('does not continue outputs of an earlier execution the previous server never stored over', async () => {
    const kernel = new FakeKernel('python3', { cwd: root });
    kernels.adopt(kernel);
    await writeNotebook([{ output_type: 'stream', name: 'stdout', text: 'old run\n' }], 1);
    const requestedAt = Date.now() - 5_000;
    await utimes(path.join(root, NB), new Date(requestedAt - 60_000), new Date(requestedAt - 60_000));
    await save(record({ kernelId: kernel.id, stored: false, requestedAt, executionCount: null, state: 'queued' }));
    const ex = start();
    await ex.resume();
    kernel.emit(iopub('run-1', 'execute_input', { execution_count: 2, code: 'loop()' }));
    kernel.emit(iopub('run-1', 'stream', { name: 'stdout', text: 'new\n' }));
    kernel.emit(iopub('run-1', 'error', { ename: 'E', evalue: 'boom', traceback: [] }));
    kernel.emit(iopub('run-1', 'status', { execution_state: 'idle' }));
    await ex.flush();
    const nb = JSON.parse(await readFile(path.join(root, NB), 'utf8')) as { cells: Array<{ outputs: Array<{ output_type: string }>; execution_count: number }> };
    assert.deepEqual(nb.cells[0]!.outputs.map((o) => o.output_type), ['stream', 'error']);
    assert.equal(nb.cells[0]!.execution_count, 2);
    const reply = events.find((e) => e.kind === 'reply');
    assert.equal(reply?.kind === 'reply' && reply.status, 'error');
  });

  it('ends a run whose kernel is gone as dead and leaves the notebook alone', async () => {
    await writeNotebook([{ output_type: 'stream', name: 'stdout', text: 'kept\n' }], 3);
    const before = await readFile(path.join(root, NB), 'utf8');
    await save(record({ kernelId: 'gone' }));
    const ex = start();
    await ex.resume();
    await ex.flush();
    assert.deepEqual(
      events.map((e) => (e.kind === 'reply' ? [e.kind, e.msgId, e.status] : [e.kind])),
      [['reply', 'run-1', 'dead']],
    );
    assert.equal(await readFile(path.join(root, NB), 'utf8'), before);
    assert.deepEqual(ex.snapshot(NB), []);
    assert.deepEqual(records(), []);
  });

  it('records a tracked execution while it runs and forgets it when it ends', async () => {
    const kernel = new FakeKernel('python3', { cwd: root });
    kernels.adopt(kernel);
    await writeNotebook([], null);
    const ex = start();
    kernel.emit(kernel.reply('iopub', 'status', null, { execution_state: 'idle' })); // names the kernel's session
    const run = await ex.execute({ kernel, path: NB, cellId: 'c', code: 'print(1)' });
    await ex.flush();
    const store = new RunStore(path.join(stateDir, 'execution'), log);
    assert.deepEqual(
      store.loadSync().map((r) => [r.msgId, r.cellId, r.origin, r.kernelId, r.state, r.replied]),
      [[run.msgId, 'c', 'server', kernel.id, 'queued', false]],
    );
    const req = kernel.sent.find((m) => m.header.msg_type === 'execute_request')!;
    kernel.emit(kernel.reply('iopub', 'execute_input', req, { execution_count: 5 }));
    await ex.flush();
    assert.deepEqual(store.loadSync().map((r) => [r.state, r.executionCount]), [['running', 5]]);
    kernel.emit(kernel.reply('shell', 'execute_reply', req, { status: 'ok', execution_count: 5 }));
    kernel.emit(kernel.reply('iopub', 'status', req, { execution_state: 'idle' }));
    await run.done;
    await ex.flush();
    assert.deepEqual(records(), []);
  });

  it('store: unreadable records and temp files are dropped; saves coalesce, removal comes last', async () => {
    const dir = path.join(stateDir, 'execution');
    await mkdir(dir);
    await writeFile(path.join(dir, 'bad.json'), '{"version":1');
    await writeFile(path.join(dir, 'x.json.1234.tmp'), '');
    const store = new RunStore(dir, log);
    assert.deepEqual(store.loadSync(), []);
    assert.deepEqual(readdirSync(dir), []);
    let reads = 0;
    for (let i = 0; i < 5; i++) store.save('a', () => (reads++, record({ msgId: 'a', executionCount: i })));
    await store.flush();
    assert.ok(reads <= 2, `coalesced (${reads} writes)`);
    assert.deepEqual(store.loadSync().map((r) => r.executionCount), [4]);
    store.save('a', () => record({ msgId: 'a' }));
    store.remove('a');
    await store.flush();
    assert.deepEqual(readdirSync(dir), []);
  });
});

/**
 * Server-owned execution against a real ipykernel, real notebook files and real
 * sessions: outputs land in the stored notebook while no browser is attached, and the
 * notebook stays valid for nbformat.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { watch } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { FileContentsManager } from '../src/contents/manager.js';
import { ServerExecution } from '../src/execution/service.js';
import type { ExecutionEvent } from '../src/execution/types.js';
import { ZmqKernelManager } from '../src/kernels/manager.js';
import type { Kernel, KernelMessage } from '../src/kernels/types.js';
import { FileSessionManager } from '../src/sessions/manager.js';

const run = promisify(execFile);
const log = pino({ level: process.env.EUCP_TEST_LOG ?? 'silent' });

type Cell = { id: string; cell_type: string; source: string; metadata: object; outputs?: unknown[]; execution_count?: number | null };
const code = (id: string, source: string): Cell => ({ id, cell_type: 'code', source, metadata: {}, outputs: [], execution_count: null });

const CELLS: Cell[] = [
  { id: 'intro', cell_type: 'markdown', source: '# Capture test', metadata: { tags: ['keep'] } },
  { ...code('keep', 'print("old")'), outputs: [{ output_type: 'stream', name: 'stdout', text: ['old\n'] }], execution_count: 7 },
  code('count30', 'import time\nfor i in range(30): print(i, flush=True); time.sleep(0.05)'),
  code('tqdm', ''),
  code('disp', ''),
  code('frames', ''),
  code('big', ''),
  code('attached', ''),
  code('srv', ''),
];

/** nbformat's on-disk form: multi-line strings as arrays of lines (f.4). */
const lines = (s: string): string[] => s.split(/(?<=\n)/).filter((l) => l !== '');

function notebookText(cells: Cell[]): string {
  const nb = {
    cells: cells.map((c) => ({ ...c, source: lines(c.source) })),
    metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' }, language_info: { name: 'python' } },
    nbformat: 4,
    nbformat_minor: 5,
  };
  return `${JSON.stringify(nb, null, 1)}\n`;
}

describe('server-owned execution with a real ipykernel', { timeout: 180_000 }, () => {
  let root: string;
  let stateDir: string;
  let kernels: ZmqKernelManager;
  let execution: ServerExecution;
  let kernel: Kernel;
  let file: string;
  const NB = 'work/capture.ipynb';
  const client = randomUUID();

  before(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'eucp-exec-'));
    stateDir = path.join(root, '.state');
    await rm(stateDir, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(path.join(root, 'work')));
    file = path.join(root, NB);
    await writeFile(file, notebookText(CELLS));
    kernels = new ZmqKernelManager({ stateDir, log });
    const contents = new FileContentsManager({ root, log });
    const sessions = new FileSessionManager({ stateDir, rootDir: root, kernels, contents, log });
    execution = new ServerExecution({ kernels, sessions, contents, stateDir, log, connectionPollMs: 50 });
    const { session } = await sessions.create({ path: NB, type: 'notebook', kernel: { name: 'python3' } });
    kernel = kernels.get(session.kernel.id)!;
  });

  after(async () => {
    await execution?.close();
    await kernels?.shutdownAll();
    if (root) await rm(root, { recursive: true, force: true });
  });

  /** Sends an execute_request the way JupyterLab does (bridge observes it, then the kernel gets it). */
  function runAsBrowser(cellId: string, source: string): Promise<ExecutionEvent> {
    const msg: KernelMessage = {
      channel: 'shell',
      header: { msg_id: randomUUID(), msg_type: 'execute_request', session: client, username: '', date: new Date().toISOString(), version: '5.2' },
      parent_header: {},
      metadata: { cellId, deletedCells: [], recordTiming: false },
      content: { code: source, silent: false, store_history: true, user_expressions: {}, allow_stdin: true, stop_on_error: true },
      buffers: [],
    };
    const done = new Promise<ExecutionEvent>((resolve) => {
      const off = execution.onEvent((ev) => {
        if (ev.kind === 'state' && ev.msgId === msg.header.msg_id && ev.state === 'done') {
          off();
          resolve(ev);
        }
      });
    });
    execution.observeClientMessage(kernel, msg);
    kernel.send(msg);
    return done.then(async (ev) => {
      await execution.flush();
      return ev;
    });
  }

  async function stored(): Promise<{ cells: Cell[] }> {
    return JSON.parse(await readFile(file, 'utf8'));
  }
  const cellOf = (nb: { cells: Cell[] }, id: string): Cell => nb.cells.find((c) => c.id === id)!;
  const text = (o: unknown): string => {
    const t = (o as { text: string | string[] }).text;
    return Array.isArray(t) ? t.join('') : t;
  };
  async function assertValid(p = file): Promise<void> {
    await run('/usr/bin/python3', ['-c', 'import nbformat,sys; nbformat.validate(nbformat.read(sys.argv[1],4))', p]);
  }

  it('writes all 30 lines of a streaming cell into the stored notebook (no browser attached)', async () => {
    const before = await stored();
    const ev = await runAsBrowser('count30', CELLS[2]!.source);
    assert.equal(ev.kind === 'state' && ev.executionCount !== null, true);
    const nb = await stored();
    const cell = cellOf(nb, 'count30');
    assert.equal(cell.outputs!.length, 1);
    assert.equal(text(cell.outputs![0]), Array.from({ length: 30 }, (_, i) => `${i}\n`).join(''));
    assert.equal(typeof cell.execution_count, 'number');
    await assertValid();
    // Other cells are untouched.
    assert.deepEqual(cellOf(nb, 'intro'), cellOf(before, 'intro'));
    assert.deepEqual(cellOf(nb, 'keep'), cellOf(before, 'keep'));
  });

  it('stores a tqdm-style \\r progress bar as one line', async () => {
    const src = [
      'import sys',
      'for i in range(101):',
      '    sys.stderr.write(f"\\r{i:3d}%|{\'#\' * (i // 10):10s}|"); sys.stderr.flush()',
      'sys.stderr.write("\\n"); sys.stderr.flush()',
    ].join('\n');
    await runAsBrowser('tqdm', src);
    const cell = cellOf(await stored(), 'tqdm');
    assert.deepEqual(cell.outputs!.map((o) => (o as { name: string }).name), ['stderr']);
    assert.equal(text(cell.outputs![0]), '100%|##########|\n');
    await assertValid();
  });

  it('handles clear_output(wait=True) and update_display_data across cells', async () => {
    await runAsBrowser('disp', 'from IPython.display import display\nh = display("v1", display_id="dd")');
    assert.deepEqual(cellOf(await stored(), 'disp').outputs, [{ output_type: 'display_data', data: { 'text/plain': ["'v1'"] }, metadata: {} }]);
    await runAsBrowser(
      'frames',
      [
        'from IPython.display import clear_output, update_display',
        'for f in range(3):',
        '    clear_output(wait=True)',
        '    print(f"frame {f}", flush=True)',
        'update_display("v2", display_id="dd")',
      ].join('\n'),
    );
    const nb = await stored();
    assert.deepEqual(cellOf(nb, 'frames').outputs, [{ output_type: 'stream', name: 'stdout', text: ['frame 2\n'] }]);
    assert.deepEqual(cellOf(nb, 'disp').outputs, [{ output_type: 'display_data', data: { 'text/plain': ["'v2'"] }, metadata: {} }]);
    await assertValid();
  });

  it('caps a 50 MB output with a marker, keeps the notebook valid and spills everything', async () => {
    const n = 500_000;
    const src = `import sys\nline = "x" * 96\nfor i in range(${n}): print(f"{i:7d}", line)`;
    await runAsBrowser('big', src);
    const raw = await readFile(file, 'utf8');
    assert.ok(raw.length < 3 * 1024 * 1024, `notebook is ${raw.length} bytes`);
    await assertValid();
    const out = text(cellOf(JSON.parse(raw), 'big').outputs![0]);
    const m = /^… (\d+) lines \((\d+) bytes\) of output omitted by EUCP lab; the full output is in (.+)$/m.exec(out);
    assert.ok(m, 'marker line present');
    const spill = m[3]!;
    assert.equal(path.dirname(spill), path.join(stateDir, 'outputs'));
    const line = (i: number) => `${String(i).padStart(7)} ${'x'.repeat(96)}\n`;
    assert.ok(out.startsWith(line(0) + line(1)), 'head kept');
    assert.ok(out.endsWith(line(n - 2) + line(n - 1)), 'tail kept');
    const hash = createHash('sha256');
    for (let i = 0; i < n; i++) hash.update(line(i));
    const full = await readFile(spill);
    assert.equal(full.length, n * 105);
    assert.equal(createHash('sha256').update(full).digest('hex'), hash.digest('hex'));
    assert.equal(path.basename(spill), `${createHash('sha256').update(full).digest('hex')}.txt`);
    const kept = out.split('\n').length - 2;
    assert.equal(kept + Number(m[1]), n, 'kept lines + omitted lines = all lines');
  });

  it('does not write while a browser is attached, and writes when it detaches', async () => {
    kernel.connections = 1;
    const before = await readFile(file, 'utf8');
    await runAsBrowser('attached', 'print("while attached")');
    await execution.flush();
    assert.equal(await readFile(file, 'utf8'), before, 'the browser owns the document while attached');
    const written = new Promise<void>((resolve, reject) => {
      const w = watch(path.dirname(file), () => {
        readFile(file, 'utf8').then((t) => {
          if (t.includes('while attached')) {
            w.close();
            resolve();
          }
        }, reject);
      });
    });
    kernel.connections = 0;
    await written;
    assert.equal(text(cellOf(await stored(), 'attached').outputs![0]), 'while attached\n');
    await assertValid();
  });

  it('never overwrites a malformed notebook; writes once it is readable again', async () => {
    const good = await readFile(file, 'utf8');
    await writeFile(file, '{"cells": [ this is not json');
    const tracked = await execution.execute({ kernel, path: NB, cellId: 'srv', code: 'print("kept in memory")' });
    const result = await tracked.done;
    assert.equal(result.status, 'ok');
    assert.deepEqual(result.outputs, [{ output_type: 'stream', name: 'stdout', text: 'kept in memory\n' }]);
    await execution.flush();
    assert.equal(await readFile(file, 'utf8'), '{"cells": [ this is not json');
    assert.deepEqual(execution.snapshot(NB).find((c) => c.cellId === 'srv')?.outputs, result.outputs);
    await writeFile(file, good);
    await execution.flush();
    assert.equal(text(cellOf(await stored(), 'srv').outputs![0]), 'kept in memory\n');
    await assertValid();
  });

  it('queues executions in order, and a restart ends them as aborted with a restart event', async () => {
    const seen: ExecutionEvent[] = [];
    const off = execution.onEvent((ev) => seen.push(ev));
    const firstRunning = new Promise<void>((resolve) => {
      const stop = execution.onEvent((ev) => {
        if (ev.kind === 'state' && ev.state === 'running' && ev.cellId === 'srv') {
          stop();
          resolve();
        }
      });
    });
    const a = await execution.execute({ kernel, path: NB, cellId: 'srv', code: 'import time\ntime.sleep(60)' });
    const b = await execution.execute({ kernel, path: NB, cellId: 'attached', code: 'print("never")' });
    await firstRunning;
    const snap = execution.snapshot(NB);
    assert.equal(snap.find((c) => c.msgId === a.msgId)?.state, 'running');
    assert.equal(snap.find((c) => c.msgId === b.msgId)?.state, 'queued');
    await kernel.restart();
    assert.equal((await a.done).status, 'aborted');
    assert.equal((await b.done).status, 'aborted');
    off();
    const kinds = seen.filter((e) => e.kind === 'restart' || e.kind === 'reply').map((e) => (e.kind === 'reply' ? `${e.status}:${e.msgId}` : e.kind));
    assert.deepEqual(kinds, [`aborted:${a.msgId}`, `aborted:${b.msgId}`, 'restart']);
    // The restarted kernel runs the next execution normally.
    const again = await (await execution.execute({ kernel, path: NB, cellId: 'attached', code: 'print("after restart")' })).done;
    assert.equal(again.status, 'ok');
    const request = seen.find((e) => e.kind === 'request' && e.msgId === a.msgId);
    assert.ok(request && request.kind === 'request' && request.kernelSession !== '', 'request events name the kernel session');
  });

  it('runs code from the server (execute) with a result and execution count', async () => {
    const tracked = await execution.execute({ kernel, path: NB, cellId: 'srv', code: '6 * 7' });
    const result = await tracked.done;
    assert.equal(result.status, 'ok');
    assert.equal(typeof result.executionCount, 'number');
    assert.deepEqual(result.outputs, [
      { output_type: 'execute_result', execution_count: result.executionCount, data: { 'text/plain': '42' }, metadata: {} },
    ]);
    await execution.flush();
    const cell = cellOf(await stored(), 'srv');
    assert.equal(cell.execution_count, result.executionCount);
    assert.deepEqual(cell.outputs, [{ output_type: 'execute_result', execution_count: result.executionCount, data: { 'text/plain': ['42'] }, metadata: {} }]);
    const errored = await (await execution.execute({ kernel, path: NB, cellId: 'srv', code: '1/0' })).done;
    assert.equal(errored.status, 'error');
    assert.equal((errored.outputs[0] as { ename: string }).ename, 'ZeroDivisionError');
    await assertValid();
  });
});

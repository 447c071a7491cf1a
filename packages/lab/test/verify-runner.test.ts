/**
 * "Restart and run all, verify" and the journal routes against a real ipykernel, real
 * notebook files, real sessions and the real server-owned execution.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { FileContentsManager } from '../src/contents/manager.js';
import type { LabContext } from '../src/context.js';
import { FileJournal } from '../src/execution/journal.js';
import { journalRoutes } from '../src/execution/journal-routes.js';
import type { NotebookBadges } from '../src/execution/journal-types.js';
import { VerifyRunner, type VerifyReport } from '../src/execution/runner.js';
import { ServerExecution } from '../src/execution/service.js';
import { installErrorHandler } from '../src/http/errors.js';
import { ZmqKernelManager } from '../src/kernels/manager.js';
import type { Kernel } from '../src/kernels/types.js';
import { FileSessionManager } from '../src/sessions/manager.js';

const log = pino({ level: process.env.EUCP_TEST_LOG ?? 'silent' });

type Cell = { id: string; cell_type: string; source: string; metadata: object; outputs?: unknown[]; execution_count?: number | null };
const md = (id: string, source: string): Cell => ({ id, cell_type: 'markdown', source, metadata: {} });
const code = (id: string, source: string, stdout?: string, count: number | null = null): Cell => ({
  id,
  cell_type: 'code',
  source,
  metadata: {},
  outputs: stdout === undefined ? [] : [{ output_type: 'stream', name: 'stdout', text: [stdout] }],
  execution_count: count,
});
const notebookText = (cells: Cell[]): string =>
  `${JSON.stringify({ cells, metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } }, nbformat: 4, nbformat_minor: 5 }, null, 1)}\n`;

describe('verify-by-replay with a real ipykernel', { timeout: 180_000 }, () => {
  let root: string;
  let stateDir: string;
  let kernels: ZmqKernelManager;
  let contents: FileContentsManager;
  let sessions: FileSessionManager;
  let execution: ServerExecution;
  let journal: FileJournal;
  let runner: VerifyRunner;
  let kernel: Kernel;
  let app: FastifyInstance;

  before(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'eucp-verify-'));
    stateDir = path.join(root, '.state');
    await mkdir(path.join(root, 'work'));
    await writeFile(path.join(root, 'work/good.ipynb'), notebookText([md('intro', '# Answer'), code('x', 'x = 2', undefined, 1), code('p', 'print(x * 21)', '42\n', 2)]));
    await writeFile(path.join(root, 'work/wrong.ipynb'), notebookText([md('intro', '# Answer'), code('x', 'x = 2', undefined, 1), code('p', 'print(x * 21)', '41\n', 2)]));
    // `y` came from a cell that was deleted afterwards; the stored output still shows 5.
    await writeFile(path.join(root, 'work/orphan.ipynb'), notebookText([code('a', 'z = 1', undefined, 1), code('b', 'print(y)', '5\n', 3), code('c', 'print(z)', '1\n', 4)]));
    kernels = new ZmqKernelManager({ stateDir, log });
    contents = new FileContentsManager({ root, log });
    sessions = new FileSessionManager({ stateDir, rootDir: root, kernels, contents, log });
    execution = new ServerExecution({ kernels, sessions, contents, stateDir, log, connectionPollMs: 50 });
    journal = new FileJournal({ execution, stateDir, log });
    runner = new VerifyRunner({ execution, contents, log });
    const { session } = await sessions.create({ path: 'work/good.ipynb', type: 'notebook', kernel: { name: 'python3' } });
    kernel = kernels.get(session.kernel.id)!;

    app = fastify({ logger: false });
    installErrorHandler(app);
    const ctx = { config: { baseUrl: '/', rootDir: root, stateDir, uiDir: null, defaultUrl: 'lab' }, log, contents, kernels, sessions, execution, journal } as unknown as LabContext;
    journalRoutes(app, ctx, runner);
    await app.ready();
  });

  after(async () => {
    await app?.close();
    journal?.close();
    await execution?.close();
    await kernels?.shutdownAll();
    if (root) await rm(root, { recursive: true, force: true });
  });

  async function verify(nbPath: string): Promise<VerifyReport> {
    const started = await runner.start(nbPath, kernel);
    assert.equal(started.state, 'running');
    return (await runner.finished(started.runId))!;
  }

  it('a notebook whose stored outputs match a fresh run is reproducible', async () => {
    const r = await verify('work/good.ipynb');
    assert.equal(r.state, 'done', r.error ?? '');
    assert.equal(r.reproducible, true);
    assert.equal(r.divergedAt, null);
    assert.deepEqual([r.cellsRun, r.cellsTotal], [2, 2]);
  });

  it('a changed stored number diverges at that cell, and the notebook gets the fresh outputs', async () => {
    const r = await verify('work/wrong.ipynb');
    assert.equal(r.state, 'done', r.error ?? '');
    assert.equal(r.reproducible, false);
    assert.equal(r.divergedAt?.cellId, 'p');
    assert.equal(r.divergedAt?.cellIndex, 2);
    assert.equal(r.divergedAt?.reason, 'number');
    assert.equal(r.divergedAt?.expected, '41\n');
    assert.equal(r.divergedAt?.actual, '42\n');
    await execution.flush();
    const nb = JSON.parse(await readFile(path.join(root, 'work/wrong.ipynb'), 'utf8')) as { cells: Cell[] };
    assert.match(JSON.stringify(nb.cells.find((c) => c.id === 'p')!.outputs), /42/);
  });

  it('state from a deleted cell makes the replay raise NameError there, and the run stops', async () => {
    const r = await verify('work/orphan.ipynb');
    assert.equal(r.state, 'done', r.error ?? '');
    assert.equal(r.reproducible, false);
    assert.equal(r.divergedAt?.cellId, 'b');
    assert.equal(r.divergedAt?.reason, 'error');
    assert.match(r.divergedAt?.actual ?? '', /^NameError: name 'y' is not defined/);
    assert.deepEqual([r.cellsRun, r.cellsTotal], [2, 3], 'stops at the first error like run-all');
  });

  it('journal routes: verify via HTTP, the journal of the replay, and D4 badges after editing on a real kernel', async () => {
    // Not a notebook of any session → 404; outside the root → 404; a bad body → 400.
    let res = await app.inject({ method: 'POST', url: '/api/eucp/notebooks/verify', payload: { path: 'work/wrong.ipynb' } });
    assert.equal(res.statusCode, 404);
    res = await app.inject({ method: 'GET', url: '/api/eucp/notebooks/journal?path=../../etc/passwd' });
    assert.equal(res.statusCode, 404);
    res = await app.inject({ method: 'POST', url: '/api/eucp/notebooks/badges', payload: { path: 'work/good.ipynb', cells: [{ id: 1 }] } });
    assert.equal(res.statusCode, 400);
    assert.match(res.json().message, /cells/);
    res = await app.inject({ method: 'GET', url: '/api/eucp/runs/nope' });
    assert.equal(res.statusCode, 404);

    res = await app.inject({ method: 'POST', url: '/api/eucp/notebooks/verify', payload: { path: 'work/good.ipynb' } });
    assert.equal(res.statusCode, 202);
    const { runId } = res.json() as { runId: string };
    const again = await app.inject({ method: 'POST', url: '/api/eucp/notebooks/verify', payload: { path: 'work/good.ipynb' } });
    assert.equal(again.statusCode, 409);
    await runner.finished(runId);
    res = await app.inject({ method: 'GET', url: `/api/eucp/runs/${runId}` });
    assert.equal(res.statusCode, 200);
    assert.deepEqual([res.json().state, res.json().reproducible, res.json().path], ['done', true, 'work/good.ipynb']);

    // The journal saw the replay: both cells, in order, after the latest restart.
    res = await app.inject({ method: 'GET', url: '/api/eucp/notebooks/journal?path=work/good.ipynb' });
    const entries = (res.json() as { entries: { cellId: string; status: string; restartIndex: number; executionCount: number }[] }).entries;
    const last = entries.slice(-2);
    assert.deepEqual(last.map((e) => [e.cellId, e.status]), [['x', 'ok'], ['p', 'ok']]);
    assert.equal(last[0]!.restartIndex, journal.restartIndex(kernel.id));
    assert.equal(journal.restartIndex(kernel.id), 4, 'four verify runs restarted the kernel, each counted once');
    assert.deepEqual(last.map((e) => e.executionCount), [1, 2]);

    const badges = async (cells: { id: string; source: string; cell_type: string }[]): Promise<NotebookBadges> =>
      (await app.inject({ method: 'POST', url: '/api/eucp/notebooks/badges', payload: { path: 'work/good.ipynb', cells } })).json();
    const doc = [
      { id: 'intro', source: '# Answer', cell_type: 'markdown' },
      { id: 'x', source: 'x = 2', cell_type: 'code' },
      { id: 'p', source: 'print(x * 21)', cell_type: 'code' },
    ];
    assert.deepEqual(await badges(doc), { outOfOrder: false, outOfOrderCells: [], stale: [], orphaned: [], restartedMidDocument: false });
    // Edit and re-run only the first code cell.
    const edited = doc.map((c) => (c.id === 'x' ? { ...c, source: 'x = 3' } : c));
    const t = await execution.execute({ kernel, path: 'work/good.ipynb', cellId: 'x', code: 'x = 3' });
    assert.equal((await t.done).status, 'ok');
    assert.deepEqual(await badges(edited), {
      outOfOrder: true,
      outOfOrderCells: ['x'],
      stale: [{ cellId: 'p', reason: 'upstream-rerun' }],
      orphaned: [],
      restartedMidDocument: false,
    });
    // Deleting the re-run cell from the document leaves its state orphaned.
    assert.deepEqual((await badges(edited.filter((c) => c.id !== 'x'))).orphaned, ['x']);

    // A lab-server restart reads the same journal back from the state directory.
    await journal.flush();
    const reread = new FileJournal({ execution, stateDir, log });
    assert.deepEqual(reread.entries('work/good.ipynb'), journal.entries('work/good.ipynb'));
    assert.equal(reread.restartIndex(kernel.id), 4);
    assert.deepEqual(reread.badges('work/good.ipynb', edited), journal.badges('work/good.ipynb', edited));
    reread.close();
  });
});

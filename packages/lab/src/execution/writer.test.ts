import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { FileContentsManager } from '../contents/manager.js';
import { NotebookWriter, type CellWrite } from './writer.js';

const log = pino({ level: 'silent' });
const NB = 'n.ipynb';
const notebook = {
  cells: [
    { id: 'a', cell_type: 'code', source: [], metadata: {}, outputs: [], execution_count: null },
    { id: 'b', cell_type: 'code', source: [], metadata: {}, outputs: [], execution_count: null },
  ],
  metadata: {},
  nbformat: 4,
  nbformat_minor: 5,
};
const state = (text: string, finishedAt: number | null = null): CellWrite => ({
  outputs: [{ output_type: 'stream', name: 'stdout', text }],
  executionCount: 1,
  timing: null,
  finishedAt,
});
/** Lets a write the timer started reach `updateNotebook` (it is called a few microtasks later). */
const microtasks = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

describe('NotebookWriter', () => {
  let root: string;
  let contents: FileContentsManager;
  let calls: number;
  let cells: Map<string, CellWrite>;
  let attached: boolean;
  let clock: number;
  let writer: NotebookWriter;

  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'eucp-writer-'));
    await writeFile(path.join(root, NB), JSON.stringify(notebook));
    contents = new FileContentsManager({ root, log });
    calls = 0;
    const update = contents.updateNotebook.bind(contents);
    contents.updateNotebook = (p, m) => {
      calls++;
      return update(p, m);
    };
    cells = new Map();
    attached = false;
    clock = 1_000_000;
    writer = new NotebookWriter({
      contents,
      log,
      now: () => clock,
      quietMs: 500,
      maxWaitMs: 3000,
      source: {
        cellStates: (_p, ids) => new Map([...cells].filter(([id]) => !ids || ids.has(id))),
        attached: () => attached,
      },
    });
  });
  afterEach(async () => {
    mock.timers.reset();
    await writer.flush(); // no write may still be in flight when the directory goes
    writer.close();
    await rm(root, { recursive: true, force: true });
  });

  const stored = async () => JSON.parse(await readFile(path.join(root, NB), 'utf8')) as typeof notebook;

  it('writes after a quiet period, and at most every maxWait under a continuous stream', async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    cells.set('a', state('1\n'));
    writer.markDirty(NB, 'a');
    mock.timers.tick(499);
    await microtasks();
    assert.equal(calls, 0);
    mock.timers.tick(1);
    await microtasks();
    assert.equal(calls, 1);
    await writer.writeNow(NB); // nothing dirty: only waits for the write in flight
    // A firehose: a change every 100 ms never leaves 500 ms of quiet, yet a write happens by 3 s.
    for (let t = 0; t < 2900; t += 100) {
      clock += 100;
      writer.markDirty(NB, 'a');
      mock.timers.tick(100);
      await microtasks();
    }
    assert.equal(calls, 1);
    cells.set('a', state('1\n2\n'));
    clock += 100;
    mock.timers.tick(100);
    await microtasks();
    assert.equal(calls, 2);
    mock.timers.reset();
    await writer.flush();
    assert.equal(calls, 2, 'nothing left to write');
    assert.deepEqual((await stored()).cells[0]!.outputs, [{ output_type: 'stream', name: 'stdout', text: ['1\n', '2\n'] }]);
  });

  it('writes nothing while attached, and only cells not saved by the browser on detach', async () => {
    cells.set('a', state('finished long before the save\n', clock - 60_000));
    cells.set('b', state('still running\n', null));
    attached = true;
    writer.markDirty(NB, 'a');
    writer.markDirty(NB, 'b');
    await writer.writeNow(NB);
    await writer.flush();
    assert.equal(calls, 0);
    // The browser saved 30 s after cell a finished.
    const saved = new Date(clock - 30_000);
    await utimes(path.join(root, NB), saved, saved);
    attached = false;
    await writer.detached(NB);
    const nb = await stored();
    assert.deepEqual(nb.cells[0]!.outputs, [], 'the browser stored cell a; not rewritten');
    assert.deepEqual(nb.cells[1]!.outputs, [{ output_type: 'stream', name: 'stdout', text: ['still running\n'] }]);
  });

  it('leaves the file alone when none of the cells is in it any more', async () => {
    cells.set('deleted', state('x\n'));
    const before = await readFile(path.join(root, NB));
    writer.markDirty(NB, 'deleted');
    await writer.writeNow(NB);
    assert.equal(calls, 1);
    assert.deepEqual(await readFile(path.join(root, NB)), before);
  });
});

import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { FileJournal, sha256 } from './journal.js';
import type { ExecutionEvent, ExecutionService } from './types.js';

/**
 * A test double of the execution service that only emits events (ExecutionService.onEvent);
 * everything else is out of the journal's reach and throws.
 */
class EmittingExecution extends EventEmitter implements ExecutionService {
  private seq = 0;
  private msg = 0;
  onEvent(listener: (ev: ExecutionEvent) => void): () => void {
    this.on('event', listener);
    return () => this.off('event', listener);
  }
  emitEvent(ev: Record<string, unknown> & { kind: ExecutionEvent['kind'] }): void {
    this.emit('event', { ...ev, seq: ++this.seq } as ExecutionEvent);
  }
  /** One execution of `code` as cell `cellId`, request then reply. */
  run(nbPath: string, cellId: string, code: string, opts: { kernelId?: string; session?: string; status?: 'ok' | 'error' } = {}): void {
    const msgId = `m${++this.msg}`;
    this.emitEvent({
      kind: 'request',
      path: nbPath,
      cellId,
      msgId,
      kernelId: opts.kernelId ?? 'k1',
      kernelSession: opts.session ?? 's1',
      code,
      at: Date.now(),
      origin: 'client-1',
    });
    this.emitEvent({ kind: 'reply', path: nbPath, cellId, msgId, status: opts.status ?? 'ok', executionCount: this.msg });
  }
  observeClientMessage(): void {
    throw new Error('not in this double');
  }
  execute(): never {
    throw new Error('not in this double');
  }
  snapshot(): never {
    throw new Error('not in this double');
  }
  async flush(): Promise<void> {}
}

const log = pino({ level: 'silent' });
const cells = (src: Record<string, string>) => Object.entries(src).map(([id, source]) => ({ id, source, cell_type: 'code' }));

describe('FileJournal', () => {
  let stateDir: string;
  beforeEach(() => {
    stateDir = mkdtempSync(path.join(tmpdir(), 'eucp-journal-'));
  });
  afterEach(() => rmSync(stateDir, { recursive: true, force: true }));

  it('records executions in order and gives the D4 badges, also after a lab-server restart', async () => {
    const exec = new EmittingExecution();
    const journal = new FileJournal({ execution: exec, stateDir, log });
    const src = { c1: 'x = 1', c2: 'y = x + 1', c3: 'print(y)' };
    exec.run('work/a.ipynb', 'c1', src.c1);
    exec.run('work/a.ipynb', 'c2', src.c2);
    exec.run('work/a.ipynb', 'c3', src.c3, { status: 'error' });
    exec.run('other.ipynb', 'z', '1');
    const entries = journal.entries('/work/a.ipynb');
    assert.deepEqual(
      entries.map((e) => [e.cellId, e.status, e.executionCount, e.restartIndex, e.kernelId]),
      [
        ['c1', 'ok', 1, 0, 'k1'],
        ['c2', 'ok', 2, 0, 'k1'],
        ['c3', 'error', 3, 0, 'k1'],
      ],
    );
    assert.equal(entries[0]!.sourceHash, sha256('x = 1'));
    assert.equal(entries[0]!.path, 'work/a.ipynb');

    const edited = { ...src, c1: 'x = 2' };
    exec.run('work/a.ipynb', 'c1', edited.c1);
    const expected = {
      outOfOrder: true,
      outOfOrderCells: ['c1'],
      stale: [
        { cellId: 'c2', reason: 'upstream-rerun' },
        { cellId: 'c3', reason: 'upstream-rerun' },
      ],
      orphaned: [],
      restartedMidDocument: false,
    };
    assert.deepEqual(journal.badges('work/a.ipynb', cells(edited)), expected);
    await journal.flush();
    journal.close();

    // A new lab-server process reads the same files.
    const again = new FileJournal({ execution: new EmittingExecution(), stateDir, log });
    assert.deepEqual(again.entries('work/a.ipynb'), journal.entries('work/a.ipynb'));
    assert.deepEqual(again.badges('work/a.ipynb', cells(edited)), expected);
    assert.equal(again.entries('other.ipynb').length, 1);
    assert.deepEqual(again.entries('never-ran.ipynb'), []);
    assert.equal(readdirSync(path.join(stateDir, 'journal')).length, 2, 'one file per notebook, no kernel restarts yet');
    again.close();
  });

  it('counts restarts per kernel, persists them, and infers one when the kernel session changes', async () => {
    const exec = new EmittingExecution();
    const journal = new FileJournal({ execution: exec, stateDir, log });
    const src = { a: 'import numpy', b: 'b = 1', c: 'c = 2' };
    for (const id of ['a', 'b', 'c'] as const) exec.run('n.ipynb', id, src[id]);
    exec.emitEvent({ kind: 'restart', kernelId: 'k1', at: Date.now() });
    exec.run('n.ipynb', 'b', src.b, { session: 's2' });
    const b = journal.badges('n.ipynb', cells(src));
    assert.equal(b.restartedMidDocument, true);
    assert.deepEqual(b.stale, [
      { cellId: 'a', reason: 'kernel-restarted' },
      { cellId: 'c', reason: 'kernel-restarted' },
    ]);
    // Cleared outputs after the restart: nothing shown is stale.
    assert.deepEqual(
      journal.badges('n.ipynb', cells(src).map((c) => ({ ...c, hasOutputs: c.id === 'b' }))).stale,
      [],
    );
    // An unknown session ('': the service had not heard from the kernel yet) is no evidence.
    exec.run('n.ipynb', 'b', src.b, { session: '' });
    exec.run('n.ipynb', 'b', src.b, { session: 's2' });
    // The service did not report this restart, but the kernel process's session changed.
    exec.run('n.ipynb', 'c', src.c, { session: 's3' });
    assert.deepEqual(
      journal.entries('n.ipynb').map((e) => e.restartIndex),
      [0, 0, 0, 1, 1, 1, 2],
    );
    await journal.flush();
    journal.close();

    const again = new FileJournal({ execution: new EmittingExecution(), stateDir, log });
    assert.equal(again.restartIndex('k1'), 2);
    assert.deepEqual(again.badges('n.ipynb', cells(src)).stale, [
      { cellId: 'a', reason: 'kernel-restarted' },
      { cellId: 'b', reason: 'kernel-restarted' },
    ]);
    // Restarted with nothing run since: everything ran before the restart is stale.
    const restartedOnly = new EmittingExecution();
    const j3 = new FileJournal({ execution: restartedOnly, stateDir, log });
    restartedOnly.emitEvent({ kind: 'restart', kernelId: 'k1', at: Date.now() });
    assert.equal(j3.badges('n.ipynb', cells(src)).stale.length, 3);
    await j3.flush();
    j3.close();
    again.close();
  });

  it('survives a torn last line and ignores replies it never saw the request of', async () => {
    const exec = new EmittingExecution();
    const journal = new FileJournal({ execution: exec, stateDir, log });
    exec.run('t.ipynb', 'a', '1');
    exec.emitEvent({ kind: 'reply', path: 't.ipynb', cellId: 'q', msgId: 'unknown', status: 'ok', executionCount: 9 });
    await journal.flush();
    journal.close();
    const file = path.join(stateDir, 'journal', `${sha256('t.ipynb')}.jsonl`);
    assert.equal(readFileSync(file, 'utf8').trim().split('\n').length, 2, 'a run line and a reply line');
    appendFileSync(file, '{"t":"run","msgId":"m9","pa');
    const exec2 = new EmittingExecution();
    const again = new FileJournal({ execution: exec2, stateDir, log });
    assert.deepEqual(again.entries('t.ipynb').map((e) => [e.cellId, e.status]), [['a', 'ok']]);
    // The next execution lands on a line of its own and is read back.
    exec2.run('t.ipynb', 'b', '2');
    await again.flush();
    again.close();
    const third = new FileJournal({ execution: new EmittingExecution(), stateDir, log });
    assert.deepEqual(third.entries('t.ipynb').map((e) => [e.cellId, e.status]), [['a', 'ok'], ['b', 'ok']]);
    third.close();
  });
});

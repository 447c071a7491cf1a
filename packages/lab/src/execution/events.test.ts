import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { EventLog } from './events.js';
import type { ExecutionEvent } from './types.js';

const log = pino({ level: 'silent' });
const ids = { path: 'a.ipynb', cellId: 'c1', msgId: 'm1' };
const out = (text: string) => ({ output_type: 'stream' as const, name: 'stdout' as const, text });

describe('EventLog', () => {
  it('numbers events and resumes a view after N from the notebook ring', () => {
    const events = new EventLog({ log });
    const s0 = events.lastSeq();
    const seen: ExecutionEvent[] = [];
    events.on((e) => seen.push(e));
    events.emit({ kind: 'state', ...ids, state: 'queued', executionCount: null });
    events.emit({ kind: 'state', path: 'b.ipynb', cellId: 'x', msgId: 'm2', state: 'queued', executionCount: null });
    events.emit({ kind: 'state', ...ids, state: 'running', executionCount: 1 });
    assert.deepEqual(seen.map((e) => e.seq - s0), [1, 2, 3]);
    assert.deepEqual(events.since('a.ipynb', s0 + 1)!.map((e) => e.seq - s0), [3]);
    assert.deepEqual(events.since('a.ipynb', s0 + 3), []);
    assert.deepEqual(events.since('never.ipynb', s0), []);
    assert.equal(events.since('a.ipynb', s0 + 99), null, 'a seq from another server numbering');
    events.close();
  });

  it('numbers above everything an earlier lab server sent, so a view resuming across a restart gets a snapshot', async () => {
    const before = new EventLog({ log });
    for (let i = 0; i < 1000; i++) before.emit({ kind: 'clear', ...ids });
    const stale = before.lastSeq();
    before.close();
    await new Promise((r) => setTimeout(r, 2));
    const after = new EventLog({ log });
    assert.ok(after.lastSeq() > stale, 'the new numbering starts above the old one');
    assert.equal(after.since('a.ipynb', stale), null, 'an old after= is unknown here: the view takes a snapshot');
    after.close();
  });

  it('answers null once the ring dropped events the view has not seen', () => {
    const events = new EventLog({ log, ringEvents: 3 });
    const s0 = events.lastSeq();
    for (let i = 0; i < 5; i++) events.emit({ kind: 'clear', ...ids });
    assert.equal(events.since('a.ipynb', s0 + 1), null);
    assert.deepEqual(events.since('a.ipynb', s0 + 2)!.map((e) => e.seq - s0), [3, 4, 5]);
    events.close();
  });

  it('coalesces bursts of sets of one output, and never lets them overtake the other events of the run', () => {
    const events = new EventLog({ log, coalesceMs: 60_000 });
    const seen: ExecutionEvent[] = [];
    events.on((e) => seen.push(e));
    events.set({ kind: 'set', ...ids, index: 0, output: out('1\n') });
    events.set({ kind: 'set', ...ids, index: 0, output: out('1\n2\n') });
    events.set({ kind: 'set', ...ids, index: 1, output: out('err\n') });
    assert.equal(seen.length, 0);
    events.emit({ kind: 'reply', ...ids, status: 'ok', executionCount: 1 });
    assert.deepEqual(
      seen.map((e) => (e.kind === 'set' ? `set${e.index}:${JSON.stringify(e.output)}` : e.kind)),
      [`set0:${JSON.stringify(out('1\n2\n'))}`, `set1:${JSON.stringify(out('err\n'))}`, 'reply'],
    );
    events.set({ kind: 'set', ...ids, index: 0, output: out('gone') });
    events.emit({ kind: 'clear', ...ids });
    assert.equal(seen[seen.length - 1]!.kind, 'clear', 'a clear drops the sets it supersedes');
    assert.equal(seen.filter((e) => e.kind === 'set').length, 2);
    events.close();
  });
});

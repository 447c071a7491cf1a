// Unit tests of the EUCP extension's pure logic: node --test packages/lab-ui/src/eucp-extension/apply.test.mjs
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import {
  OwnedMessages,
  applyOutputEvent,
  debounce,
  executeRequestOf,
  kernelStarted,
  outputsEqual,
  userContentKey,
} from './apply.js';
import { ExecutionTracker } from './tracker.js';
import { applyToCell, syncOutputs } from './cells.js';
import { cellList, describeVerifyRun, eventsQuery, summarizeBadges } from './texts.js';

const out = (text, name = 'stdout') => ({ output_type: 'stream', name, text });
const PATH = 'work/a.ipynb';

/** Stand-in for JupyterLab's OutputAreaModel: `add` merges adjacent streams of one name. */
class FakeOutputs {
  constructor() {
    this.list = [];
    this.last = '';
    this.trusted = false;
  }
  get length() {
    return this.list.length;
  }
  add(o) {
    if (o.output_type === 'stream' && o.name === this.last && this.list.length > 0) {
      const prev = this.list[this.list.length - 1];
      this.list[this.list.length - 1] = { ...prev, text: prev.text + o.text };
      return this.list.length;
    }
    this.list.push({ ...o });
    this.last = o.output_type === 'stream' ? o.name : '';
    return this.list.length;
  }
  set(i, o) {
    if (i < 0 || i >= this.list.length) throw new Error('index out of range');
    this.list[i] = { ...o };
  }
  clear() {
    this.list = [];
    this.last = '';
  }
  fromJSON(values) {
    this.clear();
    for (const v of values) this.add(v);
  }
  toJSON() {
    return this.list.map((o) => ({ ...o }));
  }
}

class FakeCell {
  constructor() {
    this.outputs = new FakeOutputs();
    this.executionCount = null;
    this.executionState = 'idle';
    this.trusted = false;
  }
}

/** A page: tracker + cells it applies actions to (as live.js does). */
function page(owned = new OwnedMessages()) {
  const tracker = new ExecutionTracker({ isOwned: (id) => owned.has(id) });
  const cells = new Map();
  const finished = [];
  const run = (actions) => {
    for (const a of actions) {
      if (a.type === 'finished') finished.push(a.msgId);
      if (!('cellId' in a)) continue;
      if (!cells.has(a.cellId)) cells.set(a.cellId, new FakeCell());
      applyToCell(cells.get(a.cellId), a);
    }
    return actions;
  };
  return {
    owned,
    tracker,
    cells,
    finished,
    recv: (message) => run(tracker.handle(message)),
    ev: (event) => run(tracker.handle({ type: 'event', event })),
    send: (msgId, cellId) => {
      owned.add(msgId, cellId);
      return run(tracker.noteOwnRequest(msgId, cellId));
    },
    ownReply: (msgId) => run(tracker.noteOwnReply(msgId)),
    text: (cellId) => (cells.get(cellId)?.outputs.toJSON() ?? []).map((o) => o.text ?? o.output_type).join(''),
  };
}

let seq = 0;
const E = {
  request: (cellId, msgId, origin = 'server') => ({ kind: 'request', seq: ++seq, path: PATH, cellId, msgId, kernelId: 'k', kernelSession: 's', code: 'x', at: 0, origin }),
  state: (cellId, msgId, state, executionCount = null) => ({ kind: 'state', seq: ++seq, path: PATH, cellId, msgId, state, executionCount }),
  set: (cellId, msgId, index, output) => ({ kind: 'set', seq: ++seq, path: PATH, cellId, msgId, index, output }),
  clear: (cellId, msgId) => ({ kind: 'clear', seq: ++seq, path: PATH, cellId, msgId }),
  reply: (cellId, msgId, executionCount, status = 'ok') => ({ kind: 'reply', seq: ++seq, path: PATH, cellId, msgId, status, executionCount }),
  restart: () => ({ kind: 'restart', seq: ++seq, kernelId: 'k', at: 0 }),
};

test('set replaces outputs[index], appends at the end, refuses gaps; clear empties', () => {
  const a = applyOutputEvent([], { kind: 'set', index: 0, output: out('0\n') });
  assert.deepEqual(a.op, { type: 'append', output: out('0\n') });
  const b = applyOutputEvent(a.outputs, { kind: 'set', index: 0, output: out('0\n1\n') });
  assert.deepEqual(b.outputs, [out('0\n1\n')]);
  assert.equal(b.op.type, 'set');
  assert.equal(a.outputs[0].text, '0\n', 'input list not mutated');
  const gap = applyOutputEvent(b.outputs, { kind: 'set', index: 3, output: out('x') });
  assert.equal(gap.op, null);
  assert.equal(gap.outputs, b.outputs);
  assert.deepEqual(applyOutputEvent(b.outputs, { kind: 'clear' }).outputs, []);
});

test('outputs compare equal across nbformat line splitting and missing metadata', () => {
  const stored = [
    { output_type: 'stream', name: 'stdout', text: ['a\n', 'b\n'] },
    { output_type: 'execute_result', execution_count: 1, data: { 'text/plain': ['1', '2'], 'application/json': ['x'] } },
  ];
  const model = [
    { output_type: 'stream', name: 'stdout', text: 'a\nb\n' },
    { output_type: 'execute_result', execution_count: 1, metadata: {}, data: { 'application/json': ['x'], 'text/plain': '12' } },
  ];
  assert.ok(outputsEqual(stored, model));
  assert.ok(!outputsEqual(stored, [model[0]]));
  assert.ok(!outputsEqual([out('a')], [out('a', 'stderr')]));
});

test('own execute requests are recognised by msg_id, bounded in number', () => {
  const msg = { header: { msg_type: 'execute_request', msg_id: 'm1' }, metadata: { cellId: 'c1' } };
  assert.deepEqual(executeRequestOf(msg), { msgId: 'm1', cellId: 'c1' });
  assert.equal(executeRequestOf({ header: { msg_type: 'kernel_info_request', msg_id: 'm2' } }), null);
  const owned = new OwnedMessages(2);
  owned.add('a', 'c1');
  owned.add('b');
  owned.add('c', 'c3');
  assert.ok(!owned.has('a') && owned.has('b') && owned.has('c'));
  assert.equal(owned.cellOf('c'), 'c3');
});

test('debounce runs once after the last call', () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    let calls = 0;
    const d = debounce(() => calls++, 300);
    d.schedule();
    mock.timers.tick(200);
    d.schedule();
    mock.timers.tick(200);
    assert.equal(calls, 0);
    assert.ok(d.pending);
    mock.timers.tick(100);
    assert.equal(calls, 1);
    d.schedule();
    d.cancel();
    mock.timers.tick(1000);
    assert.equal(calls, 1);
    d.schedule();
    d.flush();
    assert.equal(calls, 2);
  } finally {
    mock.timers.reset();
  }
});

test('reopened mid-run: snapshot fills the cell, then lines stream in, count on reply', () => {
  const p = page();
  p.recv({
    type: 'snapshot',
    seq: 100,
    cells: [{ path: PATH, cellId: 'c1', msgId: 'x1', state: 'running', executionCount: null, outputs: [out('0\n1\n')] }],
  });
  const cell = p.cells.get('c1');
  assert.equal(cell.executionState, 'running', 'shows [*]');
  assert.equal(cell.executionCount, null);
  assert.equal(p.text('c1'), '0\n1\n');
  assert.ok(p.tracker.hasPendingForeign());
  p.ev({ ...E.set('c1', 'x1', 0, out('0\n1\n2\n')), seq: 101 });
  p.ev({ ...E.set('c1', 'x1', 0, out('0\n1\n2\n3\n')), seq: 102 });
  p.ev({ ...E.set('c1', 'x1', 1, { output_type: 'display_data', data: { 'text/plain': 'fig' }, metadata: {} }), seq: 103 });
  p.ev({ ...E.reply('c1', 'x1', 7), seq: 104 });
  p.ev({ ...E.state('c1', 'x1', 'done', 7), seq: 105 });
  assert.equal(p.text('c1'), '0\n1\n2\n3\ndisplay_data');
  assert.equal(cell.executionCount, 7);
  assert.equal(cell.executionState, 'idle');
  assert.ok(cell.trusted);
  assert.ok(!p.tracker.hasPendingForeign());
  assert.deepEqual([...new Set(p.finished)], ['x1']);
});

test('events replayed after a reconnection never duplicate a line', () => {
  const p = page();
  p.recv({ type: 'snapshot', seq: 0, cells: [] });
  const events = [E.request('c1', 'x2'), E.set('c1', 'x2', 0, out('a\n')), E.set('c1', 'x2', 1, out('b\n', 'stderr'))];
  for (const e of events) p.ev(e);
  // The socket dropped; reconnecting with after=<first seq> replays the last two.
  assert.equal(p.tracker.lastSeq, events[2].seq);
  for (const e of events.slice(1)) assert.deepEqual(p.ev(e), []);
  p.ev(E.set('c1', 'x2', 2, out('c\n')));
  assert.equal(p.text('c1'), 'a\nb\nc\n');
});

test('executions this page sent are never applied here', () => {
  const p = page();
  p.recv({ type: 'snapshot', seq: 0, cells: [] });
  p.send('own1', 'c1');
  const all = [E.request('c1', 'own1', 'client'), E.state('c1', 'own1', 'running'), E.set('c1', 'own1', 0, out('mine\n')), E.reply('c1', 'own1', 3)];
  for (const e of all) assert.deepEqual(p.ev(e), []);
  assert.equal(p.cells.get('c1'), undefined);
  // A reconnect snapshot listing the own execution leaves the cell alone too.
  assert.deepEqual(p.recv({ type: 'snapshot', seq: 50, cells: [{ cellId: 'c1', msgId: 'own1', state: 'done', executionCount: 3, outputs: [out('mine\n')] }] }), []);
});

test('another tab re-runs a cell: its outputs replace the old ones', () => {
  const p = page();
  p.recv({ type: 'snapshot', seq: 0, cells: [{ cellId: 'c1', msgId: 'old', state: 'done', executionCount: 1, outputs: [out('old\n')] }] });
  assert.equal(p.text('c1'), 'old\n');
  p.ev(E.request('c1', 'tab2', 'other-session'));
  assert.equal(p.text('c1'), '', 'cleared when the new run is requested');
  assert.equal(p.cells.get('c1').executionState, 'running');
  p.ev(E.set('c1', 'tab2', 0, out('new\n')));
  p.ev(E.set('c1', 'old', 0, out('late line of the old run\n')));
  p.ev(E.clear('c1', 'tab2'));
  p.ev(E.set('c1', 'tab2', 0, out('after clear\n')));
  p.ev(E.reply('c1', 'tab2', 2));
  assert.equal(p.text('c1'), 'after clear\n');
  assert.equal(p.cells.get('c1').executionCount, 2);
});

test('a run from elsewhere queued behind this page\'s own run waits for it, then applies', () => {
  const p = page();
  p.recv({ type: 'snapshot', seq: 0, cells: [] });
  p.send('own', 'c1');
  assert.deepEqual(p.ev(E.request('c1', 'srv')), []);
  assert.deepEqual(p.ev(E.set('c1', 'srv', 0, out('queued output\n'))), []);
  assert.equal(p.cells.get('c1'), undefined, 'own run still shows through its own future');
  p.ev(E.reply('c1', 'own', 4));
  assert.equal(p.text('c1'), 'queued output\n');
  assert.equal(p.cells.get('c1').executionState, 'running');
  p.ev(E.reply('c1', 'srv', 5));
  assert.equal(p.cells.get('c1').executionCount, 5);
});

test('the page seeing its own execute_reply also releases a waiting run', () => {
  const p = page();
  p.recv({ type: 'snapshot', seq: 0, cells: [] });
  p.send('own', 'c1');
  p.ev(E.request('c1', 'srv'));
  p.ownReply('own');
  assert.equal(p.cells.get('c1').executionState, 'running');
});

test('this page re-running a cell supersedes a run from elsewhere', () => {
  const p = page();
  p.recv({ type: 'snapshot', seq: 0, cells: [] });
  p.ev(E.request('c1', 'srv'));
  p.ev(E.set('c1', 'srv', 0, out('x\n')));
  p.send('own', 'c1');
  assert.deepEqual(p.ev(E.set('c1', 'srv', 0, out('x\ny\n'))), []);
  assert.ok(!p.tracker.hasPendingForeign());
});

test('kernel restart ends runs from elsewhere; snapshot clears runs the server forgot', () => {
  const p = page();
  p.recv({ type: 'snapshot', seq: 0, cells: [] });
  p.ev(E.request('c1', 's1'));
  p.ev(E.request('c2', 's2'));
  const actions = p.ev(E.restart());
  assert.ok(actions.some((a) => a.type === 'restart'));
  assert.equal(p.cells.get('c1').executionState, 'idle');
  assert.equal(p.cells.get('c2').executionState, 'idle');
  p.ev(E.request('c3', 's3'));
  p.recv({ type: 'snapshot', seq: 9999, cells: [] });
  assert.equal(p.cells.get('c3').executionState, 'idle');
  assert.ok(!p.tracker.hasPendingForeign());
});

test('snapshot: an own run sent after the snapshot was made stays; a later foreign one waits', () => {
  const p = page();
  p.send('own', 'c1');
  assert.deepEqual(p.recv({ type: 'snapshot', seq: 1, cells: [{ cellId: 'c1', msgId: 'older', state: 'running', executionCount: null, outputs: [out('z')] }] }), []);
  const q = page();
  q.send('own', 'c1');
  q.recv({
    type: 'snapshot',
    seq: 1,
    cells: [
      { cellId: 'c1', msgId: 'own', state: 'running', executionCount: null, outputs: [] },
      { cellId: 'c1', msgId: 'srv', state: 'queued', executionCount: null, outputs: [] },
    ],
  });
  assert.equal(q.cells.get('c1'), undefined);
  q.ev({ ...E.set('c1', 'srv', 0, out('s\n')), seq: 2 });
  q.ev({ ...E.reply('c1', 'own', 1), seq: 3 });
  assert.equal(q.text('c1'), 's\n');
});

test('syncOutputs keeps JupyterLab\'s model equal to the server list even when it merges streams', () => {
  const area = new FakeOutputs();
  let list = [];
  const apply = (ev) => {
    const r = applyOutputEvent(list, ev);
    list = r.outputs;
    syncOutputs(area, r.op, list);
  };
  apply({ kind: 'set', index: 0, output: out('a\n') });
  apply({ kind: 'set', index: 0, output: out('a\nb\n') });
  apply({ kind: 'set', index: 1, output: out('c\n') }); // a second stdout entry: the model merges it
  assert.equal(area.length, 1);
  apply({ kind: 'set', index: 1, output: out('c\nd\n') });
  assert.equal(area.toJSON().map((o) => o.text).join(''), 'a\nb\nc\nd\n');
  apply({ kind: 'clear' });
  apply({ kind: 'set', index: 0, output: out('e\n', 'stderr') });
  assert.deepEqual(area.toJSON(), [out('e\n', 'stderr')]);
});

test('a snapshot matching the stored outputs leaves the document unchanged', () => {
  const cell = new FakeCell();
  cell.outputs.fromJSON([out('done\n')]);
  cell.executionCount = 3;
  const changed = applyToCell(cell, { type: 'reset', cellId: 'c', msgId: 'm', outputs: [{ ...out(['done\n']) }], executionCount: 3, running: false, done: true });
  assert.equal(changed, false);
  assert.equal(cell.trusted, false);
});

test('badge texts', () => {
  const ids = ['a', 'b', 'c', 'd'];
  const clean = summarizeBadges({ outOfOrder: false, outOfOrderCells: [], stale: [], orphaned: [], restartedMidDocument: false }, ids);
  assert.equal(clean.text, '');
  const s = summarizeBadges(
    {
      outOfOrder: true,
      outOfOrderCells: ['a'],
      stale: [
        { cellId: 'b', reason: 'upstream-rerun' },
        { cellId: 'c', reason: 'upstream-rerun' },
        { cellId: 'gone', reason: 'source-changed' },
      ],
      orphaned: ['gone'],
      restartedMidDocument: false,
    },
    ids,
  );
  assert.equal(s.text, 'Out of order · Stale: 2 cells');
  assert.match(s.title, /Stale: cells 2–3: a cell above it ran again later/);
  assert.match(s.title, /Out of order: cell 1 ran after/);
  assert.deepEqual([...s.stale.keys()], ['b', 'c']);
  assert.equal(summarizeBadges({ outOfOrder: false, outOfOrderCells: [], stale: [{ cellId: 'd', reason: 'source-changed' }], orphaned: [], restartedMidDocument: false }, ids).text, 'Stale: 1 cell');
  assert.equal(cellList([5, 1, 3, 4]), 'cells 1, 3–5');
});

test('verify verdicts', () => {
  assert.equal(describeVerifyRun({ runId: 'r', state: 'done', reproducible: true, cellsRun: 3, cellsTotal: 3 }).text, 'Reproducible: all 3 cells gave the same outputs');
  const d = describeVerifyRun({
    runId: 'r',
    state: 'done',
    reproducible: false,
    divergedAt: { cellIndex: 1, cellId: 'b', reason: 'output differs', expected: '1\n', actual: '2\n' },
    cellsRun: 2,
    cellsTotal: 3,
  });
  assert.equal(d.kind, 'diverged');
  assert.equal(d.text, 'Diverged at cell 2 (output differs): expected "1\\n" got "2\\n"');
  assert.equal(describeVerifyRun({ runId: 'r', state: 'failed', error: 'kernel died' }).text, 'Verify failed: kernel died');
});

test('events query', () => {
  assert.equal(eventsQuery('dir/my nb.ipynb', null), 'path=dir%2Fmy%20nb.ipynb');
  assert.equal(eventsQuery('a.ipynb', 42, 't&k'), 'path=a.ipynb&after=42&token=t%26k');
});

test('user content: cell ids, types and sources count, outputs and metadata do not', () => {
  const cells = [
    { id: 'a', type: 'code', source: 'x = 1' },
    { id: 'b', type: 'markdown', source: '# T' },
  ];
  const key = userContentKey(cells);
  assert.equal(userContentKey(cells.map((c) => ({ ...c, outputs: [1], metadata: { tags: [] } }))), key);
  assert.notEqual(userContentKey([{ ...cells[0], source: 'x = 2' }, cells[1]]), key);
  assert.notEqual(userContentKey([cells[1], cells[0]]), key);
  assert.notEqual(userContentKey([{ ...cells[0], type: 'raw' }, cells[1]]), key);
  assert.notEqual(userContentKey(cells.slice(0, 1)), key);
});

/** Stand-in for JupyterLab's SessionContext: lumino-like signals and the kernel start state. */
class FakeSessionContext {
  constructor() {
    this.isDisposed = false;
    this.session = null;
    this.pendingKernel = 'python3';
    const signal = () => {
      const slots = new Set();
      return { connect: (f) => slots.add(f), disconnect: (f) => slots.delete(f), emit: () => [...slots].forEach((f) => f()), slots };
    };
    this.sessionChanged = signal();
    this.kernelChanged = signal();
    this.statusChanged = signal();
    this.disposed = signal();
  }
  get hasNoKernel() {
    return !this.session?.kernel && !this.pendingKernel;
  }
  /** What SessionContext._handleNewSession does once `POST api/sessions` answered. */
  started(kernel) {
    this.pendingKernel = '';
    this.session = kernel ? { kernel } : null;
    this.sessionChanged.emit();
    this.kernelChanged.emit();
  }
}

test('a cell run while the kernel starts waits for the kernel connection, and only then', async () => {
  const settledOf = (p) => {
    const s = { done: false };
    void p.then(() => (s.done = true));
    return s;
  };
  const tick = () => new Promise((r) => setImmediate(r));

  const starting = new FakeSessionContext();
  const waiting = settledOf(kernelStarted(starting));
  starting.statusChanged.emit(); // 'starting': still no kernel connection
  await tick();
  assert.equal(waiting.done, false, 'no kernel yet: the run waits');
  starting.started({ id: 'k' });
  await tick();
  assert.equal(waiting.done, true, 'the kernel connection is there: the run goes on');
  assert.equal(starting.kernelChanged.slots.size + starting.statusChanged.slots.size + starting.disposed.slots.size, 0, 'slots disconnected');

  const failing = new FakeSessionContext();
  const failed = settledOf(kernelStarted(failing));
  failing.started(null); // the start failed: JupyterLab reports it; the run goes on to be dropped as before
  await tick();
  assert.equal(failed.done, true);

  const closed = new FakeSessionContext();
  const gone = settledOf(kernelStarted(closed));
  closed.isDisposed = true;
  closed.disposed.emit();
  await tick();
  assert.equal(gone.done, true);

  const ready = new FakeSessionContext();
  ready.started({ id: 'k' });
  const none = new FakeSessionContext();
  none.pendingKernel = '';
  for (const ctx of [ready, none, null]) {
    const s = settledOf(kernelStarted(ctx));
    await tick();
    assert.equal(s.done, true, 'no wait with a kernel, without one coming, or without a session context');
  }
});

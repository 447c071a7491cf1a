import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CellOutputs, collapseCarriageReturns, utf8Length, type CapturedOutput, type OutputChange } from './outputs.js';

const stream = (text: string, name = 'stdout') => ({ name, text });

/** Applies changes to a plain array the way a view would, to check the events match the state. */
function replay(changes: OutputChange[], into: CapturedOutput[] = []): CapturedOutput[] {
  for (const c of changes) {
    if (c.kind === 'clear') into.length = 0;
    else into[c.index] = c.output;
  }
  return into;
}

describe('CellOutputs', () => {
  it('merges consecutive streams of the same name and keeps stdout/stderr apart', () => {
    const cell = new CellOutputs();
    const seen: CapturedOutput[] = [];
    replay(cell.apply('stream', stream('a\n')).changes, seen);
    replay(cell.apply('stream', stream('b\n')).changes, seen);
    replay(cell.apply('stream', stream('oops\n', 'stderr')).changes, seen);
    replay(cell.apply('stream', stream('c')).changes, seen);
    const want = [
      { output_type: 'stream', name: 'stdout', text: 'a\nb\n' },
      { output_type: 'stream', name: 'stderr', text: 'oops\n' },
      { output_type: 'stream', name: 'stdout', text: 'c' },
    ];
    assert.deepEqual(cell.outputs(), want);
    assert.deepEqual(seen, want);
  });

  it('collapses a tqdm-style progress bar into one line, even across messages', () => {
    const cell = new CellOutputs();
    for (let i = 0; i <= 100; i += 10) cell.apply('stream', stream(`\r${i}%|${'#'.repeat(i / 10).padEnd(10)}|`, 'stderr'));
    cell.apply('stream', stream('\n', 'stderr'));
    assert.deepEqual(cell.outputs(), [{ output_type: 'stream', name: 'stderr', text: '100%|##########|\n' }]);
  });

  it('treats \\r\\n split over two messages as a newline and overwrites like a terminal', () => {
    const cell = new CellOutputs();
    cell.apply('stream', stream('first\r'));
    cell.apply('stream', stream('\nsecond'));
    assert.equal((cell.outputs()[0] as { text: string }).text, 'first\nsecond');
    assert.equal(collapseCarriageReturns('abcdef\rXY\n'), 'XYcdef\n');
    assert.equal(collapseCarriageReturns('a\r\nb\r\n'), 'a\nb\n');
    assert.equal(collapseCarriageReturns('50%\b\b\b51%\n'), '51%\n');
    assert.equal(collapseCarriageReturns('x\n\b\by'), 'x\ny', 'backspace never eats a newline');
  });

  it('clear_output(wait=True) clears only when the next output comes', () => {
    const cell = new CellOutputs();
    const seen: CapturedOutput[] = [];
    replay(cell.apply('stream', stream('frame 1\n')).changes, seen);
    const wait = cell.apply('clear_output', { wait: true });
    assert.deepEqual(wait.changes, [], 'nothing changes yet');
    assert.equal(cell.outputs().length, 1);
    replay(wait.changes, seen);
    const next = cell.apply('stream', stream('frame 2\n'));
    assert.deepEqual(next.changes[0], { kind: 'clear' });
    replay(next.changes, seen);
    assert.deepEqual(cell.outputs(), [{ output_type: 'stream', name: 'stdout', text: 'frame 2\n' }]);
    assert.deepEqual(seen, cell.outputs());
    replay(cell.apply('clear_output', { wait: false }).changes, seen);
    assert.deepEqual(cell.outputs(), []);
    assert.deepEqual(seen, []);
  });

  it('stores display outputs without transient and updates them by display_id', () => {
    const cell = new CellOutputs();
    cell.apply('display_data', { data: { 'text/plain': 'v1' }, metadata: {}, transient: { display_id: 'd1' } });
    cell.apply('execute_result', { execution_count: 3, data: { 'text/plain': 'r' }, metadata: {}, transient: { display_id: 'd1' } });
    cell.apply('display_data', { data: { 'text/plain': 'other' }, metadata: {} });
    assert.deepEqual(cell.displayIds(), new Set(['d1']));
    const up = cell.apply('update_display_data', { data: { 'text/plain': 'v2' }, metadata: {}, transient: { display_id: 'd1' } });
    assert.deepEqual(up.changes.map((c) => (c.kind === 'set' ? c.index : -1)), [0, 1]);
    assert.deepEqual(cell.outputs(), [
      { output_type: 'display_data', data: { 'text/plain': 'v2' }, metadata: {} },
      { output_type: 'execute_result', execution_count: 3, data: { 'text/plain': 'v2' }, metadata: {} },
      { output_type: 'display_data', data: { 'text/plain': 'other' }, metadata: {} },
    ]);
    assert.deepEqual(cell.updateDisplay('unknown', { data: {} }).changes, []);
  });

  it('update_display_data does not trigger a pending clear (as in JupyterLab)', () => {
    const cell = new CellOutputs();
    cell.apply('display_data', { data: { 'text/plain': 'v1' }, metadata: {}, transient: { display_id: 'd' } });
    cell.apply('clear_output', { wait: true });
    cell.apply('update_display_data', { data: { 'text/plain': 'v2' }, metadata: {}, transient: { display_id: 'd' } });
    assert.deepEqual(cell.outputs(), [{ output_type: 'display_data', data: { 'text/plain': 'v2' }, metadata: {} }]);
  });

  it('stores errors and coerces malformed content instead of throwing', () => {
    const cell = new CellOutputs();
    cell.apply('error', { ename: 'ZeroDivisionError', evalue: 'division by zero', traceback: ['a', 'b'] });
    cell.apply('display_data', { data: 'not an object' });
    cell.apply('status', { execution_state: 'idle' });
    assert.deepEqual(cell.outputs(), [
      { output_type: 'error', ename: 'ZeroDivisionError', evalue: 'division by zero', traceback: ['a', 'b'] },
      { output_type: 'display_data', data: {}, metadata: {} },
    ]);
  });

  it('caps a huge stream: head, marker, tail; the spilled text is the full output', () => {
    const limit = 64 * 1024;
    const cell = new CellOutputs({ limits: { maxStreamBytes: limit }, spillLocation: (id) => `/tmp/partial-${id}.txt` });
    const lines = Array.from({ length: 20_000 }, (_, i) => `line ${i} ${'x'.repeat(40)}\n`);
    const spilled: string[] = [];
    for (let i = 0; i < lines.length; i += 7) {
      const up = cell.apply('stream', stream(lines.slice(i, i + 7).join('')));
      for (const s of up.spill) spilled.push(s.text);
    }
    for (const s of cell.finish().spill) spilled.push(s.text);
    assert.equal(spilled.join(''), lines.join(''), 'nothing is lost');
    const out = cell.outputs()[0] as { text: string };
    assert.ok(utf8Length(out.text) < limit, `stored ${utf8Length(out.text)} bytes`);
    const kept = out.text.split('\n');
    assert.equal(kept[0], lines[0]!.trimEnd(), 'head starts at the first line');
    assert.equal(kept[kept.length - 2], lines[lines.length - 1]!.trimEnd(), 'tail ends with the last line');
    const marker = kept.find((l) => l.startsWith('…'))!;
    const m = /^… (\d+) lines \((\d+) bytes\) of output omitted by EUCP lab; the full output is in \/tmp\/partial-1\.txt$/.exec(marker);
    assert.ok(m, marker);
    assert.equal(kept.length - 2 + Number(m[1]), lines.length, 'kept + omitted lines = all lines');
    const changes = cell.relocateSpill(1, '/state/outputs/abc.txt');
    assert.equal(changes.length, 1);
    assert.match((cell.outputs()[0] as { text: string }).text, /the full output is in \/state\/outputs\/abc\.txt\n/);
  });

  it('caps an endless line without newlines', () => {
    const cell = new CellOutputs({ limits: { maxStreamBytes: 16 * 1024 } });
    let spilled = '';
    for (let i = 0; i < 200; i++) for (const s of cell.apply('stream', stream('y'.repeat(1000))).spill) spilled += s.text;
    for (const s of cell.finish().spill) spilled += s.text;
    assert.equal(spilled, 'y'.repeat(200_000));
    assert.ok(utf8Length((cell.outputs()[0] as { text: string }).text) < 16 * 1024);
  });

  it('counts the stream budget per cell across stdout and stderr outputs', () => {
    const limit = 8 * 1024;
    const cell = new CellOutputs({ limits: { maxStreamBytes: limit } });
    const block = (tag: string) => Array.from({ length: 200 }, (_, i) => `${tag} ${i} ${'.'.repeat(90)}\n`).join('');
    cell.apply('stream', stream(block('out')));
    cell.apply('stream', stream(block('err'), 'stderr'));
    cell.apply('stream', stream(block('out2')));
    const outs = cell.outputs();
    assert.equal(outs.length, 3);
    const total = outs.reduce((n, o) => n + (o.output_type === 'stream' ? utf8Length(o.text) : 0), 0);
    assert.ok(total < limit * 1.3, `${total} bytes stored for a ${limit}-byte budget`);
    for (const o of outs) assert.match((o as { text: string }).text, /omitted by EUCP lab/);
  });

  it('replaces a bundle over the limit by a marker and spills its JSON', () => {
    const cell = new CellOutputs({ limits: { maxBundleBytes: 1000 }, spillLocation: (id, kind) => `spill-${id}.${kind}` });
    const png = 'A'.repeat(5000);
    const up = cell.apply('display_data', { data: { 'image/png': png, 'text/plain': '<Figure>' }, metadata: {} });
    assert.equal(up.spill.length, 1);
    assert.equal(up.spill[0]!.kind, 'json');
    assert.deepEqual(JSON.parse(up.spill[0]!.text), { output_type: 'display_data', data: { 'image/png': png, 'text/plain': '<Figure>' }, metadata: {} });
    const [out] = cell.outputs();
    assert.equal(out!.output_type, 'display_data');
    assert.match(String((out as { data: Record<string, unknown> }).data['text/plain']), /image\/png, text\/plain output of \d+ bytes was omitted by EUCP lab; the full output is in spill-1\.json/);
  });

  it('measures UTF-8 like Buffer.byteLength', () => {
    for (const s of ['', 'abc', 'é', '€uro', '😀 x', '\ud800 lone']) assert.equal(utf8Length(s), Buffer.byteLength(s), s);
  });
});

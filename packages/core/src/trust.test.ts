import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compareOutputs, computeBadges, sanitiseOutputText, type TrustCell, type TrustRun, type TrustOutput } from './trust.js';

/** A tiny journal: `run('a')` records a run of cell a with its current source. */
function notebook(ids: string[]) {
  const src = new Map(ids.map((id) => [id, `v1:${id}`]));
  const runs: TrustRun[] = [];
  let restartIndex = 0;
  let kernelId = 'k1';
  return {
    runs,
    src,
    run: (...cells: string[]) => {
      for (const c of cells) runs.push({ cellId: c, sourceHash: src.get(c) ?? `gone:${c}`, kernelId, restartIndex, status: 'ok' });
    },
    edit: (id: string) => src.set(id, `${src.get(id)}+`),
    restart: () => void restartIndex++,
    newKernel: () => {
      kernelId = 'k2';
      restartIndex = 0;
    },
    get restartIndex() {
      return restartIndex;
    },
    cells: (order = [...src.keys()]): TrustCell[] => order.map((id) => ({ id, cell_type: 'code', sourceHash: src.get(id)! })),
  };
}

describe('computeBadges', () => {
  it('D4: run 1–3, edit and re-run 1 only → 2–3 stale (upstream-rerun) and out-of-order; run all → no badges', () => {
    const nb = notebook(['c1', 'c2', 'c3']);
    nb.run('c1', 'c2', 'c3');
    assert.deepEqual(computeBadges(nb.runs, nb.cells()), {
      outOfOrder: false,
      outOfOrderCells: [],
      stale: [],
      orphaned: [],
      restartedMidDocument: false,
    });
    nb.edit('c1');
    // Edited but not yet re-run: its own output is stale.
    assert.deepEqual(computeBadges(nb.runs, nb.cells()).stale, [{ cellId: 'c1', reason: 'source-changed' }]);
    nb.run('c1');
    const b = computeBadges(nb.runs, nb.cells());
    assert.equal(b.outOfOrder, true);
    assert.deepEqual(b.outOfOrderCells, ['c1']);
    assert.deepEqual(b.stale, [
      { cellId: 'c2', reason: 'upstream-rerun' },
      { cellId: 'c3', reason: 'upstream-rerun' },
    ]);
    nb.run('c1', 'c2', 'c3');
    assert.deepEqual(computeBadges(nb.runs, nb.cells()), {
      outOfOrder: false,
      outOfOrderCells: [],
      stale: [],
      orphaned: [],
      restartedMidDocument: false,
    });
  });

  it('running a lower cell first marks the upper one out-of-order and the lower one stale', () => {
    const nb = notebook(['a', 'b', 'c']);
    nb.run('b', 'a');
    const b = computeBadges(nb.runs, nb.cells());
    assert.deepEqual(b.outOfOrderCells, ['a']);
    assert.deepEqual(b.stale, [{ cellId: 'b', reason: 'upstream-rerun' }]);
    // Skipping a cell is not out of order.
    const skip = notebook(['a', 'b', 'c']);
    skip.run('a', 'c');
    assert.equal(computeBadges(skip.runs, skip.cells()).outOfOrder, false);
  });

  it('a deleted cell that ran in this kernel is orphaned; markdown is not code', () => {
    const nb = notebook(['a', 'b', 'c']);
    nb.run('a', 'b', 'c');
    const cells = nb.cells(['a', 'c']);
    let b = computeBadges(nb.runs, cells);
    assert.deepEqual(b.orphaned, ['b']);
    assert.equal(b.outOfOrder, false);
    b = computeBadges(nb.runs, [cells[0]!, { id: 'b', cell_type: 'markdown', sourceHash: 'x' }, cells[1]!]);
    assert.deepEqual(b.orphaned, ['b']);
    // After a restart the deleted cell's state is gone: no longer orphaned.
    nb.restart();
    assert.deepEqual(computeBadges(nb.runs, cells, { restartIndex: nb.restartIndex }).orphaned, []);
  });

  it('restart: outputs from before it are stale, running part of the document is flagged, all of it clears', () => {
    const nb = notebook(['a', 'b', 'c']);
    nb.run('a', 'b', 'c');
    nb.restart();
    let b = computeBadges(nb.runs, nb.cells(), { restartIndex: nb.restartIndex });
    assert.deepEqual(
      b.stale.map((s) => s.reason),
      ['kernel-restarted', 'kernel-restarted', 'kernel-restarted'],
    );
    assert.equal(b.restartedMidDocument, false, 'nothing ran since the restart');
    // "Restart and clear outputs": nothing shown, nothing stale.
    const cleared = nb.cells().map((c) => ({ ...c, hasOutputs: false }));
    assert.deepEqual(computeBadges(nb.runs, cleared, { restartIndex: nb.restartIndex }).stale, []);

    nb.run('b');
    b = computeBadges(nb.runs, nb.cells(), { restartIndex: nb.restartIndex });
    assert.equal(b.restartedMidDocument, true);
    assert.deepEqual(b.stale, [
      { cellId: 'a', reason: 'kernel-restarted' },
      { cellId: 'c', reason: 'kernel-restarted' },
    ]);
    nb.run('a', 'b', 'c');
    assert.deepEqual(computeBadges(nb.runs, nb.cells(), { restartIndex: nb.restartIndex }), {
      outOfOrder: false,
      outOfOrderCells: [],
      stale: [],
      orphaned: [],
      restartedMidDocument: false,
    });
  });

  it('blank cells need not run; aborted runs never ran; only the newest kernel counts', () => {
    const nb = notebook(['a', 'b']);
    nb.run('a', 'b');
    nb.restart();
    nb.run('a');
    const cells = nb.cells();
    cells[1] = { ...cells[1]!, blank: true };
    assert.equal(computeBadges(nb.runs, cells, { restartIndex: 1 }).restartedMidDocument, false);

    const ab = notebook(['a', 'b']);
    ab.run('a', 'b');
    ab.runs.push({ cellId: 'a', sourceHash: 'v1:a', kernelId: 'k1', restartIndex: 0, status: 'aborted' });
    assert.deepEqual(computeBadges(ab.runs, ab.cells()).stale, []);

    const nk = notebook(['a', 'b']);
    nk.run('b', 'a');
    nk.newKernel();
    nk.run('a', 'b');
    assert.equal(computeBadges(nk.runs, nk.cells()).outOfOrder, false);
    assert.deepEqual(computeBadges([], nk.cells()).stale, []);
  });
});

const stream = (text: string, name: 'stdout' | 'stderr' = 'stdout'): TrustOutput => ({ output_type: 'stream', name, text });
const result = (plain: string, extra: Record<string, unknown> = {}, count = 1): TrustOutput =>
  ({ output_type: 'execute_result', execution_count: count, data: { 'text/plain': plain, ...extra }, metadata: {} }) as TrustOutput;
const error = (ename: string, evalue: string): TrustOutput =>
  ({ output_type: 'error', ename, evalue, traceback: [`---> 1 ${evalue}`] }) as TrustOutput;

describe('compareOutputs', () => {
  it('tiny float differences, execution counts, metadata, addresses and durations do not diverge', () => {
    const expected = [
      { cellId: 'mean', outputs: [result('np.float64(0.30000000000000004)', {}, 3)] },
      {
        cellId: 'arr',
        outputs: [result('array([0.1       , 0.33333333, 1.        ])', { 'text/html': '<b>x</b>' }, 4)],
      },
      {
        cellId: 'plot',
        outputs: [
          result('[<matplotlib.lines.Line2D at 0x7f3a2b1c4d50>]', {}, 5),
          { output_type: 'display_data', data: { 'image/png': 'iVBORw0KGgoAAA', 'text/plain': '<Figure size 640x480 with 1 Axes>' }, metadata: { needs_background: 'light' } } as TrustOutput,
        ],
      },
      { cellId: 'time', outputs: [stream('CPU times: user 1.21 ms, sys: 0 ns, total: 1.21 ms\nWall time: 2.03 s\n')] },
      { cellId: 'print', outputs: [stream('total '), stream('= 42\n'), stream('warn\n', 'stderr')] },
    ];
    const actual = [
      { cellId: 'mean', outputs: [result('np.float64(0.3000000000000001)', {}, 1)] },
      { cellId: 'arr', outputs: [result('array([0.1       , 0.333333331, 1.        ])', { 'text/html': '<i>other</i>' }, 2)] },
      {
        cellId: 'plot',
        outputs: [
          result('[<matplotlib.lines.Line2D at 0x7f00deadbeef>]', {}, 3),
          { output_type: 'display_data', data: { 'image/png': 'DIFFERENT', 'text/plain': '<Figure size 640x480 with 1 Axes>' }, metadata: {} } as TrustOutput,
        ],
      },
      { cellId: 'time', outputs: [stream('CPU times: user 3 ms, sys: 12 µs, total: 3.01 ms\nWall time: 15.2 ms\n')] },
      { cellId: 'print', outputs: [stream('warn\n', 'stderr'), stream('total = 42\n')] },
    ];
    assert.deepEqual(compareOutputs(expected, actual), { reproducible: true });
  });

  it('a changed number diverges and names the cell', () => {
    const expected = [
      { cellId: 'x', outputs: [] },
      { cellId: 'p', cellIndex: 2, outputs: [stream('42\n')] },
    ];
    const actual = [
      { cellId: 'x', outputs: [] },
      { cellId: 'p', outputs: [stream('41\n')] },
    ];
    const r = compareOutputs(expected, actual);
    assert.equal(r.reproducible, false);
    assert.deepEqual(r.divergedAt, {
      cellIndex: 2,
      cellId: 'p',
      reason: 'number',
      expected: '42\n',
      actual: '41\n',
      message: 'number 41 differs from stored 42',
    });
    // A looser tolerance accepts it.
    assert.equal(compareOutputs(expected, actual, { rtol: 0.05 }).reproducible, true);
  });

  it('errors compare by name; a new error, changed text, a missing image or an unrun cell diverge', () => {
    const nameErr = compareOutputs([{ cellId: 'u', outputs: [stream('5\n')] }], [{ cellId: 'u', outputs: [error('NameError', "name 'y' is not defined")] }]);
    assert.equal(nameErr.divergedAt?.reason, 'error');
    assert.equal(nameErr.divergedAt?.actual, "NameError: name 'y' is not defined");
    assert.equal(
      compareOutputs([{ cellId: 'e', outputs: [error('ZeroDivisionError', 'division by zero')] }], [{ cellId: 'e', outputs: [error('ZeroDivisionError', 'float division by zero')] }]).reproducible,
      true,
    );
    const text = compareOutputs([{ cellId: 't', outputs: [stream('tas mean\n')] }], [{ cellId: 't', outputs: [stream('pr mean\n')] }]);
    assert.equal(text.divergedAt?.reason, 'text');
    const img = compareOutputs(
      [{ cellId: 'i', outputs: [{ output_type: 'display_data', data: { 'image/png': 'A', 'text/plain': 'Fig' }, metadata: {} } as TrustOutput] }],
      [{ cellId: 'i', outputs: [{ output_type: 'display_data', data: { 'text/plain': 'Fig' }, metadata: {} } as TrustOutput] }],
    );
    assert.equal(img.divergedAt?.reason, 'mime-types');
    const unrun = compareOutputs(
      [{ cellId: 'a', outputs: [error('ValueError', 'x')] }, { cellId: 'b', outputs: [] }, { cellId: 'c', outputs: [stream('1\n')] }],
      [{ cellId: 'a', outputs: [error('ValueError', 'y')] }],
    );
    assert.deepEqual([unrun.divergedAt?.cellId, unrun.divergedAt?.reason, unrun.divergedAt?.cellIndex], ['c', 'not-run', 2]);
    const extra = compareOutputs([{ cellId: 'a', outputs: [] }], [{ cellId: 'a', outputs: [stream('hello\n')] }]);
    assert.equal(extra.divergedAt?.reason, 'output-count');
  });

  it('sanitises a documented list of volatile text, and nothing that merely looks numeric', () => {
    assert.equal(sanitiseOutputText('<Foo object at 0x7f3a2b1c4d50>'), '<Foo object at 0xADDR>');
    assert.equal(sanitiseOutputText('/tmp/ipykernel_4711/123456.py:3: UserWarning'), '/tmp/ipykernel_PID/CELL.py:3: UserWarning');
    assert.equal(sanitiseOutputText('run at 2024-05-01T12:30:01.123Z took 1.5s'), 'run at DATETIME took DURATION');
    assert.equal(sanitiseOutputText('1.23 µs ± 4.5 ns per loop (mean ± std. dev. of 7 runs, 1,000,000 loops each)'), 'DURATION ± DURATION per loop (mean ± std. dev. of 7 runs, N loops each)');
    assert.equal(sanitiseOutputText('42 samples, 0xff, var2s, 3.5 hours'), '42 samples, 0xff, var2s, 3.5 hours');
  });
});

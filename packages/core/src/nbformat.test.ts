import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  NotebookFormatError,
  locateJsonError,
  newCellId,
  newNotebook,
  parseNotebook,
  pySplitLines,
  serializeNotebook,
  validateNotebook,
} from './nbformat.js';

const nb = (cells: unknown[], minor = 5, metadata: unknown = {}): string =>
  JSON.stringify({ cells, metadata, nbformat: 4, nbformat_minor: minor });
const code = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  id: 'c1', cell_type: 'code', metadata: {}, source: 'x = 1', outputs: [], execution_count: null, ...extra,
});

function rejects(text: string, expected: string | RegExp): void {
  assert.throws(
    () => parseNotebook(text),
    (e: unknown) => e instanceof NotebookFormatError && (typeof expected === 'string' ? e.message === expected : expected.test(e.message)),
  );
}

describe('parseNotebook errors name the problem', () => {
  it('gives the line and column of a JSON syntax error', () => {
    rejects('{\n "cells": [],\n}\n', /^not valid JSON: line 3, column 1: unexpected "}" \(expected a property name/);
    rejects('{\n "cells": [\n  1 2\n ]}', /^not valid JSON: line 3, column 5: unexpected "2"/);
    rejects('', 'not valid JSON: line 1, column 1: unexpected end of file (expected a value)');
    assert.deepEqual(locateJsonError('{"a": "x\ny"}'), { line: 1, column: 9, message: 'control character (such as a raw line break) inside a string' });
  });
  it('tells how to convert nbformat 3 and refuses other majors', () => {
    rejects('{"nbformat": 3, "nbformat_minor": 0, "worksheets": [], "metadata": {}}',
      'nbformat 3 notebooks are not supported: convert with `jupyter nbconvert --to notebook --nbformat 4`');
    rejects('{"nbformat": 5, "nbformat_minor": 0}', 'nbformat 5 notebooks are not supported (only nbformat 4)');
    rejects('{"cells": []}', "missing 'nbformat' (not a Jupyter notebook?)");
    rejects('[1, 2]', 'not a notebook: the top level is a list, not an object');
  });
  it('names the cell (from 1), the output and the field', () => {
    rejects('{"nbformat": 4, "nbformat_minor": 5, "metadata": {}}', "missing 'cells'");
    const md = { id: 'm', cell_type: 'markdown', metadata: {} };
    rejects(nb([code(), code({ id: 'c2' }), code({ id: 'c3' }), md]), "cell 4: missing 'source'");
    rejects(nb([code({ outputs: [{ output_type: 'stream', name: 'stdout' }] })]), "cell 1, output 1: missing 'text'");
    rejects(nb([{ ...md, cell_type: 'heading', source: '' }]), 'cell 1: unknown cell_type "heading" (expected code, markdown or raw)');
    rejects(nb([code({ outputs: [{ output_type: 'pyout' }] })]), /^cell 1, output 1: unknown output_type "pyout"/);
    rejects(nb([code({ source: 5 })]), "cell 1: 'source' must be a string or a list of strings");
    rejects(nb([code({ execution_count: -1 })]), /^cell 1: 'execution_count' /);
    const display = { output_type: 'display_data', metadata: {}, data: { 'text/plain': 5 } };
    rejects(nb([code({ outputs: [display] })]), "cell 1, output 1: 'data.text/plain' must be a string or a list of strings");
    rejects(nb([], 5, { kernelspec: { name: 'python3' } }), "missing 'metadata.kernelspec.display_name'");
  });
});

describe('reading', () => {
  it('joins multiline fields and strips transient keys, keeping JSON mimetypes as they are', () => {
    const text = nb([
      code({
        source: ['a = 1\n', 'b = 2'],
        metadata: { trusted: true, tags: ['t'] },
        outputs: [
          { output_type: 'stream', name: 'stdout', text: ['x\n', 'y\n'] },
          { output_type: 'execute_result', execution_count: 1, metadata: {}, data: { 'text/plain': ['1\n', '2'], 'application/json': ['kept', 'as list'] } },
        ],
      }),
    ], 5, { orig_nbformat: 3, signature: 'sha256:x', title: 'T' });
    const parsed = parseNotebook(text);
    const cell = parsed.cells[0]!;
    assert.equal(cell.source, 'a = 1\nb = 2');
    assert.deepEqual(cell.metadata, { tags: ['t'] });
    assert.deepEqual(parsed.metadata, { title: 'T' });
    assert.ok(cell.cell_type === 'code');
    assert.deepEqual(cell.outputs[0], { output_type: 'stream', name: 'stdout', text: 'x\ny\n' });
    assert.deepEqual((cell.outputs[1] as { data: unknown }).data, { 'text/plain': '1\n2', 'application/json': ['kept', 'as list'] });
  });
  it('upgrades 4.0–4.4 to 4.5 with unique 8-hex ids and repairs missing or duplicate ids', () => {
    const old = parseNotebook(nb([code(), code(), { cell_type: 'markdown', metadata: {}, source: '' }], 4));
    assert.equal(old.nbformat_minor, 5);
    const ids = old.cells.map((c) => c.id);
    assert.ok(ids.every((id) => /^[0-9a-f]{8}$/.test(id as string)));
    assert.equal(new Set(ids).size, 3);
    const dup = parseNotebook(nb([code({ id: 'same' }), code({ id: 'same' }), code({ id: 'bad id!' }), code({ id: undefined })]));
    assert.equal(dup.cells[0]!.id, 'same');
    assert.equal(new Set(dup.cells.map((c) => c.id)).size, 4);
    assert.ok(dup.cells.slice(1).every((c) => /^[0-9a-f]{8}$/.test(c.id as string)));
  });
  it('keeps unknown keys and a newer minor version', () => {
    const parsed = parseNotebook(nb([code({ extra: { a: 1 } })], 6));
    assert.equal(parsed.nbformat_minor, 6);
    assert.deepEqual((parsed.cells[0] as Record<string, unknown>).extra, { a: 1 });
  });
  it('does not modify what validateNotebook is given', () => {
    const input = JSON.parse(nb([code({ source: ['a\n', 'b'], metadata: { trusted: false } })], 4));
    const before = JSON.stringify(input);
    validateNotebook(input);
    assert.equal(JSON.stringify(input), before);
  });
});

describe('writing', () => {
  it('writes like nbformat: sorted keys, 1-space indent, lines split, trailing newline', () => {
    const text = serializeNotebook(validateNotebook({
      nbformat: 4, nbformat_minor: 5, metadata: { z: 1, a: { '10': 0, '2': 0 } },
      cells: [{ id: 'abc', cell_type: 'markdown', metadata: {}, source: 'line 1\nline 2' }],
    }));
    assert.equal(text, [
      '{',
      ' "cells": [',
      '  {',
      '   "cell_type": "markdown",',
      '   "id": "abc",',
      '   "metadata": {},',
      '   "source": [',
      '    "line 1\\n",',
      '    "line 2"',
      '   ]',
      '  }',
      ' ],',
      ' "metadata": {',
      '  "a": {',
      '   "10": 0,',
      '   "2": 0',
      '  },',
      '  "z": 1',
      ' },',
      ' "nbformat": 4,',
      ' "nbformat_minor": 5',
      '}',
      '',
    ].join('\n'));
  });
  it('splits only text-like mimetypes and formats small floats as Python does', () => {
    const parsed = validateNotebook({
      nbformat: 4, nbformat_minor: 5, metadata: { small: 0.00001, tiny: -1.5e-7, fine: 0.25, big: 1e21 },
      cells: [code({ outputs: [{ output_type: 'display_data', metadata: {}, data: { 'text/html': '<b>\n</b>', 'image/png': 'AAAA\nBBBB\n', 'image/svg+xml': '<svg>\n</svg>' } }] })],
    });
    const text = serializeNotebook(parsed);
    assert.match(text, /"text\/html": \[\n\s+"<b>\\n",\n\s+"<\/b>"\n/);
    assert.match(text, /"image\/png": "AAAA\\nBBBB\\n"/);
    assert.match(text, /"image\/svg\+xml": \[/);
    assert.match(text, /"small": 1e-05,/);
    assert.match(text, /"tiny": -1\.5e-07\n/);
    assert.match(text, /"fine": 0\.25,/);
    assert.match(text, /"big": 1e\+21,/);
    assert.deepEqual(parseNotebook(text), parsed);
  });
  it('refuses values JSON cannot hold', () => {
    const bad = newNotebook();
    bad.metadata.n = Number.NaN;
    assert.throws(() => serializeNotebook(bad), /notebook\.metadata\.n: NaN cannot be stored in JSON/);
    const cyclic = newNotebook();
    cyclic.metadata.self = cyclic.metadata;
    assert.throws(() => serializeNotebook(cyclic), /circular reference/);
    const big = newNotebook();
    big.metadata.b = 10n;
    assert.throws(() => serializeNotebook(big), NotebookFormatError);
  });
  it('has an empty new notebook and 8-hex cell ids', () => {
    assert.equal(serializeNotebook(newNotebook()), '{\n "cells": [],\n "metadata": {},\n "nbformat": 4,\n "nbformat_minor": 5\n}\n');
    assert.match(newCellId(), /^[0-9a-f]{8}$/);
  });
  it("splits lines at Python's line boundaries", () => {
    assert.deepEqual(pySplitLines('a\r\nb\rc\x0bd\u2028e\n'), ['a\r\n', 'b\r', 'c\x0b', 'd\u2028', 'e\n']);
    assert.deepEqual(pySplitLines(''), []);
  });
});

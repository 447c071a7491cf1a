/**
 * Our notebooks and Python's nbformat (Debian's python3-nbformat) agree: what we write
 * validates there, and what it writes we read and save back byte for byte (no diff churn).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PYTHON, contentsApp, tempDir, type ContentsApp } from './helpers.js';

const C = '/user/alice/api/contents';
const VALIDATE = 'import nbformat,sys; nbformat.validate(nbformat.read(sys.argv[1], as_version=4))';

/** A notebook with every cell and output kind, written by nbformat.write. */
const PYTHON_WRITER = `
import sys, nbformat
from nbformat.v4 import new_notebook, new_code_cell, new_markdown_cell, new_raw_cell, new_output
nb = new_notebook(metadata={
  "kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"},
  "language_info": {"name": "python", "codemirror_mode": {"name": "ipython", "version": 3}},
  "custom": {"10": 1, "2": [0.5, 1e-05, True, None], "Ünïcode ✓": "日本語"},
})
nb.cells = [
  new_markdown_cell("# Title\\n\\nSome *text* with ünïcode\\r\\nand a CRLF", attachments={"a.png": {"image/png": "iVBORw0KGgo="}}),
  new_code_cell("import numpy as np\\nx = np.arange(3)\\nx\\n", execution_count=4, metadata={"tags": ["t1"], "collapsed": False}, outputs=[
    new_output("stream", name="stdout", text="line 1\\nline 2\\n"),
    new_output("stream", name="stderr", text="warning\\n"),
    new_output("execute_result", execution_count=4, data={"text/plain": "array([0, 1, 2])", "application/json": {"a": [1, 2, {"b": None}]}}),
    new_output("display_data", data={"text/html": "<table>\\n<tr><td>1</td></tr>\\n</table>", "image/png": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==\\n", "image/svg+xml": "<svg>\\n</svg>\\n"}, metadata={"image/png": {"width": 640, "height": 480}}),
    new_output("error", ename="ValueError", evalue="bad \\x1b[0m", traceback=["\\x1b[31mValueError\\x1b[0m", "line 2"]),
  ]),
  new_raw_cell("raw\\ntext", metadata={"format": "text/latex"}),
  new_code_cell(""),
]
nbformat.write(nb, sys.argv[1])
`;

function validateWithPython(file: string): void {
  execFileSync(PYTHON, ['-c', VALIDATE, file], { stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('interoperability with Python nbformat', () => {
  let tmp: ReturnType<typeof tempDir>;
  let api: ContentsApp;
  before(async () => {
    tmp = tempDir();
    api = await contentsApp(tmp.dir);
  });
  after(async () => {
    await api.app.close();
    tmp.cleanup();
  });

  it('a notebook written by nbformat.write is read and re-saved with the same bytes', async () => {
    const file = path.join(tmp.dir, 'python.ipynb');
    execFileSync(PYTHON, ['-c', PYTHON_WRITER, file]);
    const original = readFileSync(file);
    const got = await api.app.inject({ method: 'GET', url: `${C}/python.ipynb?content=1&1714641243123` });
    assert.equal(got.statusCode, 200);
    const content = got.json().content;
    assert.equal(content.cells[1].source, 'import numpy as np\nx = np.arange(3)\nx\n');
    const put = await api.app.inject({
      method: 'PUT',
      url: `${C}/python.ipynb`,
      payload: JSON.stringify({ type: 'notebook', format: 'json', content }),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(put.statusCode, 200);
    assert.equal(readFileSync(file, 'utf8'), original.toString('utf8'));
    assert.deepEqual(readFileSync(file), original);
    await api.manager.updateNotebook('python.ipynb', () => undefined);
    assert.deepEqual(readFileSync(file), original);
  });

  it('notebooks we write validate with nbformat: new, saved, upgraded from 4.4 and updated server-side', async () => {
    const untitled = await api.manager.newUntitled('', { type: 'notebook' });
    validateWithPython(path.join(tmp.dir, untitled.path));

    const old = path.join(tmp.dir, 'old.ipynb');
    writeFileSync(old, JSON.stringify({
      nbformat: 4, nbformat_minor: 2, metadata: { orig_nbformat: 3 },
      cells: [
        { cell_type: 'code', metadata: { trusted: true }, source: ['a = 1\n', 'a'], outputs: [], execution_count: null },
        { cell_type: 'markdown', metadata: {}, source: 'md' },
      ],
    }));
    const model = (await api.app.inject({ method: 'GET', url: `${C}/old.ipynb` })).json();
    assert.equal(model.content.nbformat_minor, 5);
    const saved = await api.app.inject({
      method: 'PUT',
      url: `${C}/old.ipynb`,
      payload: JSON.stringify({ type: 'notebook', format: 'json', content: model.content }),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(saved.statusCode, 200);
    validateWithPython(old);

    await api.manager.updateNotebook('old.ipynb', (nb) => {
      const cell = nb.cells[0]!;
      cell.execution_count = 1;
      cell.outputs = [
        { output_type: 'stream', name: 'stdout', text: 'x\ny\n' },
        { output_type: 'execute_result', execution_count: 1, data: { 'text/plain': '1', 'application/vnd.custom+json': { k: [1] } }, metadata: {} },
        { output_type: 'display_data', data: { 'image/png': 'iVBORw0KGgo=' }, metadata: { 'image/png': { width: 10 } } },
        { output_type: 'error', ename: 'E', evalue: 'v', traceback: ['t'] },
      ];
    });
    validateWithPython(old);
    const roundTrip = execFileSync(PYTHON, ['-c', 'import nbformat,sys; nb=nbformat.read(sys.argv[1], as_version=4); sys.stdout.write(nbformat.writes(nb) + "\\n")', old], { encoding: 'utf8' });
    assert.equal(roundTrip, readFileSync(old, 'utf8'));
  });
});

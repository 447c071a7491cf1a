import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { datasetCode, datasetNotebook, datasetNotebookName, numberedName, pythonString } from './dataset-notebook.js';
import { serializeNotebook } from './nbformat.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/** The demo data scripts/setup.sh generates (or the configured data directory). */
const DATA_DIR = process.env['EUCP_DATA_DIR'] ?? path.join(process.env['EUCP_STATE_DIR'] ?? path.join(REPO, '.eucp'), 'data');

interface Expected {
  datasets: Record<string, { variable_id: string; files: string[]; global_mean: number[]; n_time: number; tolerance: { abs: number; rel: number } }>;
}

function python(script: string, stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile('/usr/bin/python3', ['-c', script], { env: { ...process.env, MPLBACKEND: 'Agg' }, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr });
    });
    child.stdin!.end(stdin);
  });
}

describe('datasetCode', () => {
  it('opens one file with open_dataset and several with open_mfdataset, at their sandbox paths', () => {
    const one = datasetCode({ instanceId: 'CMIP6.a.tas.v1', variable: 'tas', paths: ['/data/x.nc'] });
    assert.match(one, /^# CMIP6\.a\.tas\.v1\n/);
    assert.match(one, /ds = xr\.open_dataset\("\/data\/x\.nc"\)/);
    assert.match(one, /da = ds\["tas"\]/);
    const two = datasetCode({ instanceId: 'id', variable: null, paths: ['/data/a b.nc', '/data/b.nc'] });
    assert.match(two, /paths = \[\n {4}"\/data\/a b\.nc",\n {4}"\/data\/b\.nc",\n\]\nds = xr\.open_mfdataset\(paths, combine="by_coords"\)/);
    assert.match(two, /da = ds\[list\(ds\.data_vars\)\[0\]\]/);
    assert.throws(() => datasetCode({ instanceId: 'id', paths: [] }), RangeError);
  });

  it('cannot be broken out of: ids, variables and paths never end a line or a literal', async () => {
    const evil = 'x"\n__import__("os").system("echo pwned")\n#\\';
    const code = datasetCode({ instanceId: `id\nprint("pwned")\r\u2028`, variable: evil, paths: [`/data/${evil}\u0000\u2029.nc`] });
    // Parses, and what it does up to opening the file is only to import and name things.
    const r = await python([
      'import ast, sys',
      'calls = [n for n in ast.walk(ast.parse(sys.stdin.read())) if isinstance(n, ast.Call)]',
      'print(sum(getattr(c.func, "attr", "") == "system" or (getattr(c.func, "id", "") == "print" and isinstance(c.args[0], ast.Constant)) for c in calls))',
    ].join('\n'), code);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), '0', 'no injected print call');
    assert.equal(code.split('\n')[0], '# id print("pwned")');
    const back = await python('import sys, json\nprint(json.dumps(eval(sys.stdin.read())))', pythonString(evil));
    assert.equal(JSON.parse(back.stdout), evil);
  });

  it('runs with Debian\'s xarray/netCDF4/dask on every demo data set and computes its area-weighted mean', { skip: !existsSync(path.join(DATA_DIR, 'expected.json')) && 'no demo data (scripts/setup.sh generates it)' }, async () => {
    const expected = JSON.parse(readFileSync(path.join(DATA_DIR, 'expected.json'), 'utf8')) as Expected;
    const runs = Object.entries(expected.datasets).map(([id, d]) => ({
      id,
      // The sandbox's /data is the data directory: substitute the root to run it here.
      code: datasetCode({ instanceId: id, variable: d.variable_id, paths: d.files.map((f) => `/data/${f}`) }).replaceAll('"/data/', `${pythonString(DATA_DIR + '/').slice(0, -1)}`),
    }));
    assert.ok(runs.some((r) => r.code.includes('open_mfdataset')) && runs.some((r) => r.code.includes('open_dataset(')), 'both forms are exercised');
    // Every notebook in a fresh namespace of one interpreter (xarray loads once).
    const script = [
      'import contextlib, io, json, sys',
      'import matplotlib.pyplot as plt',
      'out = {}',
      'for run in json.load(sys.stdin):',
      '    ns, printed = {}, io.StringIO()',
      '    with contextlib.redirect_stdout(printed):',
      '        exec(compile(run["code"], run["id"], "exec"), ns)',
      '    m = ns["mean"]',
      '    out[run["id"]] = {"printed": printed.getvalue(), "first": float(m.isel(time=0)) if "time" in m.dims else float(m), "n": int(m.sizes.get("time", 0)), "lines": len(plt.gca().lines)}',
      '    plt.close("all")',
      'print(json.dumps(out))',
    ].join('\n');
    const r = await python(script, JSON.stringify(runs));
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as Record<string, { printed: string; first: number; n: number; lines: number }>;
    for (const [id, d] of Object.entries(expected.datasets)) {
      const got = out[id]!;
      assert.match(got.printed, new RegExp(`<xarray\\.Dataset>[\\s\\S]*\\b${d.variable_id}\\b`), `${id} prints the data set`);
      assert.equal(got.n, d.n_time, `${id}: time steps`);
      const want = d.global_mean[0]!;
      assert.ok(Math.abs(got.first - want) <= d.tolerance.abs + d.tolerance.rel * Math.abs(want), `${id}: mean ${got.first}, expected ${want}`);
      assert.equal(got.lines, d.n_time > 0 ? 1 : 0, `${id}: a time series is plotted`);
    }
  });
});

describe('datasetNotebook', () => {
  it('is a valid nbformat 4 notebook for Python 3 whose code cell is the code', async () => {
    const spec = { instanceId: 'CMIP6.a.tas.v1', variable: 'tas', paths: ['/data/x.nc'] };
    const nb = datasetNotebook(spec);
    assert.equal(nb.metadata.kernelspec?.name, 'python3');
    const code = nb.cells.find((c) => c.cell_type === 'code')!;
    assert.equal((code.source as string[]).join(''), datasetCode(spec));
    const r = await python('import nbformat, sys\nnbformat.validate(nbformat.reads(sys.stdin.read(), 4))', serializeNotebook(nb));
    assert.equal(r.code, 0, r.stderr);
  });
});

describe('datasetNotebookName / numberedName', () => {
  it('gives a safe file name from the instance id and numbers alternatives before the extension', () => {
    assert.equal(datasetNotebookName('CMIP6.CMIP.X.tas.gn.v20190601'), 'CMIP6.CMIP.X.tas.gn.v20190601.ipynb');
    assert.equal(datasetNotebookName('../a b/c'), '_a_b_c.ipynb');
    assert.equal(datasetNotebookName('...'), 'dataset.ipynb');
    assert.equal(datasetNotebookName('x'.repeat(300)).length, 120 + '.ipynb'.length);
    assert.equal(numberedName('a.v1.ipynb', 0), 'a.v1.ipynb');
    assert.equal(numberedName('a.v1.ipynb', 2), 'a.v1-2.ipynb');
    assert.equal(numberedName('noext', 1), 'noext-1');
  });
});

#!/usr/bin/env node
// bench/viewer-render: render time of one ~20 MB notebook with images (PNG outputs, HTML
// tables, streams, markdown with LaTeX; generate.py) through the hub's viewer renderer
// (packages/hub/src/viewer) vs Debian's `jupyter nbconvert --to html` on the same file, in
// one run. Run through run.sh (it loads TypeScript with tsx).
//
//   node bench.mjs [--mb 20] [--repeats 5] [--notebook FILE] [--out FILE]
//
// Measured, each --repeats times after one warm-up (median and min reported):
//   ours, in process         read the file + parse + validate + render + encode to UTF-8 bytes
//                            + write the HTML to a file (what nbconvert's command does too)
//   ours, over HTTP          GET <viewer>/render/<ticket> on loopback, body read to the end
//                            (ticket check, safe open, read, render, send: what a browser waits for)
//   nbconvert command        `jupyter nbconvert --to html FILE` (Python start-up included), wall time
//   nbconvert in process     HTMLExporter().from_filename() + write, in one warm Python process
// The target (issue 5): ours ≤ 0.2 × the nbconvert command.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PYTHON = '/usr/bin/python3';

const opts = { mb: 20, repeats: 5, notebook: '', out: '' };
{
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i++) {
    const key = a[i].replace(/^--/, '');
    if (!(key in opts)) { console.error(`unknown option ${a[i]}`); process.exit(2); }
    opts[key] = typeof opts[key] === 'number' ? Number(a[++i]) : a[++i];
  }
}

const log = (...m) => console.error(`[${new Date().toISOString().slice(11, 19)}]`, ...m);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x, d = 0) => Math.round(x * 10 ** d) / 10 ** d;

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'eucp-viewer-bench-'));
process.on('exit', () => fs.rmSync(work, { recursive: true, force: true }));

// --- the notebook --------------------------------------------------------------------------
let notebook = opts.notebook;
if (!notebook) {
  notebook = path.join(work, 'climate-20mb.ipynb');
  log(`generating a ${opts.mb} MB notebook (matplotlib PNGs, HTML tables, streams)…`);
  execFileSync(PYTHON, [path.join(HERE, 'generate.py'), notebook, '--mb', String(opts.mb)], { stdio: ['ignore', 'ignore', 'inherit'] });
}
const bytes = fs.statSync(notebook).size;
const nb = JSON.parse(fs.readFileSync(notebook, 'utf8'));
const outputs = nb.cells.flatMap((c) => c.outputs ?? []);
const shape = {
  bytes, cells: nb.cells.length,
  png: outputs.filter((o) => o.data?.['image/png']).length,
  html: outputs.filter((o) => o.data?.['text/html']).length,
  streams: outputs.filter((o) => o.output_type === 'stream').length,
};
log(`notebook: ${(bytes / 1024 ** 2).toFixed(1)} MiB, ${shape.cells} cells, ${shape.png} PNG, ${shape.html} HTML tables, ${shape.streams} streams`);

async function timeIt(label, repeats, fn) {
  await fn(); // warm-up
  const ms = [];
  for (let i = 0; i < repeats; i++) {
    const t = performance.now();
    await fn();
    ms.push(performance.now() - t);
  }
  log(`${label}: median ${round(median(ms))} ms (min ${round(Math.min(...ms))})`);
  return { medianMs: round(median(ms), 1), minMs: round(Math.min(...ms), 1), runs: ms.map((x) => round(x, 1)) };
}

// --- ours, in process ----------------------------------------------------------------------
const { NotebookRenderer } = await import('../../packages/hub/src/viewer/render.ts');
const { encodeChunks } = await import('../../packages/hub/src/viewer/viewer-server.ts');
const renderer = new NotebookRenderer();
const oursOut = path.join(work, 'ours.html');
let oursBytes = 0;
const ours = await timeIt('ours, in process', opts.repeats, () => {
  const chunks = renderer.renderFile(fs.readFileSync(notebook), { title: 'bench', staticBase: '../static/' });
  const fd = fs.openSync(oursOut, 'w');
  oursBytes = 0;
  for (const buf of encodeChunks(chunks)) oursBytes += fs.writeSync(fd, buf);
  fs.closeSync(fd);
});

// --- ours, over HTTP -----------------------------------------------------------------------
const { configSchema } = await import('../../packages/hub/src/config/schema.ts');
const { homeRootOf } = await import('../../packages/hub/src/config/load.ts');
const { NotebookViewer } = await import('../../packages/hub/src/viewer/viewer.ts');
const pino = (await import('pino')).default;
const config = configSchema.parse({ stateDir: work, viewer: { maxNotebookBytes: 1024 ** 3 } });
fs.mkdirSync(path.join(homeRootOf(config), 'bench'), { recursive: true });
fs.copyFileSync(notebook, path.join(homeRootOf(config), 'bench', 'nb.ipynb'));
const viewer = new NotebookViewer({
  config, log: pino({ level: 'silent' }), now: Date.now,
  accounts: { getUserById: async (id) => ({ id, name: 'bench', admin: false }), groupsOf: async () => [] },
});
const base = await viewer.listen();
const file = await viewer.files.identify('bench', 'nb.ipynb');
let httpBytes = 0;
const overHttp = await timeIt('ours, over HTTP', opts.repeats, async () => {
  const ticket = viewer.tickets.issue({ readerId: 1, owner: 'bench', path: 'nb.ipynb', file, frameAncestor: 'http://127.0.0.1:8000' }, 60_000);
  const res = await fetch(`${base}render/${ticket}`);
  if (res.status !== 200) throw new Error(`viewer answered ${res.status}`);
  httpBytes = (await res.arrayBuffer()).byteLength;
});
await viewer.close();

// --- nbconvert -----------------------------------------------------------------------------
const nbconvertArgv = fs.existsSync('/usr/bin/jupyter-nbconvert')
  ? ['/usr/bin/jupyter-nbconvert']
  : [PYTHON, '-m', 'nbconvert']; // Debian's python3-nbconvert without the jupyter-nbconvert wrapper package
const nbcVersion = execFileSync(nbconvertArgv[0], [...nbconvertArgv.slice(1), '--version'], { encoding: 'utf8' }).trim();
const nbcCommand = await timeIt(`nbconvert ${nbcVersion} command`, opts.repeats, () => {
  const r = spawnSync(nbconvertArgv[0], [...nbconvertArgv.slice(1), '--to', 'html', notebook, '--output-dir', work, '--output', 'nbconvert'],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`nbconvert failed: ${r.stderr}`);
});
const nbcBytes = fs.statSync(path.join(work, 'nbconvert.html')).size;
const py = spawnSync(PYTHON, ['-c', `
import json, sys, time
from nbconvert import HTMLExporter
ex = HTMLExporter()
runs = []
for i in range(${opts.repeats} + 1):
    t = time.perf_counter()
    body, _ = ex.from_filename(${JSON.stringify(notebook)})
    with open(${JSON.stringify(path.join(work, 'nbconvert-inproc.html'))}, 'w', encoding='utf-8') as f:
        f.write(body)
    runs.append((time.perf_counter() - t) * 1000)
print(json.dumps(runs[1:]))
`], { encoding: 'utf8' });
if (py.status !== 0) throw new Error(py.stderr);
const inprocRuns = JSON.parse(py.stdout);
const nbcInProcess = { medianMs: round(median(inprocRuns), 1), minMs: round(Math.min(...inprocRuns), 1), runs: inprocRuns.map((x) => round(x, 1)) };
log(`nbconvert in process: median ${round(nbcInProcess.medianMs)} ms (min ${round(nbcInProcess.minMs)})`);

// --- report --------------------------------------------------------------------------------
const ratio = (a, b) => round(a.medianMs / b.medianMs, 3);
const result = {
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, nbconvert: nbcVersion, load: os.loadavg().map((x) => round(x, 2)) },
  notebook: shape,
  outputBytes: { ours: oursBytes, oursHttp: httpBytes, nbconvert: nbcBytes },
  ours, overHttp, nbcCommand, nbcInProcess,
  ratios: {
    oursVsCommand: ratio(ours, nbcCommand), httpVsCommand: ratio(overHttp, nbcCommand),
    oursVsInProcess: ratio(ours, nbcInProcess), httpVsInProcess: ratio(overHttp, nbcInProcess),
  },
};
const out = opts.out || path.join(HERE, 'results', `${result.date.slice(0, 19).replace(/:/g, '-')}.json`);
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
console.log(`| measured | median ms | min ms | ours ÷ this |
|---|---:|---:|---:|
| ours, in process (read + render + write) | ${round(ours.medianMs)} | ${round(ours.minMs)} | — |
| ours, over HTTP (viewer endpoint, loopback) | ${round(overHttp.medianMs)} | ${round(overHttp.minMs)} | — |
| \`jupyter nbconvert --to html\` (command) | ${round(nbcCommand.medianMs)} | ${round(nbcCommand.minMs)} | ${result.ratios.oursVsCommand} (HTTP: ${result.ratios.httpVsCommand}) |
| nbconvert in process (HTMLExporter + write) | ${round(nbcInProcess.medianMs)} | ${round(nbcInProcess.minMs)} | ${result.ratios.oursVsInProcess} (HTTP: ${result.ratios.httpVsInProcess}) |`);
log(`results in ${path.relative(process.cwd(), out)}`);

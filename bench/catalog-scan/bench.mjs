#!/usr/bin/env node
// bench/catalog-scan: header scan throughput (files/s) of our NetCDF header reader
// (packages/hub/src/catalog/netcdf) against Unidata's `ncdump -h` over the same files, in one
// run, after the same page-cache warm-up. Run through run.sh (it loads TypeScript with tsx).
//
//   node bench.mjs [--copies 40] [--repeats 3] [--formats cdf2,nc4] [--profile default] [--out FILE]
//
// Files: the EUCP-SYN demo tree (25 NetCDF files, `eucp data generate`), hard-linked --copies
// times (so the file count is meaningful and the bytes stay in the page cache); `nc4` is the
// same tree converted with `nccopy -k 'netCDF-4 classic model' -d1 -s` (CORDEX's archive form).
// Measured, each --repeats times (median reported):
//   ours, 1 at a time      readNetcdfHeader() on every file in one Node process (header + the
//                          time axis' first/last value decoded: more than ncdump -h does)
//   ours, 2 at a time      the same with two reads in flight
//   ncdump -h, 1 process per file, sequential   (`xargs -n1 ncdump -h`, as a shell loop would)
//   ncdump -h, xargs -P2   (two processes at a time; the machine has 2 cores)
//   ours, whole process    `node` + tsx start-up + the sequential scan, wall time (what a CLI call costs)
//   scanCatalog            the full catalog scan (DRS, header, extent, SHA-256, docs), first and incremental re-scan
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');

const opts = { copies: 40, repeats: 3, formats: 'cdf2,nc4', profile: 'default', out: '', worker: '' };
{
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i++) {
    const key = a[i].replace(/^--/, '');
    if (!(key in opts)) { console.error(`unknown option ${a[i]}`); process.exit(2); }
    opts[key] = typeof opts[key] === 'number' ? Number(a[++i]) : a[++i];
  }
}

const { readNetcdfHeader } = await import('../../packages/hub/src/catalog/netcdf/index.ts');

/** Worker mode: scan the files listed (NUL-separated) in a file, print the count. */
if (opts.worker) {
  const files = fs.readFileSync(opts.worker, 'utf8').split('\0').filter(Boolean);
  for (const f of files) await readNetcdfHeader(f);
  console.log(files.length);
  process.exit(0);
}

const { scanCatalog } = await import('../../packages/hub/src/catalog/scanner.ts');
const { MemoryCatalogStore } = await import('../../packages/hub/src/catalog/store.ts');

const log = (...m) => console.error(`[${new Date().toISOString().slice(11, 19)}]`, ...m);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

function listNc(dir) {
  const out = [];
  const visit = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) visit(p);
      else if (e.name.endsWith('.nc')) out.push(p);
    }
  };
  visit(dir);
  return out;
}

async function pool(items, n, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => { while (next < items.length) await fn(items[next++]); }));
}

async function timeMs(fn) {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'eucp-bench-scan-'));
const results = { started: new Date().toISOString(), machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version }, opts, formats: {} };
try {
  log(`generating the EUCP-SYN demo data (${opts.profile}) in ${tmp}`);
  const src = path.join(tmp, 'src');
  execFileSync('node', ['--conditions=source', '--import', 'tsx', 'packages/cli/src/main.ts', 'data', 'generate', '--profile', opts.profile, '--out', src], { cwd: REPO, stdio: 'ignore' });
  const ncdumpVersion = execFileSync('/usr/bin/ncdump', [], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  results.ncdump = (spawnSync('/usr/bin/ncdump', [], { encoding: 'utf8' }).stderr.match(/netcdf library version ([^\s]+)/) ?? [])[1] ?? ncdumpVersion.trim();

  for (const format of opts.formats.split(',')) {
    const base = path.join(tmp, `base-${format}`);
    const srcFiles = listNc(src);
    for (const f of srcFiles) {
      const to = path.join(base, path.relative(src, f));
      fs.mkdirSync(path.dirname(to), { recursive: true });
      if (format === 'cdf2') fs.linkSync(f, to);
      else execFileSync('/usr/bin/nccopy', ['-k', 'netCDF-4 classic model', '-d1', '-s', f, to]);
    }
    const tree = path.join(tmp, `tree-${format}`);
    const roots = [];
    for (let k = 0; k < opts.copies; k++) {
      const root = path.join(tree, `copy${String(k).padStart(3, '0')}`);
      fs.mkdirSync(root, { recursive: true });
      execFileSync('cp', ['-al', `${base}/.`, root]);
      roots.push(root);
    }
    const files = listNc(tree);
    const bytes = srcFiles.reduce((n, f) => n + fs.statSync(path.join(base, path.relative(src, f))).size, 0) * opts.copies;
    const listFile = path.join(tmp, `files-${format}.txt`);
    fs.writeFileSync(listFile, files.join('\0') + '\0');
    log(`${format}: ${files.length} files, ${round(bytes / 1e6)} MB; warming the page cache`);
    for (const f of files) fs.readFileSync(f);
    // Sanity: our reader and ncdump agree on the variable names of every distinct file.
    for (const f of listNc(base)) {
      const ours = (await readNetcdfHeader(f)).variables.map((v) => v.name).join(',');
      const cdl = execFileSync('/usr/bin/ncdump', ['-h', f], { encoding: 'utf8' });
      const theirs = [...cdl.matchAll(/^\t\S+ (\w+)(?:\(.*\))? ;$/gm)].map((m) => m[1]).join(',');
      if (ours !== theirs) throw new Error(`${f}: ours ${ours} vs ncdump ${theirs}`);
    }
    await readNetcdfHeader(files[0]); // load h5wasm / JIT before timing

    const runs = { oursSeq: [], oursPar2: [], ncdumpSeq: [], ncdumpP2: [], oursProcess: [], scanFirst: [], scanAgain: [] };
    for (let r = 0; r < opts.repeats; r++) {
      log(`${format}: repeat ${r + 1}/${opts.repeats}`);
      runs.oursSeq.push(await timeMs(async () => { for (const f of files) await readNetcdfHeader(f); }));
      runs.oursPar2.push(await timeMs(() => pool(files, 2, (f) => readNetcdfHeader(f))));
      runs.ncdumpSeq.push(await timeMs(async () => {
        const p = spawnSync('/usr/bin/xargs', ['-0', '-n1', '-a', listFile, '/usr/bin/ncdump', '-h'], { stdio: ['ignore', 'ignore', 'inherit'] });
        if (p.status !== 0) throw new Error(`ncdump failed (${p.status})`);
      }));
      runs.ncdumpP2.push(await timeMs(async () => {
        const p = spawnSync('/usr/bin/xargs', ['-0', '-n1', '-P2', '-a', listFile, '/usr/bin/ncdump', '-h'], { stdio: ['ignore', 'ignore', 'inherit'] });
        if (p.status !== 0) throw new Error(`ncdump failed (${p.status})`);
      }));
      runs.oursProcess.push(await timeMs(async () => {
        const p = spawnSync('node', ['--conditions=source', '--import', 'tsx', path.join(HERE, 'bench.mjs'), '--worker', listFile], { cwd: REPO, encoding: 'utf8' });
        if (p.status !== 0 || Number(p.stdout) !== files.length) throw new Error(`worker failed: ${p.stderr}`);
      }));
      const store = new MemoryCatalogStore();
      const scanRoots = roots.map((p, k) => ({ path: p, dataNode: `data${k}.bench.test` }));
      let first;
      runs.scanFirst.push(await timeMs(async () => { first = await scanCatalog({ roots: scanRoots, store }); }));
      if (first.problems.length || first.stats.filesRead !== files.length) throw new Error(`scan: ${JSON.stringify(first.problems.slice(0, 3))}`);
      runs.scanAgain.push(await timeMs(async () => {
        const again = await scanCatalog({ roots: scanRoots, store });
        if (again.stats.filesRead !== 0) throw new Error('re-scan read files');
      }));
    }
    const n = files.length;
    const fps = (ms) => round(n / (median(ms) / 1000), 0);
    results.formats[format] = {
      files: n, bytes, runs,
      filesPerSecond: Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, fps(v)])),
      ratios: {
        oursSeqVsNcdumpSeq: round(median(runs.ncdumpSeq) / median(runs.oursSeq), 1),
        oursPar2VsNcdumpP2: round(median(runs.ncdumpP2) / median(runs.oursPar2), 1),
        oursProcessVsNcdumpSeq: round(median(runs.ncdumpSeq) / median(runs.oursProcess), 1),
      },
    };
  }
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}

const out = opts.out || path.join(HERE, 'results', `${results.started.replace(/[:.]/g, '-').slice(0, 19)}.json`);
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, JSON.stringify(results, null, 2) + '\n');

const rows = [
  ['ours, 1 at a time (in process)', 'oursSeq'],
  ['ours, 2 at a time (in process)', 'oursPar2'],
  ['ours, whole `node` process incl. start-up', 'oursProcess'],
  ['`ncdump -h`, 1 process per file, sequential', 'ncdumpSeq'],
  ['`ncdump -h`, `xargs -P2`', 'ncdumpP2'],
  ['scanCatalog, first scan (incl. SHA-256, docs)', 'scanFirst'],
  ['scanCatalog, incremental re-scan (nothing changed)', 'scanAgain'],
];
const fmts = Object.keys(results.formats);
console.log(`| files/s (median of ${opts.repeats}) | ${fmts.map((f) => `${f} (${results.formats[f].files} files)`).join(' | ')} |`);
console.log(`|---|${fmts.map(() => '---:').join('|')}|`);
for (const [label, key] of rows) console.log(`| ${label} | ${fmts.map((f) => results.formats[f].filesPerSecond[key]).join(' | ')} |`);
for (const f of fmts) {
  const r = results.formats[f].ratios;
  console.log(`\n${f}: ours/ncdump = ${r.oursSeqVsNcdumpSeq}× (sequential), ${r.oursPar2VsNcdumpP2}× (2 at a time), ${r.oursProcessVsNcdumpSeq}× (whole process vs sequential ncdump)`);
}
console.log(`\nraw data: ${path.relative(REPO, out)}`);

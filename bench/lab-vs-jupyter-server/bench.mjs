#!/usr/bin/env node
// bench/lab-vs-jupyter-server: our lab server and Debian's jupyter_server 1.23 measured in
// one run, both alive side by side on 127.0.0.1, with the same client code, taking turns
// sample by sample; plus the raw ZeroMQ floor under both (zmq-raw.mjs). See README.md.
//
//   node bench.mjs [--kernel-starts 10] [--iters 200] [--warmup 20] [--lines 100000]
//                  [--throughput-reps 10] [--flush-lines 10000] [--flush-reps 3] [--notebook-mb 20] [--contents-reps 5]
//                  [--capture-lines 300] [--capture-sleep 0.01] [--capture-wait-s 10]
//                  [--v1 true] [--raw true] [--quiet-wait 0] [--out FILE] [--keep-state]
//                  [--lab-node-args "--cpu-prof --cpu-prof-dir=/tmp/prof"] [--lab-log-level info]
//                  [--jupyter-args "--ServerApp.some_option=value"]   (extra flags for both jupyter_server instances)
//   node bench.mjs --quick       # = --kernel-starts 3 --iters 30 --warmup 5 --lines 20000 --throughput-reps 2
//                                #   --flush-lines 2000 --flush-reps 1 --notebook-mb 2 --contents-reps 2 --capture-lines 50
//   node bench.mjs --report results/FILE.json [--markdown]   # the table of an earlier run again
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { CpuMonitor, ProcessRegistry, machineBusyPct } from '../hub-vs-jupyterhub/lib/procs.mjs';
import { round, sleep } from '../hub-vs-jupyterhub/lib/util.mjs';
import { wsVersion } from './lib/kernel-ws.mjs';
import { log } from './lib/log.mjs';
import { RawZmq, capture, contents, deleteKernel, kernelStarts, openKernel, roundTrips, serverMemory, throughput } from './lib/measure.mjs';
import { compare, renderTable } from './lib/report.mjs';
import { JupyterServerUnderTest, LabUnderTest, cleanEnv } from './lib/servers.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');

// ---------------------------------------------------------------- options
const opts = {
  kernelStarts: 10, iters: 200, warmup: 20, lines: 100_000, throughputReps: 10, flushLines: 10_000, flushReps: 3, notebookMb: 20, contentsReps: 5,
  captureLines: 300, captureSleep: 0.01, captureWaitS: 10, v1: true, raw: true, quietWait: 0, out: '', keepState: false,
  labNodeArgs: '', labLogLevel: '', jupyterArgs: '', quick: false, report: '', markdown: false,
};
const QUICK = { kernelStarts: 3, iters: 30, warmup: 5, lines: 20_000, throughputReps: 2, flushLines: 2000, flushReps: 1, notebookMb: 2, contentsReps: 2, captureLines: 50 };
{
  const args = process.argv.slice(2);
  const given = new Set();
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '-h' || args[i] === '--help') {
      console.log(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1).filter((l, j, a) => a.slice(0, j + 1).every((x) => x.startsWith('//'))).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
      process.exit(0);
    }
    const [rawKey, inline] = args[i].replace(/^--/, '').split(/=(.*)/s);
    const key = rawKey.replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (!(key in opts)) { console.error(`unknown option --${rawKey} (see --help)`); process.exit(2); }
    given.add(key);
    if (typeof opts[key] === 'boolean') {
      const next = args[i + 1];
      if (inline !== undefined) opts[key] = inline !== 'false';
      else if (next === 'true' || next === 'false') { opts[key] = next === 'true'; i++; } else opts[key] = true;
      continue;
    }
    const v = inline ?? args[++i];
    if (v === undefined) { console.error(`--${rawKey} needs a value`); process.exit(2); }
    opts[key] = typeof opts[key] === 'number' ? Number(v) : v;
    if (typeof opts[key] === 'number' && !(Number.isFinite(opts[key]) && opts[key] >= 0)) { console.error(`--${rawKey}: not a non-negative number: ${v}`); process.exit(2); }
  }
  if (opts.quick) for (const [k, v] of Object.entries(QUICK)) if (!given.has(k)) opts[k] = v;
}
if (opts.report) {
  const saved = JSON.parse(fs.readFileSync(opts.report, 'utf8'));
  console.log(renderTable(compare(saved.results), { markdown: opts.markdown }));
  process.exit(0);
}

const startedAt = new Date();
const OUT = opts.out || path.join(HERE, 'results', `${startedAt.toISOString().replace(/[:]/g, '-').replace(/\..*/, '')}.json`);
const RUN_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'lvj-'));
const registry = new ProcessRegistry();
const monitor = new CpuMonitor(registry);
const abort = { aborted: false };
const check = () => { if (abort.aborted) throw new Error('aborted'); };
const env = cleanEnv(RUN_DIR);
const lab = new LabUnderTest({ runDir: RUN_DIR, registry, env, repo: REPO, nodeArgs: opts.labNodeArgs.split(/\s+/).filter(Boolean), logLevel: opts.labLogLevel || undefined });
const jupyter = new JupyterServerUnderTest({ runDir: RUN_DIR, registry, env, extraArgs: opts.jupyterArgs.split(/\s+/).filter(Boolean) });
const servers = [lab, jupyter];
const jupyterFree = new JupyterServerUnderTest({ runDir: RUN_DIR, registry, env, key: 'jupyterNoLimit', label: 'jupyter_server 1.23 (limit_rate=False)',
  extraArgs: ['--ServerApp.limit_rate=False', ...opts.jupyterArgs.split(/\s+/).filter(Boolean)] });
const raw = opts.raw ? new RawZmq({ registry, env, runDir: RUN_DIR }) : null;

// ---------------------------------------------------------------- cleanup (also on Ctrl-C / errors)
let cleanupPromise = null;
function cleanup() {
  cleanupPromise ??= (async () => {
    const out = {};
    try { await raw?.stop(); } catch (e) { out.rawError = String(e); }
    for (const s of [...servers, jupyterFree]) { try { out[s.key] = await s.stop(); } catch (e) { out[s.key] = { error: String(e?.stack ?? e) }; } }
    const left = await registry.terminate(undefined, [], 2000);
    out.leftover = left.signalled;
    if (!opts.keepState) {
      try { fs.rmSync(RUN_DIR, { recursive: true, force: true }); out.removedRunDir = RUN_DIR; } catch (e) { out.runDirError = String(e); }
    } else out.keptRunDir = RUN_DIR;
    return out;
  })();
  return cleanupPromise;
}
let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    if (interrupted) { log(`${sig} again: still cleaning up, please wait`); return; }
    interrupted = true;
    abort.aborted = true;
    log(`${sig}: stopping everything this run started`);
    cleanup().then((c) => { log('cleanup:', JSON.stringify(c)); process.exit(130); }, (e) => { log('cleanup failed:', e); process.exit(1); });
  });
}

// ---------------------------------------------------------------- run
const gateLog = [];
/** Before a measured phase: wait up to --quiet-wait s for one 2 s window with the machine < 15 % busy. */
async function phase(name) {
  check();
  if (opts.quietWait > 0) {
    const t0 = Date.now();
    let busy = await machineBusyPct(2000);
    while (busy >= 15 && (Date.now() - t0) / 1000 < opts.quietWait) { log(`machine ${busy}% busy before ${name}; waiting`); busy = await machineBusyPct(2000); }
    gateLog.push({ before: name, busyPct: busy, waitedS: round((Date.now() - t0) / 1000, 1) });
  }
  check();
  monitor.setPhase(name);
  log(`-- ${name}`);
}

function sh(cmd, args) { try { return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(); } catch { return null; } }

const meta = {
  startedAt: startedAt.toISOString(),
  command: `bench/lab-vs-jupyter-server/run.sh ${process.argv.slice(2).join(' ')}`.trim(),
  options: { ...opts },
  machine: { os: /PRETTY_NAME="([^"]+)"/.exec(fs.readFileSync('/etc/os-release', 'utf8'))?.[1], kernel: os.release(), cpuModel: os.cpus()[0]?.model,
    cpus: os.cpus().length, memGiB: round(os.totalmem() / 2 ** 30, 1), loadavgAtStart: os.loadavg().map((x) => round(x, 2)) },
  versions: { node: process.version, ws: wsVersion, repoCommit: sh('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD']) },
};
const R = { lab: { memory: {} }, jupyter: { memory: {} }, raw: {}, problems: [] };
const errors = {};
let exitCode = 0;
const kernels = {};
try {
  const missing = [...LabUnderTest.prerequisites(REPO), ...JupyterServerUnderTest.prerequisites()];
  if (missing.length) throw new Error(missing.join('; '));
  meta.versions.lab = lab.versions();
  meta.versions.jupyter = jupyter.versions();
  monitor.start();

  await phase('startup');
  for (const s of servers) R[s.key].startup = await s.start();
  await sleep(2000); // let start-up work settle before the idle reading
  for (const s of servers) R[s.key].memory.idle = serverMemory(s);
  if (raw) R.raw.start = await raw.start();

  await phase('kernelStart');
  await kernelStarts(servers, R, opts, check);

  await phase('roundTripJson');
  for (const s of servers) kernels[s.key] = await openKernel(s);
  await roundTrips(servers, kernels, raw, R, opts, check, 'json');
  if (opts.v1) {
    await phase('roundTripV1');
    for (const s of servers) {
      await kernels[s.key].ch.close();
      const k = await openKernel(s, { protocol: 'v1' });
      await kernels[s.key].ch.close();
      await deleteKernel(s, kernels[s.key].id);
      kernels[s.key] = k;
    }
    await roundTrips(servers, kernels, null, R, opts, check, 'v1');
  }

  await phase('throughput');
  await throughput(servers, kernels, raw, R, { lines: opts.lines, reps: opts.throughputReps }, check);
  await phase('contents');
  await contents(servers, R, opts, check);

  await phase('capture');
  for (const s of servers) await capture(s, R, opts, check);

  await phase('memory');
  await sleep(2000);
  for (const s of servers) R[s.key].memory.afterRuns = { ...serverMemory(s), kernelsAlive: s.kernelPids().length };

  if (opts.flushLines > 0) {
    await phase('throughputFlushed');
    // jupyter_server drops IOPub messages above 1000/s by default; a second instance with
    // limit_rate=False shows what it costs when it forwards everything.
    R[jupyterFree.key] = { startup: await jupyterFree.start() };
    kernels[jupyterFree.key] = await openKernel(jupyterFree);
    for (let i = 0; i < opts.warmup; i++) await kernels[jupyterFree.key].ch.execute('1+1');
    await throughput([...servers, jupyterFree], kernels, raw, R, { lines: opts.flushLines, reps: opts.flushReps, flush: true, key: 'throughputFlushed' }, check);
    await kernels[jupyterFree.key].ch.close();
    R[jupyterFree.key].shutdown = await jupyterFree.stop();
    await sleep(2000);
    for (const s of servers) R[s.key].memory.afterFlushed = { ...serverMemory(s), kernelsAlive: s.kernelPids().length };
  }

  await phase('memoryEnd');
  for (const s of servers) { await kernels[s.key].ch.close(); await deleteKernel(s, kernels[s.key].id); }
  await sleep(2000);
  for (const s of servers) R[s.key].memory.afterShutdown = { ...serverMemory(s), kernelsAlive: s.kernelPids().length };

  await phase('shutdown');
  for (const s of servers) R[s.key].shutdown = await s.stop();
} catch (e) {
  if (!abort.aborted) {
    errors.driver = String(e?.stack ?? e);
    log('FAILED:', errors.driver);
    exitCode = 1;
  }
}
if (!abort.aborted) {
  meta.cpu = monitor.report();
  meta.quietGates = gateLog;
  meta.disturbedPhases = Object.entries(meta.cpu.phases).filter(([, p]) => p.seconds >= 1 && p.foreignCpuPct > 10).map(([k, p]) => `${k} ${p.foreignCpuPct}%`);
  meta.finishedAt = new Date().toISOString();
  meta.loadavgAtEnd = os.loadavg().map((x) => round(x, 2));
  meta.cleanup = await cleanup();
  const rows = compare(R);
  console.log(`lab-vs-jupyter-server ${meta.startedAt}  ${meta.machine.cpus} CPUs (${meta.machine.cpuModel}), ${meta.machine.os}, Node ${process.version}`);
  console.log(`kernel starts ${opts.kernelStarts}, round trips ${opts.iters} (+${opts.warmup} warm-up), ${opts.lines} lines x ${opts.throughputReps}, notebook ${opts.notebookMb} MiB x ${opts.contentsReps}, capture ${opts.captureLines} lines`);
  console.log(`CPU used by other processes during the run: ${meta.cpu.foreignCpuPct}% of a core (worst phase ${meta.cpu.worstPhaseForeignCpuPct}%); phases with > 10%: ${meta.disturbedPhases.join(', ') || 'none'}`);
  console.log(renderTable(rows));
  for (const p of R.problems) console.log(`problem: ${p}`);
  for (const [k, e] of Object.entries(errors)) console.log(`error (${k}): ${e.split('\n')[0]}`);
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, JSON.stringify({ meta, comparison: rows, results: R, errors }, null, 2) + '\n');
  log(`JSON: ${path.relative(process.cwd(), OUT)}`);
  process.exit(exitCode);
}

#!/usr/bin/env node
// bench/hub-vs-jupyterhub: our hub and JupyterHub 3.0 (Debian 12) measured in one run, one
// after the other, on 127.0.0.1, with the same client code (lib/measure.mjs). See README.md.
//
//   node bench.mjs [--users 20] [--concurrency 5] [--proxy-requests 500] [--kernel-iters 150]
//                  [--api-users 100] [--api-clients 10] [--api-duration 10] [--poll-ms 20]
//                  [--hubs jupyterhub,eucp] [--eucp-from auto|dist|src] [--quiet-wait 0]
//                  [--jupyterhub-log-level WARN] [--spawn-timeout-s 180] [--out FILE] [--keep-state]
//                  [--eucp-node-args "--cpu-prof --cpu-prof-dir=/tmp/prof"]   (extra node flags for our hub)
//   node bench.mjs --report results/FILE.json [--markdown]   # the table of an earlier run again
//   node bench.mjs --smoke       # = --users 3 --api-users 10 --api-duration 2 --proxy-requests 50 --kernel-iters 10
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { CpuMonitor, ProcessRegistry, machineBusyPct } from './lib/procs.mjs';
import { measureHub } from './lib/measure.mjs';
import { compare, renderTable } from './lib/report.mjs';
import { wsVersion } from './lib/kernel.mjs';
import { log, randomHex, round, sleep } from './lib/util.mjs';
import { JupyterHubUnderTest } from './hubs/jupyterhub.mjs';
import { EucpHubUnderTest } from './hubs/eucp.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');

// ---------------------------------------------------------------- options
const opts = {
  users: 20, concurrency: 5, proxyRequests: 500, kernelIters: 150, apiUsers: 100, apiClients: 10, apiDuration: 10,
  pollMs: 20, spawnTimeoutS: 180, hubs: 'jupyterhub,eucp', eucpFrom: 'auto', quietWait: 0, jupyterhubLogLevel: 'WARN',
  out: '', keepState: false, smoke: false, eucpNodeArgs: '', report: '', markdown: false,
};
const SMOKE = { users: 3, apiUsers: 10, apiDuration: 2, proxyRequests: 50, kernelIters: 10 };
{
  const args = process.argv.slice(2);
  const given = new Set();
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '-h' || args[i] === '--help') {
      console.log(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1).filter((l, i, a) => a.slice(0, i + 1).every((x) => x.startsWith('//'))).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
      process.exit(0);
    }
    const [rawKey, inline] = args[i].replace(/^--/, '').split(/=(.*)/s);
    const key = rawKey.replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (!(key in opts)) { console.error(`unknown option --${rawKey} (see --help)`); process.exit(2); }
    given.add(key);
    if (typeof opts[key] === 'boolean') { opts[key] = inline === undefined ? true : inline !== 'false'; continue; }
    const v = inline ?? args[++i];
    if (v === undefined) { console.error(`--${rawKey} needs a value`); process.exit(2); }
    opts[key] = typeof opts[key] === 'number' ? Number(v) : v;
    if (typeof opts[key] === 'number' && !Number.isFinite(opts[key])) { console.error(`--${rawKey}: not a number: ${v}`); process.exit(2); }
  }
  if (opts.smoke) for (const [k, v] of Object.entries(SMOKE)) if (!given.has(k)) opts[k] = v;
  opts.apiUsers = Math.max(opts.apiUsers, opts.users);
  opts.hubs = opts.hubs.split(',').map((s) => s.trim()).filter(Boolean);
  for (const h of opts.hubs) if (!['jupyterhub', 'eucp'].includes(h)) { console.error(`--hubs: unknown hub ${h}`); process.exit(2); }
  if (!['auto', 'dist', 'src'].includes(opts.eucpFrom)) { console.error('--eucp-from must be auto, dist or src'); process.exit(2); }
}
// --report FILE: print the table of an earlier run again (with the current metric list), nothing runs.
if (opts.report) {
  const saved = JSON.parse(fs.readFileSync(opts.report, 'utf8'));
  console.log(renderTable(compare(saved.results.eucp, saved.results.jupyterhub), { markdown: opts.markdown }));
  process.exit(0);
}
if (process.getuid?.() !== 0) { console.error('run as root: our hub creates Unix accounts and cgroups for its sandboxes'); process.exit(2); }

const startedAt = new Date();
const OUT = opts.out || path.join(HERE, 'results', `${startedAt.toISOString().replace(/[:]/g, '-').replace(/\..*/, '')}.json`);
// The run's scratch space; 0711 so the sandbox accounts can reach their homes below it.
const RUN_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'hvj-'));
fs.chmodSync(RUN_DIR, 0o711);

const registry = new ProcessRegistry();
const monitor = new CpuMonitor(registry);
const abort = { aborted: false };
const hubs = [];
for (const key of opts.hubs) {
  if (key === 'jupyterhub') hubs.push(new JupyterHubUnderTest({ stateDir: path.join(RUN_DIR, 'jupyterhub'), registry, logLevel: opts.jupyterhubLogLevel }));
  // a random prefix marks the Unix accounts of this run; only those are ever deleted
  else hubs.push(new EucpHubUnderTest({ runDir: RUN_DIR, stateDir: path.join(RUN_DIR, 'eucp'), registry, repo: REPO, from: opts.eucpFrom, unixUserPrefix: `eb${randomHex(4)}-`,
    nodeArgs: opts.eucpNodeArgs.split(/\s+/).filter(Boolean) }));
}

// ---------------------------------------------------------------- cleanup (also on Ctrl-C / errors)
let cleanupPromise = null;
function cleanup() {
  cleanupPromise ??= (async () => {
    const out = {};
    for (const h of hubs) {
      try { out[h.key] = await h.cleanup(); } catch (e) { out[h.key] = { error: String(e?.stack ?? e) }; }
    }
    const left = await registry.terminate(undefined, [], 2000); // anything else we started (wrk)
    out.leftoverClientProcesses = left.signalled;
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
async function waitQuiet(what) {
  let busy = await machineBusyPct(3000);
  const t0 = Date.now();
  let calm = busy < 15 ? 1 : 0;
  while (opts.quietWait > 0 && calm < 2 && (Date.now() - t0) / 1000 < opts.quietWait) {
    if (busy >= 15) log(`machine ${busy}% busy before ${what}; waiting for two 3 s windows under 15%`);
    busy = await machineBusyPct(3000);
    calm = busy < 15 ? calm + 1 : 0;
  }
  return { busyPct: busy, waitedS: round((Date.now() - t0) / 1000, 1) };
}

/** Between phases: wait up to --quiet-wait s for one 2 s window with the machine < 15 % busy (our servers idle meanwhile). */
const gateLog = [];
async function phaseGate(what) {
  const t0 = Date.now();
  let busy = await machineBusyPct(2000);
  while (busy >= 15 && (Date.now() - t0) / 1000 < opts.quietWait) {
    log(`machine ${busy}% busy before ${what}; waiting`);
    busy = await machineBusyPct(2000);
  }
  gateLog.push({ before: what, busyPct: busy, waitedS: round((Date.now() - t0) / 1000, 1) });
}

function sh(cmd, args) { try { return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(); } catch { return null; } }

const meta = {
  startedAt: startedAt.toISOString(),
  command: `bench/hub-vs-jupyterhub/run.sh ${process.argv.slice(2).join(' ')}`.trim(),
  options: { ...opts },
  machine: { os: /PRETTY_NAME="([^"]+)"/.exec(fs.readFileSync('/etc/os-release', 'utf8'))?.[1], kernel: os.release(), cpuModel: os.cpus()[0]?.model,
    cpus: os.cpus().length, memGiB: round(os.totalmem() / 2 ** 30, 1), loadavgAtStart: os.loadavg().map((x) => round(x, 2)) },
  versions: { node: process.version, ws: wsVersion, wrk: sh('dpkg-query', ['-W', '-f', '${Version}', 'wrk']), repoCommit: sh('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD']) },
  quiet: {},
};
const results = {};
const errors = {};
let exitCode = 0;
try {
  for (const h of hubs) {
    const missing = h.constructor.prerequisites(REPO);
    if (missing.length) throw new Error(`${h.label}: ${missing.join('; ')}`);
  }
  monitor.start();
  for (const h of hubs) {
    if (abort.aborted) break;
    monitor.setPhase(`${h.key}:quietWait`);
    meta.quiet[h.key] = await waitQuiet(h.label);
    log(`${h.label}: machine ${meta.quiet[h.key].busyPct}% busy before start`);
    meta.versions[h.key] = h.versions();
    try {
      results[h.key] = await measureHub(h, { opts, monitor, registry, abort, quietGate: opts.quietWait > 0 ? phaseGate : null });
    } catch (e) {
      if (abort.aborted) break;
      errors[h.key] = String(e?.stack ?? e);
      log(`${h.label} FAILED: ${errors[h.key]}`);
      exitCode = 1;
      results[h.key] = e?.partial ?? {};
      try { results[h.key].cleanupAfterFailure = await h.cleanup(); } catch (e2) { log(e2); }
    }
    h.runInfo && (meta.versions[h.key] = { ...meta.versions[h.key], ...h.runInfo() });
    await sleep(2000); // let the machine settle between hubs
  }
} catch (e) {
  errors.driver = String(e?.stack ?? e);
  log('FAILED:', errors.driver);
  exitCode = 1;
}
if (!abort.aborted) {
  meta.cpu = monitor.report();
  meta.quietGates = gateLog;
  // phases disturbed by other work on the machine (> 10 % of a core used by foreign processes)
  meta.disturbedPhases = Object.entries(meta.cpu.phases).filter(([k, p]) => !k.endsWith(':quietWait') && p.seconds >= 1 && p.foreignCpuPct > 10)
    .map(([k, p]) => `${k} ${p.foreignCpuPct}%`);
  meta.finishedAt = new Date().toISOString();
  meta.loadavgAtEnd = os.loadavg().map((x) => round(x, 2));
  meta.cleanup = await cleanup();
  const rows = compare(results.eucp, results.jupyterhub);
  const fc = meta.cpu;
  console.log(`hub-vs-jupyterhub ${meta.startedAt}  ${meta.machine.cpus} CPUs (${meta.machine.cpuModel}), ${meta.machine.os}, Node ${process.version}`);
  console.log(`users ${opts.users}, concurrency ${opts.concurrency}, proxy requests ${opts.proxyRequests}, kernel iterations ${opts.kernelIters}, API ${opts.apiUsers} users x ${opts.apiClients} clients x ${opts.apiDuration} s`);
  console.log(`CPU used by other processes during the run: ${fc.foreignCpuPct}% of a core (worst phase ${fc.worstPhaseForeignCpuPct}%); this run: ${fc.oursCpuPct}%`);
  console.log(`phases with > 10% of a core used by other processes: ${meta.disturbedPhases.length ? meta.disturbedPhases.join(', ') : 'none'}`);
  console.log(renderTable(rows));
  for (const [k, r] of Object.entries(results)) for (const p of r.problems ?? []) console.log(`problem (${k}): ${p}`);
  for (const [k, e] of Object.entries(errors)) console.log(`error (${k}): ${e.split('\n')[0]}`);
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, JSON.stringify({ meta, comparison: rows, results, errors }, null, 2) + '\n');
  log(`JSON: ${path.relative(process.cwd(), OUT)}`);
  process.exit(exitCode);
}

// The two servers under test, each on 127.0.0.1 on a free port with a fresh root:
// our lab server (packages/lab/dist/main.js, compiled) and Debian's jupyter_server 1.23.
// An adapter starts and stops its server and says which pid is "the server"; all
// measuring is done by the same client code (measure.mjs).
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { spawn, execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { request, round, sleep } from '../../hub-vs-jupyterhub/lib/util.mjs';
import { cmdline, descendants } from '../../hub-vs-jupyterhub/lib/procs.mjs';
import { log } from './log.mjs';

export const PYTHON = '/usr/bin/python3';

function quiet(cmd, args) {
  try { return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(); } catch { return null; }
}

/** A free TCP port on 127.0.0.1: bind port 0, read the port, close. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen({ host: '127.0.0.1', port: 0 }, () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
  });
}

/**
 * The environment both servers (and so their kernels) get: the caller's, without
 * Python/Jupyter settings, with Jupyter's and IPython's config, data and runtime
 * directories inside the run directory (nothing is read from or written to ~/.jupyter).
 */
export function cleanEnv(runDir) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(PYTHON|PYENV|VIRTUAL_ENV|CONDA|JUPYTER|JPY_|IPYTHON|EUCP_|NODE_OPTIONS)/.test(k)) env[k] = v;
  const j = path.join(runDir, 'jupyter');
  for (const d of ['config', 'data', 'ipython']) fs.mkdirSync(path.join(j, d), { recursive: true });
  return { ...env, PATH: '/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', JUPYTER_CONFIG_DIR: path.join(j, 'config'), JUPYTER_DATA_DIR: path.join(j, 'data'), IPYTHONDIR: path.join(j, 'ipython') };
}

class ServerUnderTest {
  constructor({ key, label, runDir, registry, env }) {
    Object.assign(this, { key, label, registry, env });
    this.dir = path.join(runDir, key);
    this.root = path.join(this.dir, 'root');
    fs.mkdirSync(this.root, { recursive: true });
    this.token = `lvj-${key}-${Math.random().toString(36).slice(2)}`;
    this.pid = null;
  }

  get headers() { return { authorization: `token ${this.token}` }; }

  /** Spawns argv (own process group, log to a file) and waits for GET api/status 200. */
  async launch(argv, env) {
    this.port = await freePort();
    this.url = `http://127.0.0.1:${this.port}`;
    this.logFile = path.join(this.dir, 'server.log');
    const out = fs.openSync(this.logFile, 'a');
    const t0 = performance.now();
    const resolved = argv.map((a) => a.replaceAll('{port}', String(this.port)));
    this.proc = spawn(resolved[0], resolved.slice(1), { cwd: this.dir, env, stdio: ['ignore', out, out], detached: true });
    fs.closeSync(out);
    this.pid = this.proc.pid;
    this.registry.track(this.pid, this.key);
    this.exited = new Promise((resolve) => this.proc.once('exit', (code, signal) => resolve({ code, signal, at: performance.now() })));
    log(`${this.label}: pid ${this.pid} on :${this.port}, log ${this.logFile}`);
    for (;;) {
      if (this.proc.exitCode !== null || this.proc.signalCode !== null) throw new Error(`${this.label} exited during start-up:\n${fs.readFileSync(this.logFile, 'utf8').slice(-2000)}`);
      try {
        const r = await request('GET', `${this.url}/api/status`, { headers: this.headers, timeoutMs: 2000 });
        if (r.status === 200) break;
      } catch { /* not listening yet */ }
      if (performance.now() - t0 > 60_000) throw new Error(`${this.label} not ready after 60 s; see ${this.logFile}`);
      await sleep(20);
    }
    return { startupMs: round(performance.now() - t0, 1) };
  }

  /** Remembers the server and every process below it (kernels), so clean-up can reach them. */
  trackAll() { if (this.pid) this.registry.trackTree(this.pid, this.key); }

  /** Kernel processes below the server right now. */
  kernelPids() { return this.pid ? descendants(this.pid).filter((p) => /ipykernel/.test(cmdline(p))) : []; }

  /** SIGTERM to the server (it stops its kernels), then SIGTERM/SIGKILL by pid to whatever of ours is left. */
  stop() {
    this.stopping ??= (async () => {
      const out = { exitMs: null };
      this.trackAll();
      if (this.pid && this.registry.isAlive(this.pid)) {
        const t0 = performance.now();
        try { process.kill(this.pid, 'SIGTERM'); } catch { /* gone */ }
        const ex = await Promise.race([this.exited, sleep(20_000).then(() => null)]);
        out.exitMs = ex ? round(ex.at - t0, 1) : null;
        if (!ex) out.exit = 'no exit after 20 s';
      }
      await sleep(200);
      const t = await this.registry.terminate(this.key, [], 3000);
      out.survivors = t.signalled;
      out.allGone = t.stillAlive.length === 0;
      return out;
    })();
    return this.stopping;
  }
}

/** Our lab server from `packages/lab/dist` (as in production), token mode. */
export class LabUnderTest extends ServerUnderTest {
  constructor(o) {
    super({ ...o, key: 'lab', label: 'EUCP lab' });
    this.repo = o.repo;
    this.nodeArgs = o.nodeArgs ?? [];
    this.logLevel = o.logLevel;
  }

  static prerequisites(repo) {
    const main = path.join(repo, 'packages/lab/dist/main.js');
    return fs.existsSync(main) ? [] : [`${main} is missing: run npx tsc -b at the repository root`];
  }

  versions() {
    // newest output file: tsc -b rewrites only what changed
    const dist = path.join(this.repo, 'packages/lab/dist');
    const newest = fs.readdirSync(dist, { recursive: true }).filter((f) => f.endsWith('.js'))
      .reduce((t, f) => Math.max(t, fs.statSync(path.join(dist, f)).mtimeMs), 0);
    const changed = quiet('git', ['-C', this.repo, 'status', '--porcelain', '--', 'packages/lab/src', 'packages/core/src']);
    return { node: process.version, distNewestFileAt: new Date(newest).toISOString(), repoCommit: quiet('git', ['-C', this.repo, 'rev-parse', '--short', 'HEAD']),
      uncommittedSources: changed ? changed.split('\n').map((l) => l.trim()) : [], logLevel: this.logLevel ?? 'info (default)' };
  }

  start() {
    const env = { ...this.env };
    if (this.logLevel) env.EUCP_LAB_LOG_LEVEL = this.logLevel;
    return this.launch([process.execPath, ...this.nodeArgs, path.join(this.repo, 'packages/lab/dist/main.js'),
      '--root', this.root, '--port', '{port}', '--ip', '127.0.0.1', '--token', this.token, '--state-dir', path.join(this.dir, 'state')], env);
  }
}

/** Debian's jupyter_server 1.23 (`python3 -m jupyter_server`), defaults except where noted. */
export class JupyterServerUnderTest extends ServerUnderTest {
  constructor(o) {
    super({ ...o, key: o.key ?? 'jupyter', label: o.label ?? 'jupyter_server 1.23' });
    this.extraArgs = o.extraArgs ?? [];
  }

  static prerequisites() {
    return quiet(PYTHON, ['-c', 'import jupyter_server, ipykernel']) === null ? [`${PYTHON} cannot import jupyter_server and ipykernel (Debian: python3-jupyter-server python3-ipykernel)`] : [];
  }

  versions() {
    const dpkg = quiet('dpkg-query', ['-W', '-f', '${Package}=${Version}\n', 'python3-jupyter-server', 'python3-ipykernel', 'python3-jupyter-client', 'python3-tornado', 'python3-zmq', 'python3-nbformat']);
    return { dpkg: dpkg ? Object.fromEntries(dpkg.split('\n').map((l) => l.split('='))) : null, python: quiet(PYTHON, ['-c', 'import sys; print(sys.version.split()[0])']), extraArgs: this.extraArgs };
  }

  start() {
    const env = { ...this.env, JUPYTER_RUNTIME_DIR: path.join(this.dir, 'runtime') };
    return this.launch([PYTHON, '-m', 'jupyter_server', `--ServerApp.token=${this.token}`, '--ServerApp.port={port}', '--ServerApp.port_retries=0',
      '--ServerApp.ip=127.0.0.1', `--ServerApp.root_dir=${this.root}`, '--ServerApp.open_browser=False',
      ...(process.getuid?.() === 0 ? ['--allow-root'] : []), ...this.extraArgs], env);
  }
}

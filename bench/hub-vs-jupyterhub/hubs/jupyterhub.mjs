// JupyterHub 3.0 from Debian 12 (configurable-http-proxy 4.5, SimpleLocalProcessSpawner,
// classic Notebook single-user servers), started with ../jupyterhub_config.py.
import fs from 'node:fs';
import path from 'node:path';
import { spawn, execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { freePort, log, randomHex, request, round, sleep } from '../lib/util.mjs';
import { cmdline, descendants } from '../lib/procs.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CONFIG = path.join(HERE, '..', 'jupyterhub_config.py');
const JUPYTERHUB = '/usr/bin/jupyterhub';

function quiet(cmd, args, env) {
  try { return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], env }).trim(); } catch { return null; }
}

export class JupyterHubUnderTest {
  /**
   * @param {{ stateDir: string, registry: import('../lib/procs.mjs').ProcessRegistry, logLevel: string }} o
   */
  constructor({ stateDir, registry, logLevel }) {
    this.key = 'jupyterhub';
    this.label = 'JupyterHub 3.0';
    this.stateDir = stateDir;
    this.registry = registry;
    this.logLevel = logLevel;
    this.proc = null;
    this.hubPid = null;
    this.proxyPid = null;
    this.targetSource = 'GET /hub/api/proxy (CHP routing table)';
  }

  static prerequisites() {
    return [JUPYTERHUB, '/usr/bin/python3', '/usr/bin/configurable-http-proxy'].filter((f) => !fs.existsSync(f)).map((f) => `${f} is missing`);
  }

  versions() {
    const dpkg = quiet('dpkg-query', ['-W', '-f', '${Package}=${Version}\n', 'jupyterhub', 'node-configurable-http-proxy', 'python3-notebook', 'python3-ipykernel', 'python3-tornado']);
    return {
      dpkg: dpkg ? Object.fromEntries(dpkg.split('\n').map((l) => l.split('='))) : null,
      jupyterhub: quiet('/usr/bin/python3', ['-c', 'import jupyterhub; print(jupyterhub.__version__)']),
      chp: quiet('/usr/bin/configurable-http-proxy', ['--version'], { ...process.env, NODE_PATH: '/usr/share/nodejs' }),
    };
  }

  /** Starts the hub (which starts CHP) and waits for GET /hub/api/ through the proxy. */
  async start() {
    fs.mkdirSync(this.stateDir, { recursive: true });
    const taken = new Set();
    this.ports = { proxy: await freePort(taken), proxyApi: await freePort(taken), hub: await freePort(taken) };
    this.adminToken = randomHex(24);
    this.publicUrl = `http://127.0.0.1:${this.ports.proxy}`;
    this.hubDirectUrl = `http://127.0.0.1:${this.ports.hub}`;
    const env = {};
    // No pyenv/virtualenv/Jupyter settings of the caller leak into the hub or its servers.
    for (const [k, v] of Object.entries(process.env)) if (!/^(PYTHON|PYENV|VIRTUAL_ENV|CONDA|JUPYTER|JPY_|HVJ_)/.test(k)) env[k] = v;
    Object.assign(env, {
      PATH: '/usr/sbin:/usr/bin:/sbin:/bin', NODE_PATH: '/usr/share/nodejs',
      HVJ_STATE_DIR: this.stateDir, HVJ_PROXY_PORT: String(this.ports.proxy), HVJ_PROXY_API_PORT: String(this.ports.proxyApi),
      HVJ_HUB_PORT: String(this.ports.hub), HVJ_API_TOKEN: this.adminToken, HVJ_LOG_LEVEL: this.logLevel,
    });
    this.logFile = path.join(this.stateDir, 'hub.log');
    const out = fs.openSync(this.logFile, 'a');
    const t0 = performance.now();
    // Own process group: a Ctrl-C in the terminal reaches only the driver, which then stops
    // the hub in order (servers first).
    this.proc = spawn(JUPYTERHUB, ['-f', CONFIG], { cwd: this.stateDir, env, stdio: ['ignore', out, out], detached: true });
    fs.closeSync(out);
    this.hubPid = this.proc.pid;
    this.registry.track(this.hubPid, this.key);
    this.exited = new Promise((resolve) => this.proc.once('exit', (code, signal) => resolve({ code, signal, at: performance.now() })));
    log(`${this.label}: pid ${this.hubPid}, proxy :${this.ports.proxy}, hub :${this.ports.hub}, log ${this.logFile}`);
    for (;;) {
      if (this.proc.exitCode !== null || this.proc.signalCode !== null) throw new Error(`${this.label} exited during start-up; see ${this.logFile}`);
      try {
        const r = await request('GET', `${this.publicUrl}/hub/api/`, { timeoutMs: 2000 });
        if (r.status === 200) break;
      } catch { /* not listening yet */ }
      if (performance.now() - t0 > 90_000) throw new Error(`${this.label} not ready after 90 s; see ${this.logFile}`);
      await sleep(50);
    }
    const startupMs = performance.now() - t0;
    for (let i = 0; i < 50 && !this.proxyPid; i++) {
      try { this.proxyPid = Number(fs.readFileSync(path.join(this.stateDir, 'proxy.pid'), 'utf8').trim()) || null; } catch { await sleep(100); }
    }
    if (this.proxyPid && !cmdline(this.proxyPid).includes('configurable-http-proxy')) throw new Error(`proxy pid ${this.proxyPid} is not configurable-http-proxy`);
    this.trackAll();
    return { startupMs: round(startupMs, 1) };
  }

  trackAll() {
    if (this.hubPid) this.registry.trackTree(this.hubPid, this.key);
    if (this.proxyPid) this.registry.track(this.proxyPid, this.key);
  }

  /** Processes whose memory counts as "the hub": the hub and the proxy. */
  hubPids() { return { hub: this.hubPid, proxy: this.proxyPid }; }

  /** Base URL of the server of `user` as the proxy reaches it (from CHP's routing table). */
  async serverTarget(user) {
    const r = await request('GET', `${this.publicUrl}/hub/api/proxy`, { headers: { authorization: `token ${this.adminToken}` } });
    if (r.status !== 200) throw new Error(`GET /hub/api/proxy: ${r.status}`);
    const route = r.json()[`/user/${user}/`];
    if (!route) throw new Error(`no proxy route for ${user}`);
    return route.target;
  }

  /** Pid of the single-user server process of `user` (from the spawner state in the user model). */
  async serverPid(user) {
    const r = await request('GET', `${this.publicUrl}/hub/api/users/${user}`, { headers: { authorization: `token ${this.adminToken}` } });
    return r.json().servers?.['']?.state?.pid ?? null;
  }

  /** Processes of servers and kernels right now (all below the hub). */
  serverProcesses() {
    if (!this.hubPid) return [];
    return descendants(this.hubPid).filter((p) => p !== this.proxyPid && /jupyterhub\.singleuser|jupyterhub-singleuser|ipykernel/.test(cmdline(p)));
  }

  /**
   * Orderly stop: SIGTERM to the hub (it stops its servers, cleanup_servers = True, and
   * the proxy), then SIGTERM/SIGKILL by pid to anything of ours still alive.
   */
  stop() {
    this.stopping ??= this.stopOnce();
    return this.stopping;
  }

  async stopOnce() {
    const out = { hubExitMs: null, survivors: [] };
    this.trackAll();
    if (this.hubPid && this.registry.isAlive(this.hubPid)) {
      const t0 = performance.now();
      process.kill(this.hubPid, 'SIGTERM');
      const ex = await Promise.race([this.exited, sleep(30_000).then(() => null)]);
      if (ex) out.hubExitMs = round(ex.at - t0, 1);
      else out.hubExit = 'no exit after 30 s';
    }
    await sleep(300);
    const t = await this.registry.terminate(this.key);
    out.survivors = t.signalled;
    out.allGone = t.stillAlive.length === 0;
    return out;
  }

  /** Idempotent last-resort cleanup (Ctrl-C, errors); a no-op after a completed stop(). */
  cleanup() {
    return this.stop().catch((e) => ({ error: String(e?.stack ?? e) }));
  }
}

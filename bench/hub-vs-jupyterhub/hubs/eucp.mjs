// Our hub: `eucp start --port 0 --config <toml>` with its own state directory. The hub
// process is also the proxy; servers run in bubblewrap sandboxes as per-user Unix accounts
// named <unixUserPrefix><user>, which this adapter deletes at the end (only that prefix).
import fs from 'node:fs';
import path from 'node:path';
import { spawn, execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { log, request, round, sleep, withTimeout } from '../lib/util.mjs';
import { allPids, cmdline, procStat, uidOf } from '../lib/procs.mjs';

const execFileAsync = promisify(execFile);

/** Accounts in a passwd/group style file whose name starts with `prefix`: [{ name, id }]. */
function accountsWithPrefix(file, prefix) {
  if (!prefix || prefix.length < 4) return []; // never match broadly
  try {
    return fs.readFileSync(file, 'utf8').split('\n').map((l) => l.split(':')).filter((f) => f[0]?.startsWith(prefix)).map((f) => ({ name: f[0], id: Number(f[2]) }));
  } catch {
    return [];
  }
}

export class EucpHubUnderTest {
  constructor({ runDir, stateDir, registry, repo, from, unixUserPrefix, nodeArgs = [] }) {
    this.nodeArgs = nodeArgs;
    this.key = 'eucp';
    this.label = 'EUCP hub';
    this.runDir = runDir;
    this.stateDir = stateDir;
    this.registry = registry;
    this.repo = repo;
    this.prefix = unixUserPrefix;
    this.mode = from === 'auto' ? (fs.existsSync(path.join(repo, 'packages/cli/dist/main.js')) ? 'dist' : 'src') : from;
    this.proc = null;
    this.hubPid = null;
    this.dbReader = null;
    // Every process of this run's Unix accounts is ours (the prefix is random per run).
    registry.extraOwned.push(() => this.accountProcesses());
  }

  static prerequisites(repo) {
    const miss = [];
    for (const f of ['/usr/bin/bwrap', '/usr/bin/jupyterhub-singleuser', '/usr/sbin/useradd', '/usr/sbin/userdel']) if (!fs.existsSync(f)) miss.push(`${f} is missing`);
    if (!fs.existsSync(path.join(repo, 'packages/cli/dist/main.js')) && !fs.existsSync(path.join(repo, 'packages/cli/src/main.ts'))) miss.push('packages/cli is missing');
    return miss;
  }

  /** argv of the `eucp` command (built dist, or the TypeScript source through tsx). */
  cli(...args) {
    return this.mode === 'dist'
      ? [process.execPath, ...this.nodeArgs, path.join(this.repo, 'packages/cli/dist/main.js'), ...args]
      : [process.execPath, ...this.nodeArgs, '--conditions=source', '--import', 'tsx', path.join(this.repo, 'packages/cli/src/main.ts'), ...args];
  }

  env() {
    const env = { ...process.env, EUCP_STATE_DIR: this.stateDir };
    for (const k of Object.keys(env)) if (/^EUCP_/.test(k) && k !== 'EUCP_STATE_DIR') delete env[k];
    return env;
  }

  versions() {
    let commit = null;
    try { commit = execFileSync('git', ['-C', this.repo, 'log', '-1', '--format=%h %cI', '--', 'packages'], { encoding: 'utf8' }).trim(); } catch { /* no git */ }
    let distBuiltAt = null;
    let uncommittedFiles = null;
    try { distBuiltAt = fs.statSync(path.join(this.repo, 'packages/hub/dist/hub.js')).mtime.toISOString(); } catch { /* not built */ }
    try { uncommittedFiles = execFileSync('git', ['-C', this.repo, 'status', '--porcelain', '--', 'packages'], { encoding: 'utf8' }).split('\n').filter(Boolean).length; } catch { /* no git */ }
    return { mode: this.mode, unixUserPrefix: this.prefix, packagesLastCommit: commit, distBuiltAt, uncommittedFilesInPackages: uncommittedFiles };
  }

  async start() {
    fs.mkdirSync(this.runDir, { recursive: true });
    // The hub would create its state directory 0700; the sandbox accounts must be able to
    // pass through it to their homes (<state>/home/<user>), so it is made 0711 here.
    fs.mkdirSync(this.stateDir, { recursive: true });
    fs.chmodSync(this.stateDir, 0o711);
    // An empty data cache (read-only /data in the sandboxes): JupyterHub's servers get no
    // data either, and generating the demo data set is not what is measured here.
    this.dataDir = path.join(this.runDir, 'eucp-data');
    fs.mkdirSync(this.dataDir, { recursive: true, mode: 0o755 });
    this.configFile = path.join(this.runDir, 'eucp.toml');
    fs.writeFileSync(this.configFile, [
      '# written by bench/hub-vs-jupyterhub',
      `dataDir = "${this.dataDir}"`, '',
      '[log]', 'level = "warn"', '',
      // The same jupyterhub-singleuser on both sides: the hubs are what is compared.
      '[spawner]', `unixUserPrefix = "${this.prefix}"`, 'server = "singleuser"', '',
      '[culler]', 'enabled = false', '',
      // Plain home directories like JupyterHub's (no btrfs pool to mount and leave behind);
      // bench/storage-quota measures what quotas cost.
      '[storage]', 'backend = "plain"', '',
    ].join('\n'));
    this.logFile = path.join(this.runDir, 'eucp-hub.log');
    const logOut = fs.createWriteStream(this.logFile, { flags: 'a' });
    const [cmd, ...args] = this.cli('start', '--ip', '127.0.0.1', '--port', '0', '--config', this.configFile);
    const t0 = performance.now();
    this.proc = spawn(cmd, args, { cwd: this.repo, env: this.env(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.hubPid = this.proc.pid;
    this.registry.track(this.hubPid, this.key);
    this.exited = new Promise((resolve) => this.proc.once('exit', (code, signal) => resolve({ code, signal, at: performance.now() })));
    let stdout = '';
    const onData = (chunk) => { logOut.write(chunk); };
    this.proc.stdout.on('data', (c) => { stdout += c; onData(c); });
    this.proc.stderr.on('data', onData);
    log(`${this.label}: pid ${this.hubPid} (${this.mode}), prefix ${this.prefix}, log ${this.logFile}`);
    let url = null;
    while (!url) {
      const m = /running at (http:\/\/127\.0\.0\.1:\d+)\/?/.exec(stdout);
      if (m) url = m[1];
      else {
        if (this.proc.exitCode !== null || this.proc.signalCode !== null) throw new Error(`${this.label} exited during start-up (${this.proc.exitCode ?? this.proc.signalCode}); see ${this.logFile}`);
        if (performance.now() - t0 > 90_000) throw new Error(`${this.label} printed no address within 90 s; see ${this.logFile}`);
        await sleep(20);
      }
    }
    this.publicUrl = url;
    this.hubDirectUrl = url; // the hub is its own proxy
    for (;;) {
      try {
        const r = await request('GET', `${url}/hub/api/`, { timeoutMs: 2000 });
        if (r.status === 200) break;
      } catch { /* not yet */ }
      if (performance.now() - t0 > 90_000) throw new Error(`${this.label}: GET /hub/api/ not 200 after 90 s`);
      await sleep(20);
    }
    const startupMs = performance.now() - t0;
    this.password = /one-time password "([^"]+)"/.exec(stdout)?.[1] ?? null;
    // An admin API token from the CLI, against the same state directory.
    const saved = this.nodeArgs;
    this.nodeArgs = [];
    const [tcmd, ...targs] = this.cli('token', 'issue', 'admin', '--note', 'hub-vs-jupyterhub', '--config', this.configFile);
    this.nodeArgs = saved;
    const t1 = performance.now();
    const { stdout: tokOut } = await withTimeout(execFileAsync(tcmd, targs, { cwd: this.repo, env: this.env(), encoding: 'utf8' }), 60_000, 'eucp token issue admin');
    const tokenCliMs = performance.now() - t1;
    const token = tokOut.trim().split(/\s+/).filter((w) => /^[A-Za-z0-9_-]{20,}$/.test(w)).at(-1);
    if (!token) throw new Error(`eucp token issue admin printed no token: ${tokOut.slice(0, 200)}`);
    this.adminToken = token;
    this.trackAll();
    return { startupMs: round(startupMs, 1), tokenCliMs: round(tokenCliMs, 1), initialPasswordPrinted: !!this.password };
  }

  runInfo() { return { mode: this.mode }; }

  /** Unix accounts of this run (prefix match in /etc/passwd). */
  accounts() { return accountsWithPrefix('/etc/passwd', this.prefix); }

  /** Pids of live (not zombie) processes running as one of this run's Unix accounts. */
  accountProcesses() {
    const uids = new Set(this.accounts().map((a) => a.id));
    if (!uids.size) return [];
    return allPids().filter((p) => uids.has(uidOf(p)) && (procStat(p)?.state ?? 'Z') !== 'Z');
  }

  trackAll() {
    if (this.hubPid) this.registry.trackTree(this.hubPid, this.key);
    for (const p of this.accountProcesses()) this.registry.track(p, this.key);
  }

  hubPids() { return { hub: this.hubPid, proxy: null }; }

  /** The route target of `user`'s default server: GET /hub/api/proxy if the hub has it, else servers.target in the hub's SQLite (read-only). */
  async serverTarget(user) {
    const r = await request('GET', `${this.publicUrl}/hub/api/proxy`, { headers: { authorization: `token ${this.adminToken}` } });
    if (r.status === 200) {
      try {
        const route = r.json()[`/user/${user}/`];
        if (route?.target) { this.targetSource = 'GET /hub/api/proxy'; return route.target; }
      } catch { /* not JSON: fall back to the database */ }
    }
    if (!this.dbReader) {
      const require = createRequire(path.join(this.repo, 'packages/hub/package.json'));
      const Database = require('better-sqlite3');
      this.dbReader = new Database(path.join(this.stateDir, 'hub.sqlite'), { readonly: true, fileMustExist: true });
    }
    const row = this.dbReader.prepare("select s.target from servers s join users u on u.id = s.user_id where u.name = ? and s.name = ''").get(user);
    if (!row?.target) throw new Error(`no servers.target for ${user} in hub.sqlite`);
    this.targetSource = 'servers.target in hub.sqlite (no API gives it)';
    return row.target;
  }

  /** Pid of the single-user server process of `user` (its Python process, inside the sandbox). */
  async serverPid(user) {
    const acct = this.accounts().find((a) => a.name === `${this.prefix}${user}`);
    if (!acct) return null;
    const procs = allPids().filter((p) => uidOf(p) === acct.id).map((p) => ({ p, c: cmdline(p) }));
    return procs.find(({ c }) => /python3?\b.*jupyterhub[-.]singleuser/.test(c) && !/^\S*bwrap\b/.test(c))?.p ?? null;
  }

  /**
   * Orderly stop. The hub leaves user servers running when it exits (it re-adopts them
   * at the next start), so: DELETE every running server through the API, SIGTERM the hub,
   * then signal by pid whatever of ours survived, delete this run's Unix accounts and
   * any cgroup the hub left for them.
   */
  stop() {
    this.stopping ??= this.stopOnce();
    return this.stopping;
  }

  async stopOnce() {
    const out = { hubExitMs: null };
    this.trackAll();
    if (this.hubPid && this.registry.isAlive(this.hubPid) && this.adminToken) {
      try {
        const auth = { authorization: `token ${this.adminToken}` };
        const users = (await request('GET', `${this.publicUrl}/hub/api/users`, { headers: auth, timeoutMs: 20_000 })).json();
        const running = users.filter((u) => Object.keys(u.servers ?? {}).length > 0).map((u) => u.name);
        out.serversDeletedAtStop = running.length;
        await withTimeout(Promise.all(running.map((n) => request('DELETE', `${this.publicUrl}/hub/api/users/${n}/server`, { headers: auth, timeoutMs: 60_000 }))), 65_000, 'DELETE servers');
        const t0 = performance.now();
        while (performance.now() - t0 < 30_000) {
          const left = (await request('GET', `${this.publicUrl}/hub/api/users`, { headers: auth })).json().filter((u) => Object.keys(u.servers ?? {}).length > 0);
          if (!left.length) break;
          await sleep(100);
        }
      } catch (e) {
        out.apiStopError = String(e);
      }
    }
    this.trackAll();
    if (this.hubPid && this.registry.isAlive(this.hubPid)) {
      const t0 = performance.now();
      process.kill(this.hubPid, 'SIGTERM');
      const ex = await Promise.race([this.exited, sleep(30_000).then(() => null)]);
      if (ex) out.hubExitMs = round(ex.at - t0, 1);
      else out.hubExit = 'no exit after 30 s';
    }
    try { this.dbReader?.close(); } catch { /* closed */ }
    this.dbReader = null;
    await sleep(300);
    const t = await this.registry.terminate(this.key, this.accountProcesses());
    out.survivors = t.signalled;
    out.allGone = t.stillAlive.length === 0 && this.accountProcesses().length === 0;
    out.accounts = await this.deleteAccounts();
    out.cgroups = this.removeLeftoverCgroups();
    return out;
  }

  /** Idempotent last-resort cleanup (Ctrl-C, errors); a no-op after a completed stop(). */
  cleanup() {
    return this.stop().catch((e) => ({ error: String(e?.stack ?? e) }));
  }

  /** userdel / groupdel of the accounts and groups named <prefix>…; nothing else. */
  async deleteAccounts() {
    const out = { deletedUsers: [], deletedGroups: [], failed: [] };
    for (const a of this.accounts()) {
      try { await execFileAsync('/usr/sbin/userdel', [a.name]); out.deletedUsers.push(a.name); } catch (e) { out.failed.push(`userdel ${a.name}: ${e.stderr?.trim() || e}`); }
    }
    for (const g of accountsWithPrefix('/etc/group', this.prefix)) {
      try { await execFileAsync('/usr/sbin/groupdel', [g.name]); out.deletedGroups.push(g.name); } catch (e) { out.failed.push(`groupdel ${g.name}: ${e.stderr?.trim() || e}`); }
    }
    out.remainingUsers = this.accounts().map((a) => a.name);
    out.remainingGroups = accountsWithPrefix('/etc/group', this.prefix).map((g) => g.name);
    return out;
  }

  /** Empty cgroup directories whose name contains this run's prefix (the hub normally removes them). */
  removeLeftoverCgroups() {
    const removed = [], kept = [];
    const walk = (dir, depth) => {
      let entries;
      try { entries = fs.readdirSync(dir, { withFileTypes: true }); } catch { return; }
      for (const e of entries) {
        if (!e.isDirectory()) continue;
        const p = path.join(dir, e.name);
        if (e.name.includes(this.prefix)) {
          try { fs.rmdirSync(p); removed.push(p); } catch (err) { kept.push(`${p}: ${err.code}`); }
        } else if (depth < 3 && /eucp/.test(p)) walk(p, depth + 1);
      }
    };
    let roots = [];
    try { roots = fs.readdirSync('/sys/fs/cgroup', { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => path.join('/sys/fs/cgroup', e.name)); } catch { /* none */ }
    for (const r of ['/sys/fs/cgroup', ...roots]) {
      try { for (const e of fs.readdirSync(r, { withFileTypes: true })) if (e.isDirectory() && /eucp/.test(e.name)) walk(path.join(r, e.name), 1); } catch { /* none */ }
    }
    return { removed, kept };
  }
}

/**
 * LocalSandboxSpawner on the real machine: the spawner contract, plus what is specific to
 * it (accounts, limits written, servers outliving a SIGKILLed hub, refusals). Needs root,
 * bubblewrap and cgroups: it fails — never skips — without them.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { access, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isAppError, type ServerName, type UserName } from '@eucp/core';
import { ECHO_SERVER_PATH, answers, getJson, spawnerContract, waitForHttp } from '@eucp/testing/spawner-contract';
import type { ServerStatus, SpawnerState } from '../spawner.js';
import { detectCgroupDriver } from './cgroups.js';
import { lookupAccount } from './unix-accounts.js';
import { type SandboxTestEnv, createSandboxTestEnv } from '@eucp/testing/sandbox-env';

spawnerContract('LocalSandboxSpawner', async () => {
  const env = await createSandboxTestEnv(ECHO_SERVER_PATH);
  return { spawner: env.make(), fresh: () => env.make(), spec: (o) => env.spec(o), leftovers: () => env.leftovers(), cleanup: () => env.cleanup() };
});

const readControl = async (dir: string, file: string): Promise<string> => (await readFile(path.join(dir, file), 'utf8')).trim();
const pickReason = (s: ServerStatus): string => (s.running ? 'running' : s.reason);
const dirsOf = (state: SpawnerState): string[] => (state as { cgroup: { dirs: string[] } }).cgroup.dirs;

describe('LocalSandboxSpawner on this machine', { concurrency: false }, () => {
  let env: SandboxTestEnv;
  before(async () => {
    env = await createSandboxTestEnv(ECHO_SERVER_PATH);
  });
  after(async () => {
    await env.cleanup();
  });

  it('the machine has what the project installs: root, bubblewrap, setpriv and usable cgroups', async () => {
    assert.equal(process.getuid?.(), 0, 'tests run as root');
    await access('/usr/bin/bwrap');
    await access('/usr/bin/setpriv');
    const driver = await detectCgroupDriver();
    assert.ok(driver.version === 'v1' || driver.version === 'v2');
  });

  it('creates the account, a 0700 home owned by it, and writes memory, CPU and pids limits', async () => {
    const spec = env.spec({ user: 'lim' as UserName, prefix: '/user/lim/', limits: { memoryLimitBytes: 256 * 1024 ** 2, cpuLimitCores: 0.5 } });
    const { url, state } = await env.make().start(spec);
    try {
      const account = await lookupAccount(`${env.unixUserPrefix}lim`);
      assert.ok(account && account.uid >= 1000);
      const home = await stat(path.join(env.homeRoot, 'lim'));
      assert.equal(home.uid, account.uid);
      assert.equal(home.mode & 0o777, 0o700);
      assert.equal((await stat(env.homeRoot)).mode & 0o777, 0o711);
      assert.equal((await stat(env.stateDir)).mode & 0o777, 0o700);
      const [memory, cpu, pids] = dirsOf(state) as [string, string, string];
      assert.ok(memory.startsWith(`/sys/fs/cgroup/memory/${env.cgroupName}/`), memory);
      assert.equal(await readControl(memory, 'memory.limit_in_bytes'), String(256 * 1024 ** 2));
      assert.equal(await readControl(memory, 'memory.memsw.limit_in_bytes'), String(256 * 1024 ** 2));
      assert.equal(await readControl(cpu, 'cpu.cfs_period_us'), '100000');
      assert.equal(await readControl(cpu, 'cpu.cfs_quota_us'), '50000');
      assert.equal(await readControl(pids, 'pids.max'), '4096');
      await waitForHttp(`${url}/user/lim/`);
      const info = await getJson<{ env: Record<string, string> }>(`${url}/user/lim/`);
      assert.equal(info.env.MEM_LIMIT, String(256 * 1024 ** 2));
      assert.equal(info.env.CPU_LIMIT, '0.5');
      // The server itself is inside the cgroup (its host pid is listed there).
      const procs = (await readControl(memory, 'cgroup.procs')).split('\n');
      assert.ok(procs.length >= 3, `launcher, sandbox init and server are in the cgroup: ${procs.join(',')}`);
    } finally {
      await env.make().stop(state);
    }
    for (const dir of dirsOf(state)) await assert.rejects(access(dir), 'cgroup removed');
  });

  it('null limits mean no memory and CPU limit', async () => {
    const spec = env.spec({ user: 'nolim' as UserName, prefix: '/user/nolim/', limits: { memoryLimitBytes: null, cpuLimitCores: null } });
    const spawner = env.make();
    const { url, state } = await spawner.start(spec);
    try {
      const [memory, cpu] = dirsOf(state) as [string, string];
      assert.ok(BigInt(await readControl(memory, 'memory.limit_in_bytes')) > 2n ** 60n);
      assert.equal(await readControl(cpu, 'cpu.cfs_quota_us'), '-1');
      await waitForHttp(`${url}/user/nolim/`);
      const info = await getJson<{ env: Record<string, string> }>(`${url}/user/nolim/`);
      assert.equal(info.env.MEM_LIMIT, undefined);
    } finally {
      await spawner.stop(state);
    }
  });

  it('writes the server output to <logDir>/<user>.log (root-owned, 0640); named servers get <user>.<server>.log', async () => {
    const spawner = env.make();
    const spec = env.spec({ user: 'logs' as UserName, server: 'gpu' as ServerName, prefix: '/user/logs/gpu/' });
    const { url, state } = await spawner.start(spec);
    try {
      await waitForHttp(`${url}/user/logs/gpu/`);
      const logFile = path.join(env.logDir, 'logs.gpu.log');
      assert.equal((state as { logFile: string }).logFile, logFile);
      const st = await stat(logFile);
      assert.equal(st.uid, 0);
      assert.equal(st.mode & 0o777, 0o640);
      assert.match(await readFile(logFile, 'utf8'), /echo-server: listening on 127\.0\.0\.1:\d+\/user\/logs\/gpu\//);
    } finally {
      await spawner.stop(state);
    }
  });

  it('concurrent starts for one new user and another user create each account once and all run', async () => {
    const spawner = env.make();
    const specs = [
      env.spec({ user: 'conc' as UserName, prefix: '/user/conc/' }),
      env.spec({ user: 'conc' as UserName, server: 'two' as ServerName, prefix: '/user/conc/two/' }),
      env.spec({ user: 'conc' as UserName, server: 'three' as ServerName, prefix: '/user/conc/three/' }),
      env.spec({ user: 'other' as UserName, prefix: '/user/other/' }),
    ];
    const results = await Promise.allSettled(specs.map((s) => spawner.start(s)));
    try {
      for (const r of results) assert.equal(r.status, 'fulfilled', r.status === 'rejected' ? String(r.reason) : '');
      const passwd = await readFile('/etc/passwd', 'utf8');
      assert.equal(passwd.split('\n').filter((l) => l.startsWith(`${env.unixUserPrefix}conc:`)).length, 1);
      for (const [i, r] of results.entries()) if (r.status === 'fulfilled') await waitForHttp(`${r.value.url}${specs[i]!.prefix}`);
    } finally {
      for (const r of results) if (r.status === 'fulfilled') await spawner.stop(r.value.state);
    }
  });

  it('servers survive a hub killed with SIGKILL; a new hub process polls and stops them', async () => {
    const script = `
      import { LocalSandboxSpawner } from ${JSON.stringify(path.join(import.meta.dirname, 'local-sandbox-spawner.ts'))};
      import pino from 'pino';
      const o = JSON.parse(process.env.EUCP_TEST_OPTS);
      const spawner = new LocalSandboxSpawner({ ...o.options, logger: pino({ level: 'silent' }) });
      const r = await spawner.start(o.spec);
      process.stdout.write(JSON.stringify(r) + '\\n');
      setInterval(() => {}, 1000);
    `;
    const spec = env.spec({ user: 'survivor' as UserName, prefix: '/user/survivor/' });
    const options = { homeRoot: env.homeRoot, dataDir: env.dataDir, logDir: env.logDir, unixUserPrefix: env.unixUserPrefix, cgroupName: env.cgroupName };
    const hub = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: path.resolve(import.meta.dirname, '../../../../..'),
      env: { ...process.env, EUCP_TEST_OPTS: JSON.stringify({ options, spec }) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    const line = await new Promise<string>((resolve, reject) => {
      hub.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(out.split('\n')[0]!);
      });
      hub.once('exit', (code) => reject(new Error(`hub process exited with ${code} before starting the server: ${out}`)));
    });
    const { url, state } = JSON.parse(line) as { url: string; state: SpawnerState };
    const exited = new Promise((resolve) => hub.once('exit', resolve));
    hub.kill('SIGKILL');
    await exited;
    const spawner = env.make();
    try {
      await waitForHttp(`${url}/user/survivor/`);
      assert.deepEqual(await spawner.poll(state), { running: true });
    } finally {
      await spawner.stop(state);
    }
    assert.equal(await answers(`${url}/user/survivor/`), false);
    assert.equal((await spawner.poll(state)).running, false);
  });

  it('a start for a server whose sandbox is left over (state lost) ends the old one first', async () => {
    const spawner = env.make();
    const spec = env.spec({ user: 'orphan' as UserName, prefix: '/user/orphan/' });
    const first = await spawner.start(spec);
    await waitForHttp(`${first.url}/user/orphan/`);
    const second = await spawner.start(spec);
    try {
      assert.equal(await answers(`${first.url}/user/orphan/`), false);
      await waitForHttp(`${second.url}/user/orphan/`);
      assert.equal((await spawner.poll(first.state)).running, false);
    } finally {
      await spawner.stop(second.state);
    }
  });

  it('refuses account names longer than 32 characters with SPAWN_FAILED and creates nothing', async () => {
    const user = 'a'.repeat(32 - env.unixUserPrefix.length + 1) as UserName;
    await assert.rejects(env.make().start(env.spec({ user, prefix: `/user/${user}/` })), (e: unknown) => isAppError(e) && e.code === 'SPAWN_FAILED');
    assert.equal(await lookupAccount(`${env.unixUserPrefix}${user}`), null);
  });

  it('throws SANDBOX_UNAVAILABLE when bubblewrap is missing or no cgroups are mounted', async () => {
    const unavailable = (e: unknown): boolean => isAppError(e) && e.code === 'SANDBOX_UNAVAILABLE';
    await assert.rejects(env.make({ tools: { bwrap: '/nonexistent/bwrap' } }).start(env.spec({ user: 'nobw' as UserName })), unavailable);
    await assert.rejects(env.make({ cgroupRoot: env.dataDir }).start(env.spec({ user: 'nocg' as UserName })), (e: unknown) => {
      assert.ok(unavailable(e));
      assert.match((e as Error).message, /cgroup/);
      return true;
    });
  });

  it('throws SANDBOX_UNAVAILABLE when the data directory is missing or the staging directory unusable', async () => {
    const unavailable = (e: unknown): boolean => isAppError(e) && e.code === 'SANDBOX_UNAVAILABLE';
    await assert.rejects(env.make({ dataDir: path.join(env.stateDir, 'no-such-data') }).start(env.spec({ user: 'nodata' as UserName })), unavailable);
    // Inside the 0700 state dir the accounts could not reach the mount points.
    await assert.rejects(env.make({ stageDir: path.join(env.stateDir, 'stage') }).start(env.spec({ user: 'nostage' as UserName })), (e: unknown) => {
      assert.ok(unavailable(e), String(e));
      assert.match((e as Error).message, /not searchable/);
      return true;
    });
    assert.deepEqual(await env.leftovers(), []);
  });

  it('poll and stop do not trust foreign or tampered state', async () => {
    const spawner = env.make();
    assert.deepEqual(pickReason(await spawner.poll({})), 'gone');
    await spawner.stop({ kind: 'something-else' });
    const spec = env.spec({ user: 'tamper' as UserName, prefix: '/user/tamper/' });
    const { url, state } = await spawner.start(spec);
    try {
      await waitForHttp(`${url}/user/tamper/`);
      const tampered = { ...state, cgroup: { version: 'v1', dirs: ['memory', 'cpu', 'pids'].map((c) => `/sys/fs/cgroup/${c}`) } };
      await assert.rejects(spawner.stop(tampered), (e: unknown) => isAppError(e) && e.code === 'INTERNAL');
      assert.equal(await answers(`${url}/user/tamper/`), true, 'nothing was killed');
    } finally {
      await spawner.stop(state);
    }
  });

  it('homes and data inside a 0700 state directory work: the launcher binds them as root', async () => {
    assert.equal((await stat(env.stateDir)).mode & 0o777, 0o700);
    const spawner = env.make();
    const spec = env.spec({ user: 'private' as UserName, prefix: '/user/private/' });
    const { url, state } = await spawner.start(spec);
    try {
      await waitForHttp(`${url}/user/private/`);
      const data = await getJson<{ entries: string[] }>(`${url}/user/private/read?path=/data`);
      assert.ok(data.entries.includes('echo-server.py'));
      // The staged mounts live only in the server's mount namespace.
      const staged = await readdir(path.join(env.stageDir, 'home'));
      assert.deepEqual(staged, []);
    } finally {
      await spawner.stop(state);
    }
  });

  it('runs the science stack and a terminal in the sandbox (Python, xarray, Jupyter, cdo, R, ptys)', async () => {
    const check = [
      'set -e',
      '/usr/bin/python3 -c "import xarray, netCDF4, jupyter_server, notebook, ipykernel, matplotlib"',
      '/usr/bin/jupyterhub-singleuser --version >/dev/null',
      'cdo --version >/dev/null 2>&1',
      'R --version >/dev/null',
      '/usr/bin/python3 -c "import os; m, s = os.openpty(); print(os.ttyname(s))"',
      'exec /usr/bin/python3 /data/echo-server.py',
    ].join('\n');
    const spawner = env.make({ startupWatchMs: 30_000 });
    const spec = env.spec({ user: 'science' as UserName, prefix: '/user/science/', cmd: ['/bin/sh', '-c', check], limits: { memoryLimitBytes: 2 * 1024 ** 3, cpuLimitCores: 2 } });
    const { url, state } = await spawner.start(spec);
    try {
      await waitForHttp(`${url}/user/science/`, 60_000);
    } finally {
      await spawner.stop(state);
    }
  });

  it("reads the server's code under a directory the account may not search (a 0700 install dir), read-only", async () => {
    const install = await mkdtemp(path.join(tmpdir(), 'eucp-install-')); // mode 0700, root's
    try {
      await mkdir(path.join(install, 'pkg'));
      await writeFile(path.join(install, 'pkg', 'inner.txt'), 'inner');
      await writeFile(path.join(install, 'package.json'), 'code-ok');
      const file = path.join(install, 'package.json');
      const dir = path.join(install, 'pkg');
      const check = [
        'set -e',
        `test "$(cat ${file})" = code-ok`,
        `test "$(cat ${dir}/inner.txt)" = inner`,
        `if touch ${dir}/intruder 2>/dev/null; then exit 3; fi`,
        'exec /usr/bin/python3 /data/echo-server.py',
      ].join('\n');
      const spawner = env.make({ startupWatchMs: 30_000 });
      const spec = { ...env.spec({ user: 'installed' as UserName, prefix: '/user/installed/', cmd: ['/bin/sh', '-c', check] }), readOnlyBinds: [file, dir] };
      const { url, state } = await spawner.start(spec);
      try {
        await waitForHttp(`${url}/user/installed/`, 30_000);
      } finally {
        await spawner.stop(state);
      }
    } finally {
      await rm(install, { recursive: true, force: true });
    }
  });
});

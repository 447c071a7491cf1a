/**
 * Tries to break each promise of the local sandbox from inside a server (the echo server
 * runs actions on request): other users' homes, the data cache, processes, the hub's
 * state, root, memory and CPU limits, escaping `stop`. Real bubblewrap, accounts and
 * cgroups; fails (never skips) without them.
 */
import assert from 'node:assert/strict';
import { access, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { UserName } from '@eucp/core';
import { ECHO_SERVER_PATH, answers, getJson, waitForHttp, waitUntil } from '@eucp/testing/spawner-contract';
import type { SpawnResult, SpawnSpec } from '../spawner.js';
import type { LocalSandboxSpawner } from './local-sandbox-spawner.js';
import { findFreePort } from './process-info.js';
import { type SandboxTestEnv, createSandboxTestEnv } from '@eucp/testing/sandbox-env';
import { lookupAccount } from './unix-accounts.js';

interface Answer {
  ok: boolean;
  errno?: string;
  kind?: 'dir' | 'file';
  entries?: string[];
  text?: string;
  uid?: number;
  euid?: number;
  gid?: number;
  groups?: number[];
  hostname?: string;
  env?: Record<string, string>;
  processes?: Array<{ pid: number; uid: number; cmdline: string[] }>;
}

const MiB = 1024 ** 2;

describe('local sandbox isolation', { concurrency: false }, () => {
  let env: SandboxTestEnv;
  let spawner: LocalSandboxSpawner;
  const running: SpawnResult[] = [];
  let a: { url: string; unix: string; uid: number };
  let b: { url: string; unix: string; uid: number };

  const start = async (spec: SpawnSpec): Promise<SpawnResult> => {
    const r = await spawner.start(spec);
    running.push(r);
    await waitForHttp(`${r.url}${spec.prefix}`);
    return r;
  };
  const act = (server: { url: string }, user: string, action: string, params: Record<string, string> = {}): Promise<Answer> =>
    getJson<Answer>(`${server.url}/user/${user}/${action}?${new URLSearchParams(params).toString()}`);
  const readA = (p: string): Promise<Answer> => act(a, 'alice', 'read', { path: p });
  const writeA = (p: string): Promise<Answer> => act(a, 'alice', 'write', { path: p, data: 'pwned' });

  before(async () => {
    env = await createSandboxTestEnv(ECHO_SERVER_PATH);
    spawner = env.make();
    process.env.EUCP_TEST_HUB_SECRET = 'must-not-leak';
    for (const user of ['alice', 'bob']) {
      const r = await start(env.spec({ user: user as UserName, prefix: `/user/${user}/` }));
      const account = await lookupAccount(`${env.unixUserPrefix}${user}`);
      assert.ok(account);
      const server = { url: r.url, unix: `${env.unixUserPrefix}${user}`, uid: account.uid };
      if (user === 'alice') a = server;
      else b = server;
    }
    const wrote = await act(b, 'bob', 'write', { path: `/home/${b.unix}/secret.txt`, data: 'bob private' });
    assert.equal(wrote.ok, true, 'bob can write in his own home');
  });

  after(async () => {
    delete process.env.EUCP_TEST_HUB_SECRET;
    for (const r of running) await spawner.stop(r.state, { timeoutMs: 1000 }).catch(() => undefined);
    await env.cleanup();
  });

  it("runs as the user's own account, never root, with no extra groups", async () => {
    const me = await act(a, 'alice', '');
    assert.equal(me.uid, a.uid);
    assert.equal(me.euid, a.uid);
    assert.notEqual(me.uid, 0);
    assert.deepEqual(me.groups, [me.gid]);
    assert.equal(me.hostname, 'eucp-sandbox');
  });

  it("cannot read or list another user's home (by sandbox path or host path)", async () => {
    assert.deepEqual((await readA('/home')).entries, [a.unix], '/home shows only its own home');
    for (const p of [`/home/${b.unix}`, `/home/${b.unix}/secret.txt`, path.join(env.homeRoot, 'bob'), path.join(env.homeRoot, 'bob', 'secret.txt'), env.homeRoot]) {
      const r = await readA(p);
      assert.equal(r.ok, false, `${p} must not be readable`);
    }
    assert.equal((await readFile(path.join(env.homeRoot, 'bob', 'secret.txt'), 'utf8')), 'bob private');
  });

  it('can write its own home; the files belong to its account on the host', async () => {
    assert.equal((await writeA(`/home/${a.unix}/notebook.ipynb`)).ok, true);
    const st = await stat(path.join(env.homeRoot, 'alice', 'notebook.ipynb'));
    assert.equal(st.uid, a.uid);
  });

  it('can read /data but not write it (EROFS/EACCES)', async () => {
    assert.deepEqual((await readA('/data/cmip6')).entries, ['tas.txt']);
    assert.equal((await readA('/data/cmip6/tas.txt')).text, 'near-surface air temperature\n');
    for (const p of ['/data/cmip6/tas.txt', '/data/new.nc']) {
      const r = await writeA(p);
      assert.equal(r.ok, false, `${p} must not be writable`);
      assert.ok(r.errno === 'EROFS' || r.errno === 'EACCES', `errno ${r.errno}`);
    }
    assert.equal(await readFile(path.join(env.dataDir, 'cmip6', 'tas.txt'), 'utf8'), 'near-surface air temperature\n');
    await assert.rejects(access(path.join(env.dataDir, 'new.nc')));
  });

  it("sees only its own processes (no other user's, no hub's)", async () => {
    const ps = (await act(a, 'alice', 'ps')).processes ?? [];
    assert.ok(ps.length >= 2 && ps.length <= 4, `a handful of processes: ${JSON.stringify(ps)}`);
    for (const p of ps) assert.equal(p.uid, a.uid, `process ${p.pid} ${p.cmdline.join(' ')} belongs to alice`);
    assert.ok(!ps.some((p) => p.cmdline.some((c) => c.includes('node'))), 'no hub process visible');
    assert.equal((await readA(`/proc/${process.pid}/environ`)).ok, false, "the hub's /proc entry is not visible");
  });

  it("cannot see the hub's state directory, /root, the host /tmp or the repository", async () => {
    for (const p of [env.stateDir, path.join(env.stateDir, 'secret.txt'), env.logDir, '/root', '/work', '/sys', '/run']) {
      const r = await readA(p);
      assert.equal(r.ok, false, `${p} must not be visible`);
      assert.equal(r.errno, 'ENOENT', `${p} does not exist in the sandbox`);
    }
    assert.deepEqual((await readA('/tmp')).entries, [], 'a private, empty /tmp');
    // A name nothing on the host uses, so "absent on the host" means "not the host's /tmp".
    const scratch = `/tmp/eucp-scratch-${process.pid}-${Date.now()}`;
    assert.equal((await writeA(scratch)).ok, true, '/tmp is writable');
    assert.equal((await readA('/tmp')).entries?.length, 1);
    await assert.rejects(access(scratch), 'host /tmp untouched');
    assert.deepEqual((await act(b, 'bob', 'read', { path: '/tmp' })).entries, [], "bob's /tmp is not alice's");
  });

  it('cannot write system directories or the sandbox root', async () => {
    for (const p of ['/usr/evil', '/etc/evil', '/evil', '/bin/evil']) {
      const r = await writeA(p);
      assert.equal(r.ok, false, `${p} must not be writable`);
    }
    await assert.rejects(access('/etc/evil'));
  });

  it("gets only the spawner's environment, nothing of the hub's", async () => {
    const e = (await act(a, 'alice', '')).env ?? {};
    assert.equal(e.EUCP_TEST_HUB_SECRET, undefined);
    assert.equal(e.HOME, `/home/${a.unix}`);
    assert.equal(e.USER, a.unix);
    assert.equal(e.SHELL, '/bin/bash');
    assert.equal(e.PATH, '/usr/local/bin:/usr/bin:/bin');
    assert.ok(e.LANG);
    assert.match(e.JUPYTERHUB_SERVICE_URL ?? '', /^http:\/\/127\.0\.0\.1:\d+\/user\/alice\/$/);
  });

  it('a server that allocates beyond its memory limit is reported by poll as oom with a clear message', async () => {
    const spec = env.spec({ user: 'hog' as UserName, prefix: '/user/hog/', limits: { memoryLimitBytes: 256 * MiB, cpuLimitCores: 1 } });
    const r = await start(spec);
    // The server itself allocates 512 MiB: the kernel kills it, the request never answers.
    await getJson(`${r.url}/user/hog/alloc?mb=512`, 30_000).catch(() => undefined);
    const status = await waitUntil('poll to report the OOM kill', async () => {
      const s = await spawner.poll(r.state);
      return s.running ? undefined : s;
    });
    assert.equal(status.running, false);
    if (!status.running) {
      assert.equal(status.reason, 'oom');
      assert.match(status.message, /used more than 256 MiB of memory \(its limit\)/);
      assert.match(status.message, /ask an administrator for a higher memory limit/);
    }
    await spawner.stop(r.state);
    assert.equal((await spawner.poll(r.state)).running, false);
  });

  it('an OOM-killed child (a kernel) makes poll report oom while the server lives; stop then ends it', async () => {
    const spec = env.spec({ user: 'kernelhog' as UserName, prefix: '/user/kernelhog/', limits: { memoryLimitBytes: 256 * MiB, cpuLimitCores: 1 } });
    const r = await start(spec);
    await getJson(`${r.url}/user/kernelhog/alloc?mb=512&child=1`);
    const status = await waitUntil('poll to report the OOM kill', async () => {
      const s = await spawner.poll(r.state);
      return s.running ? undefined : s;
    });
    assert.equal(status.running || status.reason, 'oom');
    assert.equal(await answers(`${r.url}/user/kernelhog/`), true, 'the server itself still runs');
    await spawner.stop(r.state);
    assert.equal(await answers(`${r.url}/user/kernelhog/`), false);
  });

  it('the CPU quota is written as configured and enforced by the kernel', async () => {
    const spec = env.spec({ user: 'cpu' as UserName, prefix: '/user/cpu/', limits: { memoryLimitBytes: null, cpuLimitCores: 0.25 } });
    const r = await start(spec);
    const cpuDir = (r.state as { cgroup: { dirs: string[] } }).cgroup.dirs[1]!;
    assert.equal((await readFile(path.join(cpuDir, 'cpu.cfs_quota_us'), 'utf8')).trim(), '25000');
    assert.equal((await readFile(path.join(cpuDir, 'cpu.cfs_period_us'), 'utf8')).trim(), '100000');
    const burn = await getJson<{ wallSeconds: number; cpuSeconds: number }>(`${r.url}/user/cpu/burn?ms=1000`, 30_000);
    // A quarter of a core: at most 0.25 s of CPU per second of wall time (plus slack for
    // the period boundaries); unlimited, the busy loop would use about 1 s.
    assert.ok(burn.cpuSeconds <= burn.wallSeconds * 0.25 + 0.15, `used ${burn.cpuSeconds} s of CPU in ${burn.wallSeconds} s`);
  });

  it('the pids limit stops a fork bomb (threads count too)', async () => {
    const limited = env.make({ pidsLimit: 32 });
    const spec = env.spec({ user: 'forker' as UserName, prefix: '/user/forker/' });
    const r = await limited.start(spec);
    running.push(r);
    try {
      await waitForHttp(`${r.url}/user/forker/`);
      const answer = await getJson<{ started: number; error?: string }>(`${r.url}/user/forker/threads?n=200`);
      assert.ok(answer.started < 32, `started ${answer.started} threads`);
      assert.match(answer.error ?? '', /can't start new thread/);
      assert.equal(await answers(`${r.url}/user/forker/`), true, 'the server survives hitting the limit');
    } finally {
      await limited.stop(r.state);
    }
  });

  it('a child that starts its own session is still ended by stop (no escape from the sandbox)', async () => {
    const spec = env.spec({ user: 'escaper' as UserName, prefix: '/user/escaper/' });
    const r = await start(spec);
    const port = await findFreePort();
    await getJson(`${r.url}/user/escaper/fork?port=${port}&setsid=1`);
    await waitForHttp(`http://127.0.0.1:${port}/`);
    await spawner.stop(r.state, { timeoutMs: 2000 });
    assert.equal(await answers(`http://127.0.0.1:${port}/`), false);
    for (const dir of (r.state as { cgroup: { dirs: string[] } }).cgroup.dirs) await assert.rejects(access(dir));
  });
});

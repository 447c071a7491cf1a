import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isAppError } from '@eucp/core';
import { cpuQuotaUs, formatBytes, limitWrites, oomMessage, parseKeyValueLines, v1OomKilled, v2OomKills } from './cgroup-limits.js';
import { detectCgroupDriver, driverForCgroup } from './cgroups.js';
import { parseProcStat } from './process-info.js';
import { decideStatus, parseBwrapStatus, parseLocalSandboxState } from './sandbox-state.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

describe('cgroup limit arithmetic', () => {
  it('converts cores to a CFS quota per 100 ms period, at least 1 ms', () => {
    assert.equal(cpuQuotaUs(1), 100_000);
    assert.equal(cpuQuotaUs(0.5), 50_000);
    assert.equal(cpuQuotaUs(2.5), 250_000);
    assert.equal(cpuQuotaUs(0.333), 33_300);
    assert.equal(cpuQuotaUs(0.001), 1_000);
    assert.throws(() => cpuQuotaUs(0));
    assert.throws(() => cpuQuotaUs(Number.NaN));
  });

  it('v1: memory (then memsw, optional), CFS period and quota, pids', () => {
    assert.deepEqual(limitWrites('v1', { memoryBytes: 2 * GiB, cpuCores: 1.5, pidsMax: 4096 }), [
      { controller: 'memory', file: 'memory.limit_in_bytes', value: '2147483648', optional: false },
      { controller: 'memory', file: 'memory.memsw.limit_in_bytes', value: '2147483648', optional: true },
      { controller: 'cpu', file: 'cpu.cfs_period_us', value: '100000', optional: false },
      { controller: 'cpu', file: 'cpu.cfs_quota_us', value: '150000', optional: false },
      { controller: 'pids', file: 'pids.max', value: '4096', optional: false },
    ]);
  });

  it('v2: memory.max, no swap (optional), cpu.max "quota period", pids.max', () => {
    assert.deepEqual(limitWrites('v2', { memoryBytes: 512 * MiB, cpuCores: 0.5, pidsMax: 100 }), [
      { controller: 'memory', file: 'memory.max', value: String(512 * MiB), optional: false },
      { controller: 'memory', file: 'memory.swap.max', value: '0', optional: true },
      { controller: 'cpu', file: 'cpu.max', value: '50000 100000', optional: false },
      { controller: 'pids', file: 'pids.max', value: '100', optional: false },
    ]);
  });

  it('null limits write nothing (a fresh cgroup is unlimited)', () => {
    assert.deepEqual(limitWrites('v1', { memoryBytes: null, cpuCores: null, pidsMax: null }), []);
    assert.deepEqual(limitWrites('v2', { memoryBytes: null, cpuCores: 2, pidsMax: null }).map((w) => w.file), ['cpu.max']);
  });

  it('rejects nonsense limits', () => {
    assert.throws(() => limitWrites('v1', { memoryBytes: 1.5, cpuCores: null, pidsMax: null }));
    assert.throws(() => limitWrites('v2', { memoryBytes: null, cpuCores: null, pidsMax: -1 }));
  });
});

describe('OOM detection and messages', () => {
  const oomControl = (kills?: number): string => `oom_kill_disable 0\nunder_oom 0\n${kills === undefined ? '' : `oom_kill ${kills}\n`}`;

  it('parses key/value control files', () => {
    assert.deepEqual([...parseKeyValueLines('a 1\nb  -2\n\nc x\n')], [['a', 1], ['b', -2]]);
  });

  it('v1: the oom_kill counter decides when present', () => {
    assert.equal(v1OomKilled({ oomControl: oomControl(0), failcnt: 100, maxUsageBytes: 256 * MiB, limitBytes: 256 * MiB }), false);
    assert.equal(v1OomKilled({ oomControl: oomControl(2), failcnt: 0, maxUsageBytes: 0, limitBytes: 256 * MiB }), true);
  });

  it('v1 on old kernels: failcnt with peak usage at the limit', () => {
    assert.equal(v1OomKilled({ oomControl: oomControl(), failcnt: 3, maxUsageBytes: 256 * MiB, limitBytes: 256 * MiB }), true);
    assert.equal(v1OomKilled({ oomControl: oomControl(), failcnt: 3, maxUsageBytes: 100 * MiB, limitBytes: 256 * MiB }), false);
    assert.equal(v1OomKilled({ oomControl: oomControl(), failcnt: 0, maxUsageBytes: 256 * MiB, limitBytes: 256 * MiB }), false);
  });

  it('v2: memory.events oom_kill', () => {
    assert.equal(v2OomKills('low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n'), 1);
    assert.equal(v2OomKills('low 0\nmax 0\n'), 0);
  });

  it('formats byte counts in binary units', () => {
    assert.equal(formatBytes(512 * MiB), '512 MiB');
    assert.equal(formatBytes(2 * GiB), '2 GiB');
    assert.equal(formatBytes(1.5 * GiB), '1.5 GiB');
    assert.equal(formatBytes(100), '100 bytes');
  });

  it('says what happened, the limit, and what to do', () => {
    const m = oomMessage(512 * MiB);
    assert.match(m, /^Your server was stopped because it used more than 512 MiB of memory \(its limit\)\./);
    assert.match(m, /files you saved are kept/);
    assert.match(m, /dask chunks/);
    assert.match(m, /ask an administrator for a higher memory limit/);
    assert.match(oomMessage(null), /used its memory limit/);
  });
});

describe('poll decisions and state parsing', () => {
  const base = { rebooted: false, alive: false, oomKilled: false, exitCode: null, traces: true, memoryLimitBytes: 256 * MiB };

  it('oom wins, even while the server process still lives', () => {
    const s = decideStatus({ ...base, alive: true, oomKilled: true });
    assert.equal(s.running, false);
    assert.equal(!s.running && s.reason, 'oom');
  });

  it('running, exited, killed by a signal, killed from outside, gone, rebooted', () => {
    assert.deepEqual(decideStatus({ ...base, alive: true }), { running: true });
    assert.deepEqual(pick(decideStatus({ ...base, exitCode: 3 })), ['exited', 3]);
    assert.deepEqual(pick(decideStatus({ ...base, exitCode: 137 })), ['killed', 137]);
    assert.deepEqual(pick(decideStatus({ ...base })), ['killed', null]);
    assert.deepEqual(pick(decideStatus({ ...base, traces: false })), ['gone', null]);
    assert.deepEqual(pick(decideStatus({ ...base, alive: true, rebooted: true })), ['gone', null]);
  });

  it('parses bubblewrap JSON status lines, tolerating a cut-off line', () => {
    assert.deepEqual(parseBwrapStatus('{ "child-pid": 42, "pid-namespace": 1 }\n{ "exit-code": 7 }\n'), { childPid: 42, exitCode: 7 });
    assert.deepEqual(parseBwrapStatus('{ "child-pid": 42 }\n{ "exit-co'), { childPid: 42 });
    assert.deepEqual(parseBwrapStatus(''), {});
  });

  it('rejects foreign or malformed state', () => {
    assert.equal(parseLocalSandboxState({}), null);
    assert.equal(parseLocalSandboxState({ kind: 'process', pid: 1 }), null);
  });

  it('parses /proc/<pid>/stat, including command names with spaces and parentheses', () => {
    const fields = Array.from({ length: 50 }, (_, i) => String(i + 1));
    fields[0] = 'S'; // field 3
    fields[1] = '10'; // ppid
    fields[2] = '12'; // pgrp
    fields[19] = '98765'; // field 22: start time
    assert.deepEqual(parseProcStat(`123 (a) b (c)) ${fields.join(' ')}`), { pid: 123, state: 'S', ppid: 10, pgrp: 12, startTime: 98765 });
    assert.equal(parseProcStat('garbage'), null);
  });
});

function pick(s: ReturnType<typeof decideStatus>): [string, number | null] | 'running' {
  return s.running ? 'running' : [s.reason, s.exitCode];
}

describe('cgroup drivers on a fake cgroup tree', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp('/tmp/eucp-fake-cgroup-');
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('no controllers anywhere: SANDBOX_UNAVAILABLE saying what is missing', async () => {
    const empty = path.join(root, 'empty');
    await mkdir(empty);
    await assert.rejects(detectCgroupDriver(empty, 'eucp'), (e: unknown) => isAppError(e) && e.code === 'SANDBOX_UNAVAILABLE' && /memory, cpu and pids/.test(e.message));
  });

  it('v1 hierarchies: picks v1 and writes each limit into its controller', async () => {
    const v1 = path.join(root, 'v1');
    for (const c of ['memory', 'cpu', 'pids']) {
      await mkdir(path.join(v1, c), { recursive: true });
      await writeFile(path.join(v1, c, 'cgroup.procs'), '');
    }
    await writeFile(path.join(v1, 'memory', 'memory.limit_in_bytes'), '');
    const driver = await detectCgroupDriver(v1, 'eucp');
    assert.equal(driver.version, 'v1');
    const cg = driver.cgroupFor('eucp-alice.gpu');
    assert.deepEqual(cg.dirs, ['memory', 'cpu', 'pids'].map((c) => path.join(v1, c, 'eucp', 'eucp-alice.gpu')));
    await driver.create(cg, { memoryBytes: 256 * MiB, cpuCores: 0.5, pidsMax: 64 });
    const read = (c: string, f: string): Promise<string> => readFile(path.join(v1, c, 'eucp', 'eucp-alice.gpu', f), 'utf8');
    assert.equal(await read('memory', 'memory.limit_in_bytes'), String(256 * MiB));
    assert.equal(await read('cpu', 'cpu.cfs_quota_us'), '50000');
    assert.equal(await read('pids', 'pids.max'), '64');
    await assert.rejects(read('memory', 'memory.memsw.limit_in_bytes'), 'optional file skipped when absent');
    await assert.rejects(driver.create(cg, { memoryBytes: null, cpuCores: null, pidsMax: null }), 'an existing cgroup is not reused');
    assert.deepEqual(driver.procsFiles(cg), cg.dirs.map((d) => path.join(d, 'cgroup.procs')));
  });

  it('unified v2 root: enables the controllers for the parent and writes v2 files', async () => {
    const v2 = path.join(root, 'v2');
    await mkdir(v2);
    await writeFile(path.join(v2, 'cgroup.controllers'), 'cpuset cpu io memory hugetlb pids rdma misc\n');
    await writeFile(path.join(v2, 'cgroup.subtree_control'), 'memory\n');
    const driver = await detectCgroupDriver(v2, 'eucp');
    assert.equal(driver.version, 'v2');
    const cg = driver.cgroupFor('eucp-bob');
    await driver.create(cg, { memoryBytes: GiB, cpuCores: 2, pidsMax: 4096 });
    assert.equal(await readFile(path.join(v2, 'cgroup.subtree_control'), 'utf8'), '+cpu +pids');
    assert.equal(await readFile(path.join(v2, 'eucp', 'cgroup.subtree_control'), 'utf8'), '+memory +cpu +pids');
    const dir = path.join(v2, 'eucp', 'eucp-bob');
    assert.equal(await readFile(path.join(dir, 'memory.max'), 'utf8'), String(GiB));
    assert.equal(await readFile(path.join(dir, 'cpu.max'), 'utf8'), '200000 100000');
    assert.equal(await readFile(path.join(dir, 'pids.max'), 'utf8'), '4096');
    await writeFile(path.join(dir, 'memory.events'), 'oom 1\noom_kill 1\n');
    assert.equal(await driver.oomKilled(cg), true);
  });

  it('hybrid machine with controllers on the unified mount picks v2 there', async () => {
    const hybrid = path.join(root, 'hybrid');
    await mkdir(path.join(hybrid, 'unified'), { recursive: true });
    await writeFile(path.join(hybrid, 'unified', 'cgroup.controllers'), 'memory cpu pids\n');
    const driver = await detectCgroupDriver(hybrid, 'eucp');
    assert.equal(driver.version, 'v2');
    assert.deepEqual(driver.cgroupFor('u').dirs, [path.join(hybrid, 'unified', 'eucp', 'u')]);
  });

  it('state pointing outside the parent cgroup is not trusted', () => {
    const ok = { version: 'v1' as const, dirs: ['memory', 'cpu', 'pids'].map((c) => `/sys/fs/cgroup/${c}/eucp/eucp-a`) };
    assert.ok(driverForCgroup(ok, '/sys/fs/cgroup', 'eucp'));
    assert.equal(driverForCgroup({ ...ok, dirs: ok.dirs.map((d) => d.replace('/eucp/', '/other/')) }, '/sys/fs/cgroup', 'eucp'), null);
    assert.equal(driverForCgroup({ version: 'v1', dirs: ['/sys/fs/cgroup/memory/eucp/../x'] }, '/sys/fs/cgroup', 'eucp'), null);
    assert.equal(driverForCgroup({ version: 'v1', dirs: ['/sys/fs/cgroup/memory'] }, '/sys/fs/cgroup', 'eucp'), null);
    assert.ok(driverForCgroup({ version: 'v2', dirs: ['/sys/fs/cgroup/unified/eucp/x'] }, '/sys/fs/cgroup', 'eucp'));
    assert.throws(() => driverForCgroup(ok, '/sys/fs/cgroup', '../etc'));
  });
});

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { isAppError } from '@eucp/core';
import {
  CGROUP_ENTER_SCRIPT,
  STAGE_SCRIPT,
  buildBwrapArgs,
  dataBindArgs,
  buildEnvArgs,
  buildLaunchArgv,
  encodeNulSeparated,
  type SandboxLayout,
} from './bwrap-args.js';

const layout: SandboxLayout = {
  unixName: 'eucp-alice',
  hostHome: '/srv/eucp/home/alice',
  dataDir: '/srv/climate-data',
  hostRoot: [
    { path: '/bin', kind: 'symlink', target: 'usr/bin' },
    { path: '/lib', kind: 'symlink', target: 'usr/lib' },
    { path: '/lib64', kind: 'dir' },
    { path: '/opt', kind: 'dir' }, // not mirrored: only bin/sbin/lib* are
  ],
  argv: ['/usr/bin/python3', '/usr/bin/jupyterhub-singleuser', '--debug'],
};

/** The `[option, …operands]` groups of a bwrap argv, to check mounts regardless of order. */
function triples(args: string[], option: string): string[][] {
  const arity: Record<string, number> = { '--ro-bind': 2, '--bind': 2, '--symlink': 2, '--tmpfs': 1, '--proc': 1, '--dev': 1, '--dir': 1 };
  const out: string[][] = [];
  args.forEach((a, i) => {
    if (a === option) out.push(args.slice(i + 1, i + 1 + (arity[option] ?? 1)));
  });
  return out;
}

describe('buildBwrapArgs', () => {
  const args = buildBwrapArgs(layout);
  const sep = args.indexOf('--');

  it('unshares user, PID, IPC, UTS (and cgroup if possible) but keeps the host network', () => {
    for (const flag of ['--unshare-user', '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try', '--new-session']) {
      assert.ok(args.includes(flag), flag);
    }
    assert.ok(!args.includes('--unshare-net') && !args.includes('--unshare-all'));
    assert.ok(!args.includes('--die-with-parent'), 'servers must outlive the hub');
  });

  it('binds system directories read-only and mirrors merged-/usr symlinks', () => {
    assert.deepEqual(triples(args, '--ro-bind'), [
      ['/usr', '/usr'],
      ['/etc', '/etc'],
      ['/lib64', '/lib64'],
      ['/srv/climate-data', '/data'],
    ]);
    assert.deepEqual(triples(args, '--symlink'), [
      ['usr/bin', '/bin'],
      ['usr/lib', '/lib'],
      ['/tmp', '/var/tmp'],
    ]);
    assert.ok(!args.includes('/opt'));
  });

  it('gives a fresh /proc, minimal /dev, private /tmp, and only its own home read-write', () => {
    assert.deepEqual(triples(args, '--proc'), [['/proc']]);
    assert.deepEqual(triples(args, '--dev'), [['/dev']]);
    assert.deepEqual(triples(args, '--tmpfs'), [['/tmp']]);
    assert.deepEqual(triples(args, '--bind'), [['/srv/eucp/home/alice', '/home/eucp-alice']]);
    assert.equal(args[args.indexOf('--chdir') + 1], '/home/eucp-alice');
  });

  it('mounts nothing else of the host (no /root, /home, /tmp, /run, /sys, /var)', () => {
    const sources = [...triples(args, '--ro-bind'), ...triples(args, '--bind')].map((t) => t[0]);
    for (const p of ['/', '/root', '/home', '/tmp', '/run', '/sys', '/var', '/srv/eucp', '/srv/eucp/home']) {
      assert.ok(!sources.includes(p), `${p} is not bound`);
    }
  });

  it('remounts the sandbox root read-only after all mounts, then passes status and args fds', () => {
    const ro = args.indexOf('--remount-ro');
    assert.equal(args[ro + 1], '/');
    assert.ok(ro > args.lastIndexOf('--bind') && ro > args.lastIndexOf('--ro-bind'));
    assert.equal(args[args.indexOf('--json-status-fd') + 1], '3');
    assert.equal(args[args.indexOf('--args') + 1], '4');
    assert.ok(args.indexOf('--args') < sep);
  });

  it("binds the server's own code read-only at its host path from the staged mount points, and refuses relative or climbing paths", () => {
    const code = [
      { source: '/run/eucp-sandbox/code/d0', target: '/opt/eucp/node_modules' },
      { source: '/run/eucp-sandbox/code/f1', target: '/opt/eucp/package.json' },
    ];
    const args = buildBwrapArgs({ ...layout, readOnlyBinds: code });
    for (const b of code) assert.ok(triples(args, '--ro-bind').some(([s, d]) => s === b.source && d === b.target), b.target);
    assert.ok(!triples(args, '--bind').some(([s]) => code.some((b) => b.source === s)), 'never read-write');
    for (const bad of ['opt/eucp', '/opt/eucp/../../root']) {
      assert.throws(() => buildBwrapArgs({ ...layout, readOnlyBinds: [{ source: '/run/x', target: bad }] }), (e) => isAppError(e) && e.code === 'SPAWN_FAILED');
      assert.throws(() => buildBwrapArgs({ ...layout, readOnlyBinds: [{ source: bad, target: '/opt/x' }] }), (e) => isAppError(e) && e.code === 'SPAWN_FAILED');
    }
  });

  it('ends with -- and the server argv, untouched', () => {
    assert.deepEqual(args.slice(sep + 1), layout.argv);
  });

  it('passes hostile argv through as plain arguments', () => {
    const evil = ['/bin/sh', '-c', 'rm -rf / ; echo $HOME', '--bind', '/', '/'];
    const a = buildBwrapArgs({ ...layout, argv: evil });
    assert.deepEqual(a.slice(a.indexOf('--') + 1), evil);
  });

  it('rejects an empty command', () => {
    assert.throws(() => buildBwrapArgs({ ...layout, argv: [] }), (e: unknown) => isAppError(e) && e.code === 'SPAWN_FAILED');
  });
});

describe('buildEnvArgs and encodeNulSeparated', () => {
  it('clears the environment, then sets each variable', () => {
    assert.deepEqual(buildEnvArgs({ HOME: '/home/x', JUPYTERHUB_API_TOKEN: 'sec ret' }), [
      '--clearenv',
      '--setenv', 'HOME', '/home/x',
      '--setenv', 'JUPYTERHUB_API_TOKEN', 'sec ret',
    ]);
  });

  it('rejects invalid names and NUL bytes', () => {
    const failed = (e: unknown): boolean => isAppError(e) && e.code === 'SPAWN_FAILED';
    assert.throws(() => buildEnvArgs({ 'A=B': 'x' }), failed);
    assert.throws(() => buildEnvArgs({ '--bind': 'x' }), failed);
    assert.throws(() => buildEnvArgs({ A: 'x\0--bind' }), failed);
  });

  it('terminates every argument with a NUL byte', () => {
    assert.deepEqual(encodeNulSeparated(['--setenv', 'A', 'é']), Buffer.from('--setenv\0A\0é\0', 'utf8'));
  });
});

describe('buildLaunchArgv', () => {
  const argv = buildLaunchArgv({
    procsFiles: ['/cg/memory/x/cgroup.procs', '/cg/pids/x/cgroup.procs'],
    uid: 1001,
    gid: 1002,
    stage: { home: ['/state/home/alice', '/run/eucp-sandbox/home'], data: ['/state/data', '/run/eucp-sandbox/data'] },
    bwrapArgs: ['--', 'cmd'],
  });

  it('enters the cgroups, stages the mounts in a private mount namespace, drops to the account, runs bwrap', () => {
    assert.deepEqual(argv, [
      '/bin/sh', '-c', CGROUP_ENTER_SCRIPT, 'eucp-enter-cgroup',
      '/cg/memory/x/cgroup.procs', '/cg/pids/x/cgroup.procs', '--',
      '/usr/bin/unshare', '--mount', '--propagation', 'slave', '--',
      '/bin/sh', '-c', STAGE_SCRIPT, 'eucp-stage-mounts',
      '/state/home/alice', '/run/eucp-sandbox/home', '/state/data', '/run/eucp-sandbox/data', '--',
      '/usr/bin/setpriv', '--reuid=1001', '--regid=1002', '--init-groups', '--no-new-privs', '--',
      '/usr/bin/bwrap', '--', 'cmd',
    ]);
  });

  it('refuses root and paths that are not absolute', () => {
    const stage = { home: ['/h', '/s/home'], data: ['/d', '/s/data'] } as const;
    assert.throws(() => buildLaunchArgv({ procsFiles: [], uid: 0, gid: 1, stage, bwrapArgs: [] }));
    assert.throws(() => buildLaunchArgv({ procsFiles: [], uid: 1000, gid: 0, stage, bwrapArgs: [] }));
    assert.throws(() => buildLaunchArgv({ procsFiles: ['--'], uid: 1000, gid: 1000, stage, bwrapArgs: [] }));
    assert.throws(() => buildLaunchArgv({ procsFiles: ['relative'], uid: 1000, gid: 1000, stage, bwrapArgs: [] }));
    assert.throws(() => buildLaunchArgv({ procsFiles: [], uid: 1000, gid: 1000, stage: { ...stage, home: ['-o', '/s/home'] }, bwrapArgs: [] }));
  });

  it('the cgroup script writes its own pid to every file before exec, and exits 125 if it cannot', async () => {
    const run = promisify(execFile);
    const dir = await mkdtemp('/tmp/eucp-enter-test-');
    try {
      const { stdout } = await run('/bin/sh', ['-c', CGROUP_ENTER_SCRIPT, 'x', `${dir}/a`, `${dir}/b`, '--', '/bin/sh', '-c', 'echo $$', 'it has; spaces']);
      const pid = stdout.trim();
      assert.equal((await readFile(`${dir}/a`, 'utf8')).trim(), pid, 'same pid: exec, not fork');
      assert.equal((await readFile(`${dir}/b`, 'utf8')).trim(), pid);
      await assert.rejects(run('/bin/sh', ['-c', CGROUP_ENTER_SCRIPT, 'x', `${dir}/missing/c`, '--', '/bin/true']), (e: { code?: number }) => e.code === 125);
      await assert.rejects(run('/bin/sh', ['-c', CGROUP_ENTER_SCRIPT, 'x', `${dir}/a`]), (e: { code?: number }) => e.code === 125);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the staging script binds every pair (directories and files) in its own mount namespace only, and exits 126 if it cannot', async () => {
    const run = promisify(execFile);
    const dir = await mkdtemp('/tmp/eucp-stage-test-');
    try {
      for (const d of ['home', 'data', 'mnt-home', 'mnt-data']) await mkdir(path.join(dir, d));
      await writeFile(path.join(dir, 'home', 'h.txt'), 'home');
      await writeFile(path.join(dir, 'data', 'd.txt'), 'data');
      await writeFile(path.join(dir, 'code.json'), 'code-file');
      await writeFile(path.join(dir, 'mnt-code'), '');
      const stageArgs = [path.join(dir, 'home'), path.join(dir, 'mnt-home'), path.join(dir, 'data'), path.join(dir, 'mnt-data'), path.join(dir, 'code.json'), path.join(dir, 'mnt-code')];
      const { stdout } = await run('/usr/bin/unshare', ['--mount', '--propagation', 'private', '--', '/bin/sh', '-c', STAGE_SCRIPT, 'x', ...stageArgs, '--', '/bin/sh', '-c', 'ls "$1" "$2"; cat "$3"', 'sh', path.join(dir, 'mnt-home'), path.join(dir, 'mnt-data'), path.join(dir, 'mnt-code')]);
      assert.match(stdout, /h\.txt/);
      assert.match(stdout, /d\.txt/);
      assert.match(stdout, /code-file/);
      assert.deepEqual(await readdir(path.join(dir, 'mnt-home')), [], 'not visible outside the namespace');
      const missing = [path.join(dir, 'nope'), ...stageArgs.slice(1)];
      await assert.rejects(run('/usr/bin/unshare', ['--mount', '--', '/bin/sh', '-c', STAGE_SCRIPT, 'x', ...missing, '--', '/bin/true']), (e: { code?: number }) => e.code === 126);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('dataBindArgs (a sandbox with only some data sets)', () => {
  it('binds the whole data directory when no paths are given', () => {
    assert.deepEqual(dataBindArgs('/stage/data', undefined), ['--ro-bind', '/stage/data', '/data']);
    assert.deepEqual(dataBindArgs('/stage/data', null), ['--ro-bind', '/stage/data', '/data']);
    const args = buildBwrapArgs(layout);
    assert.deepEqual(triples(args, '--ro-bind').filter(([, d]) => d === '/data'), [['/srv/climate-data', '/data']]);
  });

  it('makes /data a directory of the root holding only the listed paths, each read-only, before the root turns read-only', () => {
    const args = buildBwrapArgs({ ...layout, dataPaths: ['cordex/out/tas/v1', 'CMIP6', 'cv.json'] });
    assert.ok(!triples(args, '--ro-bind').some(([, d]) => d === '/data'));
    const dir = args.indexOf('/data');
    assert.equal(args[dir - 1], '--dir');
    const binds: string[][] = [];
    args.forEach((a, i) => { if (a === '--ro-bind-try') binds.push(args.slice(i + 1, i + 3)); });
    assert.deepEqual(binds, [
      ['/srv/climate-data/CMIP6', '/data/CMIP6'],
      ['/srv/climate-data/cordex/out/tas/v1', '/data/cordex/out/tas/v1'],
      ['/srv/climate-data/cv.json', '/data/cv.json'],
    ]);
    const lastBind = args.lastIndexOf('--ro-bind-try');
    assert.ok(dir < lastBind && lastBind < args.indexOf('--remount-ro'));
  });

  it('an empty list gives an empty /data', () => {
    assert.deepEqual(dataBindArgs('/s', []), ['--dir', '/data']);
  });

  it('refuses absolute, climbing, empty-segment and nested paths', () => {
    for (const bad of [['/etc'], ['../etc'], ['a/../../etc'], ['a//b'], [''], ['.'], ['a', 'a/b'], ['a/b', 'a']]) {
      assert.throws(() => dataBindArgs('/s', bad), (e: unknown) => isAppError(e) && e.code === 'SPAWN_FAILED', JSON.stringify(bad));
    }
    assert.doesNotThrow(() => dataBindArgs('/s', ['a', 'a-b/c', 'ab']));
  });
});

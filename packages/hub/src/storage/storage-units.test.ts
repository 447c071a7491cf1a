/** The pure parts of storage: btrfs output, mountinfo, sizes, warnings, workspace group names, ACL bytes, sandbox binds. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAppError } from '@eucp/core';
import { parseQgroupShow } from './btrfs.js';
import { parseMountInfo } from './mounts.js';
import { parseSize } from './sizes.js';
import { warningFor } from './service.js';
import { configSchema } from '../config/schema.js';
import { homeRootOf } from '../config/load.js';
import { storagePoolFor } from './open.js';
import pino from 'pino';
import { groupWritableDefaultAcl, workspaceGroupName } from '../spawners/local-sandbox/unix-groups.js';
import { buildBwrapArgs, buildLaunchArgv } from '../spawners/local-sandbox/bwrap-args.js';

const GiB = 1024 ** 3;

describe('storage: parsing what btrfs and the kernel print', () => {
  it('reads referenced bytes, limits, parents and paths of `btrfs qgroup show --raw -r -e -p` (btrfs-progs 6.2)', () => {
    const text = [
      'Qgroupid    Referenced    Exclusive  Max referenced  Max exclusive Parent     Path ',
      '--------    ----------    ---------  --------------  ------------- ------     ---- ',
      '0/5              16384        16384            none           none -          <toplevel>',
      '0/256          8404992      8404992            none           none 1/256      home/alice',
      '0/257            16384        16384            none           none 1/256      derived/alice',
      '0/258            16384        16384        52428800           none -          groups/climate',
      '1/256          8421376      8421376        20971520           none -          <0 member qgroups>',
    ].join('\n');
    const q = parseQgroupShow(text);
    assert.equal(q.size, 5);
    assert.deepEqual(q.get('0/256'), { id: '0/256', referencedBytes: 8404992, exclusiveBytes: 8404992, maxReferencedBytes: null, parents: ['1/256'], path: 'home/alice' });
    assert.equal(q.get('0/258')!.maxReferencedBytes, 52428800);
    assert.equal(q.get('1/256')!.path, '');
    assert.equal(q.get('1/256')!.maxReferencedBytes, 20971520);
  });

  it('reads mount points, filesystem types, sources and shared propagation of /proc/self/mountinfo, with escaped spaces', () => {
    const m = parseMountInfo([
      '46 27 0:40 / /tmp/bt/mnt rw,relatime - btrfs /dev/loop0 rw,discard=async,space_cache=v2,subvolid=5,subvol=/',
      '47 27 0:41 /@data /srv/my\\040data rw shared:5 - btrfs /dev/vdb rw',
    ].join('\n'));
    assert.deepEqual(m, [
      { root: '/', mountPoint: '/tmp/bt/mnt', fsType: 'btrfs', source: '/dev/loop0', shared: false },
      { root: '/@data', mountPoint: '/srv/my data', fsType: 'btrfs', source: '/dev/vdb', shared: true },
    ]);
  });

  it('parses sizes with binary units and refuses anything else', () => {
    assert.equal(parseSize('10G'), 10 * GiB);
    assert.equal(parseSize('8GiB'), 8 * GiB);
    assert.equal(parseSize('500m'), 500 * 1024 ** 2);
    assert.equal(parseSize('1.5T'), 1.5 * 1024 ** 4);
    assert.equal(parseSize(4096), 4096);
    assert.equal(parseSize('123'), 123);
    for (const bad of ['', 'ten', '-1G', '0', '1X', 0, -5, 1.5]) {
      assert.throws(() => parseSize(bad as string, 'hard'), (e: unknown) => isAppError(e) && e.code === 'INVALID_INPUT' && /"hard"/.test(e.message));
    }
  });
});

describe('storage: warnings and configuration', () => {
  it('warns from the soft limit on, and says "full" at the hard limit', () => {
    const q = { softBytes: 8 * GiB, hardBytes: 10 * GiB };
    assert.equal(warningFor(7 * GiB, q, 'Your storage'), null);
    assert.match(warningFor(8 * GiB, q, 'Your storage')!, /above the soft limit of 8 GiB \(writes fail at 10 GiB\)/);
    assert.match(warningFor(10 * GiB, q, 'Your storage')!, /full: 10 GiB of its 10 GiB limit.*Disk quota exceeded/);
    assert.equal(warningFor(null, q, 'x'), null, 'no figure (plain storage): no warning');
    assert.equal(warningFor(100 * GiB, { softBytes: null, hardBytes: null }, 'x'), null);
  });

  it('puts homes into the pool unless storage is plain, where spawner.homeRoot still applies', () => {
    const btrfs = configSchema.parse({ stateDir: '/srv/eucp' });
    assert.equal(btrfs.storage.backend, 'btrfs-loop', 'the default for `npm start`');
    assert.equal(homeRootOf(btrfs), '/srv/eucp/storage/home');
    const plain = configSchema.parse({ stateDir: '/srv/eucp', storage: { backend: 'plain' } });
    assert.equal(homeRootOf(plain), '/srv/eucp/home');
    const custom = configSchema.parse({ stateDir: '/srv/eucp', storage: { backend: 'plain' }, spawner: { homeRoot: '/home/eucp' } });
    assert.equal(homeRootOf(custom), '/home/eucp');
  });

  it('refuses spawner.homeRoot with btrfs storage, and btrfs without a path, naming the key', () => {
    const log = pino({ level: 'silent' });
    const withHomeRoot = configSchema.parse({ stateDir: '/srv/eucp', spawner: { homeRoot: '/home/eucp' } });
    assert.throws(() => storagePoolFor(withHomeRoot, log), (e: unknown) => isAppError(e) && e.code === 'CONFIG_INVALID' && /storage\.backend = "plain"/.test(e.message));
    const noPath = configSchema.parse({ stateDir: '/srv/eucp', storage: { backend: 'btrfs' } });
    assert.throws(() => storagePoolFor(noPath, log), (e: unknown) => isAppError(e) && e.code === 'CONFIG_INVALID' && /storage\.path/.test(e.message));
  });
});

describe('storage in the sandbox: names, ACLs and binds', () => {
  it('names workspace groups <prefix>ws.<group>, at most 32 characters, distinct for long names', () => {
    assert.equal(workspaceGroupName('eucp-', 'climate'), 'eucp-ws.climate');
    const a = workspaceGroupName('eucp-', 'a-very-long-project-group-name-1');
    const b = workspaceGroupName('eucp-', 'a-very-long-project-group-name-2');
    assert.ok(a.length <= 32 && b.length <= 32, `${a} ${b}`);
    assert.notEqual(a, b);
    assert.ok(a.startsWith('eucp-ws.a-very'), a);
  });

  it('encodes the default ACL u::rwx,g::rwx,o::--- as the kernel reads it', () => {
    assert.equal(groupWritableDefaultAcl().toString('hex'), '02000000' + '01000700ffffffff' + '04000700ffffffff' + '20000000ffffffff');
  });

  it('binds /derived and each group workspace read-write, staged like the home', () => {
    const args = buildBwrapArgs({
      unixName: 'eucp-alice', hostHome: '/run/s/home', dataDir: '/run/s/data', hostRoot: [], argv: ['/bin/true'],
      readWriteBinds: [{ source: '/run/s/storage/derived', target: '/derived' }, { source: '/run/s/storage/g0', target: '/groups/climate' }],
    });
    const at = (i: number): string[] => args.slice(i, i + 3);
    assert.deepEqual(at(args.indexOf('/derived') - 2), ['--bind', '/run/s/storage/derived', '/derived']);
    assert.deepEqual(at(args.indexOf('/groups/climate') - 2), ['--bind', '/run/s/storage/g0', '/groups/climate']);
    assert.ok(args.indexOf('/groups/climate') < args.indexOf('--remount-ro'), 'bound before the root turns read-only');
    const argv = buildLaunchArgv({
      procsFiles: ['/sys/fs/cgroup/x/cgroup.procs'], uid: 1001, gid: 1001, bwrapArgs: args,
      stage: { home: ['/h', '/run/s/home'], data: ['/d', '/run/s/data'], storage: [['/pool/derived/alice', '/run/s/storage/derived']] },
    });
    const stage = argv.slice(argv.indexOf('eucp-stage-mounts') + 1, argv.indexOf('--', argv.indexOf('eucp-stage-mounts')));
    assert.deepEqual(stage, ['/h', '/run/s/home', '/d', '/run/s/data', '/pool/derived/alice', '/run/s/storage/derived']);
  });
});

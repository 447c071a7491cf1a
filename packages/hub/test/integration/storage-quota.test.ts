/**
 * Quotas the filesystem enforces, with real parts: a hub process on a btrfs-loop pool (a
 * sparse image in its state directory), lab servers in bubblewrap sandboxes, a Python
 * kernel and a terminal inside them. Oracles: the kernel's errno (EDQUOT = 122, "Disk
 * quota exceeded"), what `dd` and `cdo` print, SHA-256 sums of files written before, and
 * the sizes of the files on the host for the usage figure.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { open, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import WebSocket from 'ws';
import { HubProcess } from '@eucp/testing/hub-process';
import type { KernelClient } from '@eucp/testing/kernel-client';
import { api, waitForServer, wsUrl, until, openKernel, runJson } from './helpers.js';

const MiB = 1024 ** 2;
const USER_HARD = 48 * MiB;
const GROUP_SOFT = 4 * MiB;

/** Python: write 1 MiB chunks (unbuffered) to `path` until `limit` MiB or an OSError; prints JSON. */
const fillCode = (file: string, limitMiB: number): string => [
  'import os, json',
  `fd = os.open(${JSON.stringify(file)}, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)`,
  'written, err = 0, None',
  'try:',
  `    for _ in range(${limitMiB}):`,
  '        os.write(fd, os.urandom(1 << 20)); written += 1 << 20',
  '    os.fsync(fd)',
  'except OSError as e:',
  '    err = {"errno": e.errno, "strerror": e.strerror}',
  'finally:',
  '    os.close(fd)',
  'print(json.dumps({"written": written, "error": err}))',
].join('\n');

/** Python: the SHA-256 of files, as JSON. */
const sumsCode = (files: string[]): string => [
  'import hashlib, json',
  `print(json.dumps({f: hashlib.sha256(open(f, "rb").read()).hexdigest() for f in ${JSON.stringify(files)}}))`,
].join('\n');

/** A terminal of the user's lab server: send a command line, wait for a marker in the output. */
class Terminal {
  screen = '';
  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (m) => {
      const [kind, data] = JSON.parse(String(m)) as [string, string];
      if (kind === 'stdout') this.screen += data;
    });
  }
  static async open(base: string, user: string, token: string): Promise<Terminal> {
    const created = await fetch(`${base}/user/${user}/api/terminals`, { method: 'POST', headers: { authorization: `token ${token}` } });
    assert.equal(created.status, 200, await created.clone().text());
    const { name } = (await created.json()) as { name: string };
    const ws = new WebSocket(wsUrl(base, `/user/${user}/terminals/websocket/${name}`), { headers: { authorization: `token ${token}` } });
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    return new Terminal(ws);
  }
  /** Runs a command line and resolves the output between its start and `__done_<n>__`. */
  async run(line: string): Promise<string> {
    const marker = `__done_${Math.random().toString(36).slice(2)}__`;
    const from = this.screen.length;
    this.ws.send(JSON.stringify(['stdin', `${line}; echo ${marker.slice(0, 7)}""${marker.slice(7)}\r`]));
    await until(`terminal: ${line}`, async () => this.screen.slice(from).includes(marker), 120_000);
    return this.screen.slice(from, this.screen.indexOf(marker, from));
  }
  close(): void { this.ws.close(); }
}

describe('quotas the filesystem enforces, inside real sandboxes', { timeout: 900_000, concurrency: false }, () => {
  let hub: HubProcess;
  const tokens: Record<string, string> = {};
  let admin = '';
  const kernels: Record<string, KernelClient> = {};

  before(async () => {
    hub = await HubProcess.start({
      toml: [
        '[culler]', 'enabled = false',
        '[spawner.users.dave]', 'server = "singleuser"',
        '[storage]', 'backend = "btrfs-loop"', `imageSizeBytes = ${2 * 1024 ** 3}`, 'usageMaxAgeMs = 500',
        '[storage.userQuota]', `softBytes = ${32 * MiB}`, `hardBytes = ${USER_HARD}`,
        '[storage.groupQuota]', `softBytes = ${GROUP_SOFT}`, `hardBytes = ${64 * MiB}`,
      ].join('\n'),
    });
    admin = await hub.adminToken();
    for (const u of ['alice', 'bob', 'carol', 'dave']) {
      await hub.cli(['user', 'add', u]);
      tokens[u] = (await hub.cli(['token', 'issue', u])).trim();
    }
    await hub.cli(['group', 'add', 'climate']);
    await hub.cli(['group', 'members', 'climate', '--add', 'alice,bob']);
  });

  after(async () => {
    for (const k of Object.values(kernels)) k.close();
    await hub?.destroy();
  });

  async function start(user: string): Promise<void> {
    const res = await api(hub.url, tokens[user]!, 'POST', `/hub/api/users/${user}/server`);
    assert.ok(res.status === 201 || res.status === 202, `${res.status} ${await res.text()}`);
    await waitForServer(hub.url, user, tokens[user]!);
  }

  async function stop(user: string): Promise<void> {
    kernels[user]?.close();
    delete kernels[user];
    const res = await api(hub.url, tokens[user]!, 'DELETE', `/hub/api/users/${user}/server`);
    assert.ok(res.status === 204 || res.status === 202, String(res.status));
    await until(`${user}'s server to stop`, async () => {
      const s = (await (await api(hub.url, admin, 'GET', `/hub/api/users/${user}`)).json()) as { servers: Record<string, unknown> };
      return Object.keys(s.servers).length === 0;
    });
  }

  async function kernel(user: string): Promise<KernelClient> {
    if (kernels[user]) return kernels[user];
    const k = (await openKernel(hub.url, user, tokens[user]!)).kernel;
    kernels[user] = k;
    return k;
  }

  const py = async <T,>(user: string, code: string): Promise<T> => runJson<T>(await kernel(user), code);

  interface StorageView {
    enforced: boolean; measured_at: string;
    user: { used_bytes: number; soft_bytes: number; hard_bytes: number; warning: string | null; areas: Array<{ name: string; path: string; used_bytes: number }> };
    groups: Array<{ name: string; path: string; used_bytes: number; soft_bytes: number; warning: string | null }>;
  }
  /** The user's storage as the API reports it, measured after `since` (ms). */
  async function storageOf(user: string, since: number): Promise<StorageView> {
    return until(`usage of ${user} measured after ${since}`, async () => {
      const res = await api(hub.url, tokens[user]!, 'GET', '/hub/api/eucp/storage');
      assert.equal(res.status, 200);
      const v = (await res.json()) as StorageView;
      return Date.parse(v.measured_at) > since ? v : null;
    });
  }

  const home = (user: string): string => `/home/${hub.unixUserPrefix}${user}`;

  it('a sandbox has its home, /derived and the workspaces of its groups, writable', async () => {
    await start('alice');
    const seen = await py<{ derived: boolean; groups: string[]; cwd: string }>('alice', [
      'import os, json',
      'open("/derived/hello.txt", "w").write("derived\\n")',
      'open("/groups/climate/from-alice.txt", "w").write("alice\\n")',
      'print(json.dumps({"derived": os.path.exists("/derived/hello.txt"), "groups": sorted(os.listdir("/groups")), "cwd": os.getcwd()}))',
    ].join('\n'));
    assert.deepEqual(seen, { derived: true, groups: ['climate'], cwd: home('alice') });
  });

  it('a kernel writing past the hard limit gets OSError EDQUOT "Disk quota exceeded"; earlier files are intact', async () => {
    const kept = await py<{ written: number; error: null }>('alice', fillCode('keep.bin', 4));
    assert.equal(kept.error, null);
    const before = await py<Record<string, string>>('alice', sumsCode(['keep.bin', '/derived/hello.txt']));
    const r = await py<{ written: number; error: { errno: number; strerror: string } | null }>('alice', fillCode('big.bin', 80));
    assert.deepEqual(r.error, { errno: 122, strerror: 'Disk quota exceeded' });
    assert.ok(r.written < USER_HARD && r.written > USER_HARD - 16 * MiB, `${r.written} bytes written`);
    assert.deepEqual(await py<Record<string, string>>('alice', sumsCode(['keep.bin', '/derived/hello.txt'])), before);
    // The same bytes seen from the host, where the hub keeps them.
    const host = path.join(hub.stateDir, 'storage', 'home', 'alice', 'keep.bin');
    assert.equal(createHash('sha256').update(await readFile(host)).digest('hex'), before['keep.bin']);
  });

  it('a terminal: dd into /derived and cdo fail with "Disk quota exceeded" (home and /derived share the quota)', async () => {
    const t = await Terminal.open(hub.url, 'alice', tokens['alice']!);
    try {
      const dd = await t.run('dd if=/dev/zero of=/derived/dd.bin bs=1M count=20; echo "dd-exit=$?"');
      assert.match(dd, /Disk quota exceeded/);
      assert.match(dd, /dd-exit=1/);
      const cdo = await t.run('cdo -f nc const,1,r720x360 /derived/const.nc; echo "cdo-exit=$?"');
      assert.match(cdo, /Disk quota exceeded/);
      assert.doesNotMatch(cdo, /cdo-exit=0/);
    } finally {
      t.close();
    }
  });

  it('the API reports usage matching the files on disk, against the limits, with a warning', async () => {
    const since = Date.now();
    const v = await storageOf('alice', since);
    let onDisk = 0;
    for (const dir of [path.join(hub.stateDir, 'storage', 'home', 'alice'), path.join(hub.stateDir, 'storage', 'derived', 'alice')]) {
      for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
        if (e.isFile()) onDisk += (await stat(path.join(e.parentPath, e.name))).size;
      }
    }
    assert.equal(v.enforced, true);
    assert.equal(v.user.hard_bytes, USER_HARD);
    // btrfs counts whole 4 KiB blocks and some metadata: within 2 MiB of the files' sizes.
    assert.ok(Math.abs(v.user.used_bytes - onDisk) < 2 * MiB, `API ${v.user.used_bytes} vs files ${onDisk}`);
    const areas = Object.fromEntries(v.user.areas.map((a) => [a.name, a]));
    assert.equal(areas['home']!.path, home('alice'));
    assert.equal(areas['derived']!.path, '/derived');
    assert.match(v.user.warning ?? '', /full/);
  });

  it('a hard limit below current usage is refused with the usage, nothing changed', async () => {
    const res = await api(hub.url, admin, 'PUT', '/hub/api/eucp/storage/quotas/users/alice', { hard: '16M' });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { message: string };
    assert.match(body.message, /below what is already stored.*uses \d+(\.\d)? MiB/);
    const now = (await (await api(hub.url, admin, 'GET', '/hub/api/eucp/storage/users/alice')).json()) as { hard_bytes: number; hard_source: string };
    assert.deepEqual({ hard: now.hard_bytes, source: now.hard_source }, { hard: USER_HARD, source: 'default' });
    const other = await api(hub.url, tokens['bob']!, 'PUT', '/hub/api/eucp/storage/quotas/users/alice', { hard: '1G' });
    assert.ok(other.status === 403 || other.status === 404, `a user cannot change quotas: ${other.status}`);
  });

  it('at the hard limit the server restarts, and rm frees space at once', async () => {
    await stop('alice');
    await start('alice');
    const t = await Terminal.open(hub.url, 'alice', tokens['alice']!);
    try {
      await t.run('rm big.bin /derived/dd.bin');
      const dd = await t.run('dd if=/dev/zero of=/derived/after.bin bs=1M count=8 2>&1; echo "dd-exit=$?"');
      assert.match(dd, /dd-exit=0/);
    } finally {
      t.close();
    }
    const sums = await py<Record<string, string>>('alice', sumsCode(['keep.bin']));
    assert.match(sums['keep.bin']!, /^[0-9a-f]{64}$/);
  });

  it('`eucp storage quota set` refuses a hard limit below usage, and a raised limit lets writes succeed at once', async () => {
    await assert.rejects(hub.cli(['storage', 'quota', 'set', '--user', 'alice', '--hard', '4M']), /below what is already stored.*uses \d+/);
    const out = await hub.cli(['storage', 'quota', 'set', '--user', 'alice', '--soft', '80M', '--hard', '100M']);
    assert.match(out, /user alice\s+[\d.]+ MiB\s+80 MiB\s+100 MiB/);
    const r = await py<{ written: number; error: unknown }>('alice', fillCode('more.bin', 45));
    assert.deepEqual(r, { written: 45 * MiB, error: null }, 'more than the old 48 MiB limit in all');
  });

  it('group workspace: members read and change each other\'s files; crossing the soft limit warns them', async () => {
    await start('bob');
    const bob = await py<{ text: string; groups: string[] }>('bob', [
      'import os, json',
      'open("/groups/climate/from-alice.txt", "a").write("bob\\n")',
      `with open("/groups/climate/bulk.bin", "wb") as f: f.write(os.urandom(${GROUP_SOFT + 2 * MiB}))`,
      'print(json.dumps({"text": open("/groups/climate/from-alice.txt").read(), "groups": os.listdir("/groups")}))',
    ].join('\n'));
    assert.deepEqual(bob, { text: 'alice\nbob\n', groups: ['climate'] });
    const since = Date.now();
    const v = await storageOf('bob', since);
    const g = v.groups.find((x) => x.name === 'climate')!;
    assert.equal(g.path, '/groups/climate');
    assert.ok(g.used_bytes > GROUP_SOFT, String(g.used_bytes));
    assert.match(g.warning ?? '', /above the soft limit/);
    // Both members are notified once.
    for (const u of ['alice', 'bob']) {
      await until(`${u}'s soft-limit notification`, async () => {
        const n = (await (await api(hub.url, tokens[u]!, 'GET', '/hub/api/eucp/notifications')).json()) as { notifications: Array<{ kind: string; title: string }> };
        return n.notifications.some((x) => x.kind === 'storage.soft-limit' && /climate/.test(x.title));
      });
    }
  });

  it('jupyterhub-singleuser starts with the home at its hard limit, and deleting through the contents API frees space', async () => {
    // A first start creates what the server keeps in the home (~/.ipython, ~/.jupyter), as a user's first log-in does.
    await start('dave');
    await stop('dave');
    const set = await api(hub.url, admin, 'PUT', '/hub/api/eucp/storage/quotas/users/dave', { soft: '16M', hard: '24M' });
    assert.equal(set.status, 200, await set.text());
    const file = path.join(hub.stateDir, 'storage', 'home', 'dave', 'fill.bin');
    let refused = false;
    const fh = await open(file, 'w');
    try {
      for (let i = 0; i < 64 && !refused; i++) {
        await fh.write(Buffer.alloc(MiB, i)).catch((err: NodeJS.ErrnoException) => { refused = err.errno === -122; if (!refused) throw err; });
      }
    } finally {
      await fh.close().catch(() => undefined);
    }
    assert.ok(refused, 'the home is at its hard limit');
    await start('dave');
    // The start grace is over once the server answers: the home is full again.
    await assert.rejects(writeFile(path.join(hub.stateDir, 'storage', 'home', 'dave', 'more.bin'), Buffer.alloc(4 * MiB)), (e: NodeJS.ErrnoException) => e.errno === -122);
    const del = await fetch(`${hub.url}/user/dave/api/contents/fill.bin`, { method: 'DELETE', headers: { authorization: `token ${tokens['dave']!}` } });
    assert.equal(del.status, 204, await del.text());
    const v = await storageOf('dave', Date.now());
    assert.ok(v.user.used_bytes < 2 * MiB, String(v.user.used_bytes));
    await stop('dave');
  });

  it('a non-member sees no workspace of the group', async () => {
    await start('carol');
    const carol = await py<{ groups: string[] | null; derived: string[] }>('carol', [
      'import os, json',
      'print(json.dumps({"groups": os.listdir("/groups") if os.path.exists("/groups") else None, "derived": os.listdir("/derived")}))',
    ].join('\n'));
    assert.deepEqual(carol, { groups: null, derived: [] });
    const v = await storageOf('carol', 0);
    assert.deepEqual(v.groups, []);
    await stop('carol');
    await stop('bob');
    await stop('alice');
  });
});

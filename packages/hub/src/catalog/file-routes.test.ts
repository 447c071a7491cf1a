/**
 * The hub's data-file endpoint (`/thredds/fileServer/esg_dataroot/<rel>`) on a real hub
 * (createHub, listening on 127.0.0.1:0) over the EUCP-SYN tiny data with its access
 * fixtures: the access oracles through downloads, 404 for what a caller may not list exactly
 * as for a missing file, ranges, HEAD, conditional requests, path traversal and symlinks,
 * the audit of reads and of sandbox mounts, and a Range read from Python.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import http from 'node:http';
import { copyFile, mkdir, mkdtemp, open, readFile, rename, rm, symlink, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import pino from 'pino';
import type { UserName } from '@eucp/core';
import { configSchema } from '@eucp/hub/config/schema';
import { createHub, type Hub } from '@eucp/hub/hub';
import { generateDemoData } from '@eucp/hub/demo-data/index';
import { ECHO_SERVER_PATH, ProcessSpawner } from '@eucp/testing';
import { installHttpBasics } from '@eucp/hub/http/basics';
import { registerIdentityRoutes } from '@eucp/hub/http/identity-routes';
import { sessionFor, userWithToken } from '@eucp/testing/hub-factory';
import { parseRange, registerDataFileRoutes } from './file-routes.js';
import { DataFileIndex, parseDataPath } from './data-files.js';

interface Oracle { user: string | null; resource: string; action: string; decision: string; grantable_by: unknown[] }
interface Expected {
  datasets: Record<string, { project: string; variable_id: string; files: string[] }>;
  files: Record<string, { dataset: string; sha256: string; size: number }>;
  access: Oracle[];
}
interface Res { status: number; headers: http.IncomingHttpHeaders; body: Buffer; json(): any }

const PREFIX = '/thredds/fileServer/esg_dataroot/';
const USERS = ['alice', 'bob', 'carol', 'dave', 'erin'] as const;
const CORDEX_PR = 'cordex.output.EUR-44.SYNRCM.SYNLAB-SYN-ESM1-0-LR.historical.r1i1p1.RCM1.v1.mon.pr.v20200101';
const CORDEX_TAS = 'cordex.output.EUR-44.SYNRCM.SYNLAB-SYN-ESM1-0-LR.historical.r1i1p1.RCM1.v1.mon.tas.v20200101';
const OPEN = 'CMIP6.CMIP.SYNLAB.SYN-ESM1-0-LR.historical.r1i1p1f1.Amon.tas.gn.v20190601';

let dir: string;
let dataDir: string;
let hub: Hub;
let port: number;
let expected: Expected;
const as = {} as Record<(typeof USERS)[number], Record<string, string>>;
const ids = {} as Record<(typeof USERS)[number], number>;

/** A raw HTTP request: the path goes on the wire exactly as given (no URL normalisation). */
function request(method: string, rawPath: string, headers: Record<string, string> = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: rawPath, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode!, headers: res.headers, body, json: () => JSON.parse(body.toString('utf8')) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
const fileOf = (dataset: string): string => expected.datasets[dataset]!.files[0]!;
const get = (rel: string, headers: Record<string, string> = {}) => request('GET', PREFIX + rel, headers);
const onDisk = (rel: string) => readFile(path.join(dataDir, rel));
const audit = async (q: string) => (await request('GET', `/hub/api/eucp/access/audit?${q}`, as.alice)).json() as Array<Record<string, any>>;
/** Headers that differ between any two responses (time, connection handling). */
const comparable = (h: http.IncomingHttpHeaders) => Object.fromEntries(Object.entries(h).filter(([k]) => !['date', 'connection', 'keep-alive'].includes(k)));

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'eucp-file-routes-'));
  dataDir = path.join(dir, 'data');
  await generateDemoData({ profile: 'tiny', outDir: dataDir });
  expected = JSON.parse(await readFile(path.join(dataDir, 'expected.json'), 'utf8')) as Expected;
  const config = configSchema.parse({
    port: 0, stateDir: dir, dataDir, culler: { enabled: false }, access: { importFixtureUsers: true }, catalog: { rescanIntervalMs: 0 },
    // No /shared mounts: this test is about data files, and bob's start must leave nothing mounted.
    sharing: { enabled: false },
    spawner: { cmd: ['/usr/bin/python3', ECHO_SERVER_PATH], startTimeoutMs: 15_000, pollIntervalMs: 200 },
  });
  hub = await createHub({ config, log: pino({ level: 'silent' }), spawner: new ProcessSpawner() });
  port = Number(new URL(await hub.listen()).port);
  await hub.ctx.catalog.scan();
  for (const name of USERS) {
    const t = await userWithToken(hub.ctx, name);
    as[name] = t.headers;
    ids[name] = t.user.id;
  }
});

after(async () => {
  await hub?.ctx.servers.stop('bob' as UserName).catch(() => {});
  await hub?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('data files: the access oracles through downloads', () => {
  it('answers every EUCP-SYN Read oracle: Permit → the file, Challenge → 401, Deny → 403 naming the groups', async () => {
    const reads = expected.access.filter((o) => o.action === 'Read');
    assert.ok(reads.length >= 25);
    for (const o of reads) {
      const label = `${o.user ?? 'anonymous'} ${o.resource}`;
      const rel = fileOf(o.resource);
      const res = await get(rel, o.user ? as[o.user as 'bob'] : {});
      if (o.decision === 'Permit') {
        assert.equal(res.status, 200, label);
        assert.ok(res.body.equals(await onDisk(rel)), label);
        continue;
      }
      const body = res.json();
      const page = `http://127.0.0.1:${port}/hub/catalog/dataset/${encodeURIComponent(o.resource)}`;
      assert.equal(body.request_url, page, label);
      if (o.decision === 'Challenge') {
        assert.equal(res.status, 401, label);
        assert.equal(body.code, 'DATA_LOGIN_REQUIRED');
        assert.match(body.message, /log in, or send an API token/);
        assert.match(String(res.headers['www-authenticate']), /^Bearer /);
      } else {
        assert.equal(res.status, 403, label);
        assert.equal(body.code, 'DATA_ACCESS_DENIED');
        assert.deepEqual(body.groups, o.grantable_by, label);
        for (const g of o.grantable_by as Array<{ group: string }>) assert.ok(body.message.includes(`"${g.group}"`), `${label}: ${body.message}`);
        assert.ok(body.message.includes(page), label);
      }
    }
  });

  it('bob cannot download a CORDEX file; erin reads tas but not pr; dave is told his request is pending', async () => {
    assert.equal((await get(fileOf(CORDEX_TAS), as.bob)).status, 403);
    assert.equal((await get(fileOf(CORDEX_TAS), as.erin)).status, 200);
    const pr = await get(fileOf(CORDEX_PR), as.erin);
    assert.equal(pr.status, 403);
    assert.match(pr.json().message, /erin may not read .*"CORDEX Research"/);
    assert.match((await get(fileOf(CORDEX_PR), as.dave)).json().message, /your request for "CORDEX Research" is pending/);
    // alice administers CORDEX Research (group admins read what its users read).
    assert.equal((await get(fileOf(CORDEX_PR), as.alice)).status, 200);
  });

  it('a browser session works like a token; a token that may not act as its user reads only open data', async () => {
    const s = await sessionFor(hub.ctx, ids.carol);
    assert.equal((await get(fileOf(CORDEX_PR), { cookie: s.cookie })).status, 200);
    const { headers } = await userWithToken(hub.ctx, 'carol', { scopes: ['access:servers!user=carol'] });
    assert.equal((await get(fileOf(OPEN), headers)).status, 200);
    const denied = await get(fileOf(CORDEX_PR), headers);
    assert.equal(denied.status, 403);
    assert.match(denied.json().message, /may not read data as carol: .*inherit/);
    assert.equal((await get(fileOf(CORDEX_PR), { authorization: 'token not-a-token' })).status, 401);
  });
});

describe('data files: what a caller may not list does not exist', () => {
  it('answers a hidden data set\'s file exactly like a missing one (status, headers, body)', async () => {
    const actor = { id: ids.alice, name: 'alice' as UserName, hubAdmin: true };
    const g = await hub.ctx.access.getGroup('CORDEX Research', actor);
    const upsert = (visible: boolean) => hub.ctx.access.upsertGroup({
      name: g.name, description: g.description, grants: g.grants, visible, automaticApproval: g.automaticApproval, licenceId: g.licenceId, licenceText: g.licenceText,
    });
    await upsert(false);
    try {
      const missing = fileOf(CORDEX_PR).replace(/[^/]+$/, 'pr_EUR-44_none_historical_r1i1p1_RCM1_v1_mon_200501-200612.nc');
      for (const who of [as.bob, {}]) {
        const hidden = await get(fileOf(CORDEX_PR), who);
        const absent = await get(missing, who);
        assert.equal(hidden.status, 404);
        assert.equal(absent.status, 404);
        assert.deepEqual(comparable(hidden.headers), comparable(absent.headers));
        assert.ok(hidden.body.equals(absent.body));
        assert.equal(hidden.json().code, 'NOT_FOUND');
      }
      // Still listable where a visible group grants it (CORDEX Commercial: tas), and readable by members.
      assert.equal((await get(fileOf(CORDEX_TAS), as.bob)).status, 403);
      assert.equal((await get(fileOf(CORDEX_PR), as.carol)).status, 200);
    } finally {
      await upsert(true);
    }
  });

  it('serves only files the catalog indexed: a new file on disk, or other files of the data directory, are 404', async () => {
    const rel = fileOf(OPEN);
    const unindexed = path.posix.join(path.posix.dirname(rel), 'tas_Amon_SYN-ESM1-0-LR_historical_r1i1p1f1_gn_199001-199112.nc');
    await copyFile(path.join(dataDir, rel), path.join(dataDir, unindexed));
    try {
      const ref = await get('no/such/file.nc');
      for (const p of [unindexed, 'eucp-syn-cv.json', 'access/policies.xml', 'expected.json', 'errata.json']) {
        const r = await get(p);
        assert.equal(r.status, 404, p);
        assert.ok(r.body.equals(ref.body), p);
      }
    } finally {
      await unlink(path.join(dataDir, unindexed));
    }
  });

  it('refuses traversal: dot segments, encoded slashes and dots, NUL, backslashes, absolute and empty segments', async () => {
    const rel = fileOf(OPEN);
    const ref = await get('no/such/file.nc');
    const attempts = [
      '../../../../etc/passwd', `${rel}/../../../../../../etc/passwd`, '..%2F..%2F..%2Fetc%2Fpasswd', '%2e%2e/%2e%2e/%2e%2e/etc/passwd',
      `CMIP6/%2E%2E/${rel}`, `./${rel}`, `CMIP6/./${rel.slice('CMIP6/'.length)}`, rel.replaceAll('/', '%2F'), rel.replaceAll('/', '%2f'),
      `${rel}%00`, `${rel}%00.nc`, rel.replaceAll('/', '%5C'), rel.replaceAll('/', '\\'), `/${rel}`, `/etc/passwd`, `//etc/passwd`,
      rel.replace('/', '//'), `${rel}/`, `${dataDir.slice(1)}/${rel}`, '%2Fetc%2Fpasswd', '..', '.', '',
    ];
    for (const a of attempts) {
      const r = await get(a);
      assert.equal(r.status, 404, a);
      assert.ok(r.body.equals(ref.body), a);
    }
    for (const bad of ['%zz/x.nc', `${rel}%`]) {
      const r = await get(bad);
      assert.ok(r.status === 400 || r.status === 404, `${bad}: ${r.status}`);
      assert.ok(!r.body.includes(Buffer.from('CDF')), bad);
    }
    // The parser itself, for what no HTTP client sends.
    for (const p of ['a/\u0000/b.nc', 'a/b\u0001.nc', 'a/%00b.nc', 'a\\b.nc']) assert.equal(parseDataPath(p), null, JSON.stringify(p));
    assert.equal(parseDataPath('CMIP6/a%2Bb/c.nc'), 'CMIP6/a+b/c.nc');
  });

  it('refuses a symlink out of the data root, and follows one that stays inside', async () => {
    const rel = fileOf(OPEN);
    const abs = path.join(dataDir, rel);
    const bytes = await onDisk(rel);
    const ref = await get('no/such/file.nc');
    const outside = path.join(dir, 'outside');
    await mkdir(outside, { recursive: true });
    await rename(abs, path.join(outside, 'x.nc'));
    await symlink(path.join(outside, 'x.nc'), abs);
    try {
      const r = await get(rel);
      assert.equal(r.status, 404);
      assert.ok(r.body.equals(ref.body));
      // Inside the root (a dot file the scanner skips): served.
      await unlink(abs);
      await rename(path.join(outside, 'x.nc'), path.join(dataDir, '.moved.nc'));
      await symlink('../'.repeat(rel.split('/').length - 1) + '.moved.nc', abs);
      const ok = await get(rel);
      assert.equal(ok.status, 200);
      assert.ok(ok.body.equals(bytes));
    } finally {
      await unlink(abs).catch(() => {});
      await rename(path.join(dataDir, '.moved.nc'), abs).catch(() => {});
      await rename(path.join(outside, 'x.nc'), abs).catch(() => {});
    }
    assert.ok((await onDisk(rel)).equals(bytes));
  });
});

describe('data files: HTTP semantics', () => {
  it('sends the file with its type, length, validators and Accept-Ranges; HEAD sends the headers only', async () => {
    const rel = fileOf(OPEN);
    const bytes = await onDisk(rel);
    const r = await get(rel);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/netcdf');
    assert.equal(r.headers['content-length'], String(bytes.length));
    assert.equal(r.headers['accept-ranges'], 'bytes');
    assert.match(String(r.headers.etag), /^"[0-9a-f-]+"$/);
    assert.ok(Number.isFinite(Date.parse(String(r.headers['last-modified']))));
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    const h = await request('HEAD', PREFIX + rel);
    assert.equal(h.status, 200);
    assert.equal(h.body.length, 0);
    for (const k of ['content-type', 'content-length', 'etag', 'last-modified', 'accept-ranges']) assert.equal(h.headers[k], r.headers[k], k);
    assert.equal((await request('HEAD', PREFIX + fileOf(CORDEX_PR))).status, 401);
    const n304 = await get(rel, { 'if-none-match': String(r.headers.etag) });
    assert.equal(n304.status, 304);
    assert.equal(n304.body.length, 0);
    assert.equal((await get(rel, { 'if-modified-since': String(r.headers['last-modified']) })).status, 304);
  });

  it('serves single byte ranges (206), answers 416 outside the file, and sends everything for what it does not honour', async () => {
    const rel = fileOf(CORDEX_PR);
    const bytes = await onDisk(rel);
    const size = bytes.length;
    const cases: Array<[string, number, number]> = [['bytes=100-199', 100, 199], ['bytes=0-0', 0, 0], [`bytes=${size - 10}-`, size - 10, size - 1], ['bytes=-64', size - 64, size - 1], [`bytes=5-${size + 1000}`, 5, size - 1]];
    for (const [range, start, end] of cases) {
      const r = await get(rel, { ...as.carol, range });
      assert.equal(r.status, 206, range);
      assert.equal(r.headers['content-range'], `bytes ${start}-${end}/${size}`, range);
      assert.equal(r.headers['content-length'], String(end - start + 1), range);
      assert.ok(r.body.equals(bytes.subarray(start, end + 1)), range);
    }
    for (const range of [`bytes=${size}-`, `bytes=${size + 5}-${size + 9}`, 'bytes=-0']) {
      const r = await get(rel, { ...as.carol, range });
      assert.equal(r.status, 416, range);
      assert.equal(r.headers['content-range'], `bytes */${size}`);
      assert.equal(r.json().code, 'RANGE_NOT_SATISFIABLE');
    }
    for (const range of ['bytes=0-9,20-29', 'items=0-9', 'bytes=9-3', 'bytes=abc']) {
      const r = await get(rel, { ...as.carol, range });
      assert.equal(r.status, 200, range);
      assert.ok(r.body.equals(bytes), range);
    }
    const etag = String((await request('HEAD', PREFIX + rel, as.carol)).headers.etag);
    assert.equal((await get(rel, { ...as.carol, range: 'bytes=0-9', 'if-range': etag })).status, 206);
    assert.equal((await get(rel, { ...as.carol, range: 'bytes=0-9', 'if-range': '"another-version"' })).status, 200);
    // A refusal does not depend on the range.
    assert.equal((await get(rel, { ...as.erin, range: 'bytes=0-9' })).status, 403);
    assert.deepEqual(parseRange('bytes=-5', 0), 'unsatisfiable');
    assert.equal(parseRange(undefined, 10), null);
  });
});

describe('data files: the audit of reads', () => {
  it('records every whole-file GET and the first byte-range GET of a file per window (user, data set, file, bytes, via http); not HEAD, 304 or refusals', async () => {
    const rel = fileOf(CORDEX_TAS);
    const size = (await onDisk(rel)).length;
    const before = (await audit('action=read&limit=500')).length;
    await get(rel, as.carol);
    await get(rel, { ...as.carol, range: 'bytes=10-19' });
    assert.equal((await get(rel, { ...as.carol, range: 'bytes=20-29' })).status, 206);
    const etag = String((await request('HEAD', PREFIX + rel, as.carol)).headers.etag);
    await get(rel, { ...as.carol, 'if-none-match': etag });
    assert.equal((await get(rel, as.bob)).status, 403);
    await get(fileOf(OPEN));
    const rows = await audit('action=read&limit=500');
    assert.equal(rows.length - before, 3);
    const [anon, ranged, full] = rows;
    assert.equal(full!.actor, 'carol');
    assert.equal(full!.subject, 'carol');
    assert.equal(full!.resource, CORDEX_TAS);
    assert.deepEqual({ ...full!.details, groups: undefined }, { via: 'http', file: rel, bytes: size, groups: undefined });
    assert.equal(ranged!.details.bytes, 10);
    assert.equal(ranged!.details.range, '10-19');
    assert.equal(anon!.actor, 'anonymous');
    assert.equal(anon!.resource, OPEN);
    // alice administers CORDEX Research: she sees carol's reads of its data in her group's audit.
    const mine = await audit(`group=${encodeURIComponent('CORDEX Research')}&action=read&subject=carol`);
    assert.ok(mine.length >= 2);
  });

  it('records a sandbox start as one mount entry with the number of data sets it shows', async () => {
    assert.equal(await hub.ctx.servers.start('bob' as UserName), 'started');
    const rows = await audit('action=mount&subject=bob');
    assert.equal(rows.length, 1);
    const total = Object.keys(expected.datasets).length;
    const readable = Object.keys(expected.datasets).filter((id) => id.startsWith('CMIP6.')).length;
    assert.deepEqual(rows[0]!.details, { via: 'sandbox', server: '', readable, total, catalog_ready: true });
    await hub.ctx.servers.stop('bob' as UserName);
  });

  it('bob reads CORDEX tas right after CORDEX Commercial approves him automatically, still not pr', async () => {
    const req = await new Promise<number>((resolve, reject) => {
      const body = JSON.stringify({ group: 'CORDEX Commercial', accept_licence: 'cordex-unrestricted-v1' });
      const r = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/hub/api/eucp/access/requests', headers: { ...as.bob, 'content-type': 'application/json' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      });
      r.on('error', reject);
      r.end(body);
    });
    assert.equal(req, 201);
    const r = await get(fileOf(CORDEX_TAS), as.bob);
    assert.equal(r.status, 200);
    assert.ok(r.body.equals(await onDisk(fileOf(CORDEX_TAS))));
    assert.equal((await get(fileOf(CORDEX_PR), as.bob)).status, 403);
  });
});

describe('data files: a large file', () => {
  it('streams 512 MiB without holding it in memory, answering other requests while the client reads slowly', async () => {
    const root = path.join(dir, 'big-root');
    await mkdir(path.join(root, 'big'), { recursive: true });
    const size = 1 << 29;
    const fh = await open(path.join(root, 'big', 'big.nc'), 'w');
    await fh.truncate(size); // sparse: no disk space used
    await fh.close();
    const doc = {
      type: 'File', instance_id: 'CMIP6.BIG.v1.big.nc', dataset_id: 'CMIP6.BIG.v1|node', size,
      url: ['https://node/thredds/fileServer/esg_dataroot/big/big.nc|application/netcdf|HTTPServer'],
    };
    const app = Fastify({ loggerInstance: hub.ctx.log as unknown as FastifyBaseLogger });
    await installHttpBasics(app, hub.ctx);
    await registerIdentityRoutes(app, hub.ctx);
    await registerDataFileRoutes(app, hub.ctx, new DataFileIndex({ catalog: { docs: () => ({ datasets: [], files: [doc] }), generation: () => 1 }, roots: [root] }));
    await app.listen({ host: '127.0.0.1', port: 0 });
    const bigPort = (app.server.address() as { port: number }).port;
    try {
      const rssBefore = process.memoryUsage().rss;
      const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
        http.get({ host: '127.0.0.1', port: bigPort, path: `${PREFIX}big/big.nc` }, resolve).on('error', reject);
      });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['content-length'], String(size));
      // The client has not read the body yet: the hub keeps answering.
      res.pause();
      for (let i = 0; i < 5; i++) assert.equal((await get(fileOf(OPEN))).status, 200);
      let received = 0;
      let peakRss = 0;
      await new Promise<void>((resolve, reject) => {
        res.on('data', (c: Buffer) => {
          received += c.length;
          if ((received & 0x3ffffff) < c.length) peakRss = Math.max(peakRss, process.memoryUsage().rss);
        });
        res.on('end', resolve);
        res.on('error', reject);
        res.resume();
      });
      assert.equal(received, size);
      assert.ok(peakRss - rssBefore < 256 * 1024 * 1024, `memory grew by ${Math.round((peakRss - rssBefore) / 1048576)} MiB`);
    } finally {
      await app.close();
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('data files: from Python', () => {
  it('urllib reads a byte range with a token, and the whole file opens with netCDF4/xarray', async () => {
    const rel = fileOf(CORDEX_PR);
    const bytes = await onDisk(rel);
    const url = `http://127.0.0.1:${port}${PREFIX}${rel}`;
    const script = [
      'import sys, urllib.request, netCDF4, xarray',
      'url, auth = sys.argv[1], sys.argv[2]',
      'r = urllib.request.urlopen(urllib.request.Request(url, headers={"Authorization": auth, "Range": "bytes=0-15"}))',
      'print(r.status, r.headers["Content-Range"], r.read().hex())',
      'data = urllib.request.urlopen(urllib.request.Request(url, headers={"Authorization": auth})).read()',
      'ds = xarray.open_dataset(xarray.backends.NetCDF4DataStore(netCDF4.Dataset("mem", memory=data)))',
      'print("pr" in ds.data_vars, ds["pr"].shape[0])',
    ].join('\n');
    const { stdout } = await promisify(execFile)('/usr/bin/python3', ['-c', script, url, as.carol.authorization!], { timeout: 60_000 });
    const [first, second] = stdout.trim().split('\n');
    assert.equal(first, `206 bytes 0-15/${bytes.length} ${bytes.subarray(0, 16).toString('hex')}`);
    assert.match(second!, /^True [1-9]\d*$/);
  });
});

/**
 * Derived data in the catalog (issue 5 §5, §6), in process with real SQLite, the tiny
 * EUCP-SYN data (its access groups and users alice…erin) and small NetCDF files written
 * here: who sees a published derived data set in search and on its page, who gets it at
 * /shared (the share's grants), the licence list, revocation of an input grant, versions,
 * unpublishing, and every refusal leaving nothing changed.
 */
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { generateDemoData } from '@eucp/hub/demo-data/index';
import { encodeNetcdf, ncAttr } from '@eucp/hub/demo-data/netcdf';
import { installHttpBasics } from '@eucp/hub/http/basics';
import { registerIdentityRoutes } from '@eucp/hub/http/identity-routes';
import { GenerationalEsgfIndexProvider } from '@eucp/hub/catalog/esgf-index';
import { registerEsgfSearch } from '@eucp/hub/catalog/esgf-routes';
import { accessVisibilityFilter } from '@eucp/hub/catalog/visibility';
import { createSharing, registerSharingRoutes, type SharingService } from '@eucp/hub/sharing/index';
import { CatalogWithDerived, createDerived, registerDerivedRoutes, type DerivedService } from '@eucp/hub/derived/index';
import { registerAccessRoutes } from '@eucp/hub/access/index';
import { createTestContext, userWithToken, type TestContext } from '@eucp/testing/hub-factory';
import { HubProcess } from '@eucp/testing/hub-process';
import type { KernelClient } from '@eucp/testing/kernel-client';
import { api, waitForServer, openKernel, runJson } from './helpers.js';

const USERS = ['alice', 'bob', 'carol', 'dave', 'erin'] as const;
type U = (typeof USERS)[number] | 'root';

/** A small CDF-2 file: time × lat × lon of one data variable. */
function ncBytes(variable: string, units: string, startDays = 0): Buffer {
  const lat = [40, 50, 60];
  const lon = [0, 10];
  return encodeNetcdf({
    dims: [{ name: 'time', size: 'unlimited' }, { name: 'lat', size: lat.length }, { name: 'lon', size: lon.length }],
    attrs: [['Conventions', 'CF-1.7'], ['title', 'derived test']],
    vars: [
      { name: 'time', dims: ['time'], type: 'double', attrs: [['units', 'days since 2005-01-01'], ['calendar', 'standard'], ['axis', 'T'], ['standard_name', 'time']], data: Float64Array.from([startDays, startDays + 31]) },
      { name: 'lat', dims: ['lat'], type: 'double', attrs: [['units', 'degrees_north'], ['standard_name', 'latitude']], data: Float64Array.from(lat) },
      { name: 'lon', dims: ['lon'], type: 'double', attrs: [['units', 'degrees_east'], ['standard_name', 'longitude']], data: Float64Array.from(lon) },
      { name: variable, dims: ['time', 'lat', 'lon'], type: 'float', attrs: [['units', units], ['long_name', `${variable} anomaly`], ['_FillValue', ncAttr.float(1e20)]], data: new Float32Array(12).fill(1.5) },
    ],
  });
}

let dataDir: string;
let openInput: string;
let cordexInput: string;

before(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'eucp-derived-data-'));
  await generateDemoData({ profile: 'tiny', outDir: dataDir });
});
after(async () => rm(dataDir, { recursive: true, force: true }));

describe('derived data in the catalog', { timeout: 60_000 }, () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  let sharing: SharingService;
  let derived: DerivedService;
  const h = {} as Record<U, Record<string, string>>;
  const areas = (u: string) => ({ home: path.join(ctx.stateDir, 'areas', 'home', u), derived: path.join(ctx.stateDir, 'areas', 'derived', u) });

  beforeEach(async () => {
    ctx = await createTestContext({ config: { dataDir, access: { importFixtureUsers: true }, catalog: { checksums: false } } });
    await ctx.catalog.scan();
    const ids = ctx.catalog.docs().datasets.map((d) => String(d['instance_id']));
    openInput = ids.find((id) => id.startsWith('CMIP6.CMIP.SYNLAB.') && id.includes('.Amon.tas.'))!;
    cordexInput = ids.find((id) => id.startsWith('cordex.') && id.includes('.mon.pr.'))!;
    const pool = { userPaths: areas };
    sharing = createSharing({ config: ctx.config, db: ctx.db, log: ctx.log, now: ctx.now, pool, sandboxed: false });
    derived = await createDerived({ config: ctx.config, db: ctx.db, log: ctx.log, now: ctx.now, access: ctx.access, catalog: ctx.catalog, pool, sharing });
    await derived.start(3600_000);
    Object.assign(ctx, { sharing, derived });
    app = Fastify({ loggerInstance: ctx.log as unknown as FastifyBaseLogger });
    await installHttpBasics(app, ctx);
    await registerIdentityRoutes(app, ctx);
    await registerEsgfSearch(app, ctx, new GenerationalEsgfIndexProvider(new CatalogWithDerived(ctx.catalog, derived)), { filter: accessVisibilityFilter(ctx.access, derived) });
    await registerSharingRoutes(app, ctx, sharing);
    await registerDerivedRoutes(app, ctx, derived);
    await registerAccessRoutes(app, ctx);
    await app.ready();
    for (const u of USERS) h[u] = (await userWithToken(ctx, u)).headers;
    h.root = (await userWithToken(ctx, 'root', { admin: true })).headers;
    const d = areas('alice').derived;
    mkdirSync(path.join(d, 'anomalies', 'sub'), { recursive: true });
    writeFileSync(path.join(d, 'anomalies', 'tas_anom_2005.nc'), ncBytes('tas_anom', 'K'));
    writeFileSync(path.join(d, 'anomalies', 'sub', 'tas_anom_2006.nc'), ncBytes('tas_anom', 'K', 365));
    writeFileSync(path.join(d, 'anomalies', 'README.txt'), 'how these were made');
    mkdirSync(path.join(d, 'empty'), { recursive: true });
    writeFileSync(path.join(d, 'empty', 'notes.txt'), 'no netcdf here');
    mkdirSync(path.join(d, 'broken'), { recursive: true });
    writeFileSync(path.join(d, 'broken', 'good.nc'), ncBytes('pr_anom', 'kg m-2 s-1'));
    writeFileSync(path.join(d, 'broken', 'bad.nc'), ncBytes('pr_anom', 'kg m-2 s-1').subarray(0, 40));
    mkdirSync(path.join(d, 'linky'), { recursive: true });
    writeFileSync(path.join(d, 'linky', 'a.nc'), ncBytes('x', '1'));
    symlinkSync(path.join(areas('alice').home, 'secret.txt'), path.join(d, 'linky', 'leak.txt'));
    symlinkSync('anomalies', path.join(d, 'via-link'));
    mkdirSync(path.join(areas('bob').derived, 'mine'), { recursive: true });
    writeFileSync(path.join(areas('bob').derived, 'mine', 'b.nc'), ncBytes('pr_anom', 'kg m-2 s-1'));
  });

  afterEach(async () => {
    await derived.stop();
    await sharing.stop();
    await app.close();
    await ctx.close();
  });

  const call = (method: 'GET' | 'POST' | 'DELETE', url: string, who: U | null, body?: unknown) =>
    app.inject({ method, url, headers: { ...(who ? h[who] : {}), ...(body !== undefined && { 'content-type': 'application/json' }) }, ...(body !== undefined && { payload: JSON.stringify(body) }) });
  const search = async (who: U | null, q = 'project=derived') => {
    const r = await call('GET', `/esg-search/search?format=application%2Fsolr%2Bjson&facets=project,variable&${q}`, who);
    assert.equal(r.statusCode, 200, r.body);
    return r.json() as { response: { numFound: number; docs: Array<Record<string, unknown>> }; facet_counts: { facet_fields: Record<string, Array<string | number>> } };
  };
  const publish = (who: U, body: Record<string, unknown>) => call('POST', '/hub/api/eucp/derived', who, { path: 'anomalies', title: 'Temperature anomalies', description: 'tas minus the 1981-2010 mean', licence: null, inputs: [], audience: {}, ...body });
  const sharedWith = async (u: string) => (await sharing.withMe(u)).map((s) => s.sandboxPath);
  const state = async () => {
    const n = async (t: 'derived_datasets' | 'derived_versions' | 'shares') => Number((await ctx.db.selectFrom(t).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    return [await n('derived_datasets'), await n('derived_versions'), await n('shares')];
  };

  it('an open input: the chosen users see it in search and on its page, nobody else does and counts do not change for them', async () => {
    const before = { carol: (await search('carol', '')).response.numFound, anon: (await search(null, '')).response.numFound };
    const r = await publish('alice', { inputs: [openInput], audience: { users: ['bob'] }, licence: { id: 'CC-BY-4.0', text: 'Creative Commons Attribution 4.0' } });
    assert.equal(r.statusCode, 201, r.body);
    const p = r.json() as Record<string, any>;
    assert.equal(p.instance_id, 'derived.alice.anomalies.v2024050201');
    assert.deepEqual(p.variables.map((v: { name: string; units: string }) => [v.name, v.units]), [['tas_anom', 'K']]);
    assert.deepEqual(p.time_range, { start: '2005-01-01T00:00:00Z', stop: '2006-02-01T00:00:00Z' });
    assert.deepEqual(p.files.map((f: { path: string }) => f.path), ['README.txt', 'sub/tas_anom_2006.nc', 'tas_anom_2005.nc']);
    assert.match(p.files[0].sha256, /^[0-9a-f]{64}$/);
    assert.deepEqual(p.effective_readers, ['bob']);
    assert.equal(p.sandbox_path, '/derived/anomalies');
    assert.deepEqual(p.licences.map((l: { id: string | null; source: string }) => [l.id, l.source]), [['CC-BY-4.0', 'own'], [null, 'file']]);
    assert.match(p.licences[1].text, /Creative Commons Attribution 4\.0 International/);
    assert.deepEqual(p.licences[1].inputs, [openInput]);

    const bob = await search('bob');
    assert.equal(bob.response.numFound, 1);
    assert.equal(bob.response.docs[0]!['instance_id'], 'derived.alice.anomalies.v2024050201');
    assert.deepEqual(bob.facet_counts.facet_fields['variable'], ['tas_anom', 1]);
    assert.equal((await search('bob', 'type=File&dataset_id=derived.alice.anomalies.v2024050201|derived.local')).response.numFound, 3);
    assert.equal((await search('bob', 'owner=alice')).response.numFound, 1);
    assert.equal((await search('carol')).response.numFound, 0);
    assert.equal((await search(null)).response.numFound, 0);
    assert.equal((await search('carol', '')).response.numFound, before.carol);
    assert.equal((await search(null, '')).response.numFound, before.anon);
    assert.equal((await search('carol', 'type=File&dataset_id=derived.alice.anomalies.v2024050201|derived.local')).response.numFound, 0);

    const page = await call('GET', '/hub/api/eucp/derived/derived.alice.anomalies.v2024050201', 'bob');
    assert.equal(page.statusCode, 200, page.body);
    assert.equal(page.json().sandbox_path, '/shared/alice/anomalies');
    assert.match(page.json().code, /\/shared\/alice\/anomalies\/\*\*\/\*\.nc/);
    assert.equal(page.json().audience, undefined, 'only the owner sees the audience');
    assert.equal((await call('GET', '/hub/api/eucp/derived/derived.alice.anomalies.v2024050201', 'carol')).statusCode, 404);
    assert.equal((await call('GET', '/hub/api/eucp/derived/derived.alice.anomalies', null)).statusCode, 404);
    const decision = async (who: U | null, id: string) => (await call('GET', `/api/access/check?resource=${id}`, who)).json().decision as string;
    assert.equal(await decision('bob', 'derived.alice.anomalies.v2024050201'), 'Permit', '/api/access/check follows the derived rule');
    assert.equal(await decision('bob', 'derived.alice.anomalies'), 'Permit');
    assert.equal(await decision('carol', 'derived.alice.anomalies.v2024050201'), 'Deny');
    assert.equal(await decision(null, 'derived.alice.anomalies.v2024050201'), 'Challenge');
    assert.deepEqual(await sharedWith('bob'), ['/shared/alice/anomalies']);
    assert.deepEqual(await sharedWith('carol'), []);
    const audit = await ctx.db.selectFrom('audit_log').select('action').where('action', 'like', 'derived.%').execute();
    assert.deepEqual(audit.map((a) => a.action), ['derived.publish']);
  });

  it('a restricted CORDEX input: only chosen users who may read it see it, public is refused naming the group, a revoked grant hides it', async () => {
    const before = await state();
    const pub = await publish('alice', { inputs: [openInput, cordexInput], audience: { public: true } });
    assert.equal(pub.statusCode, 400, pub.body);
    assert.equal(pub.json().code, 'DERIVED_ACCESS_TOO_WIDE');
    assert.equal(pub.json().message.includes(`${cordexInput} is restricted to the access group "CORDEX Research"`), true, pub.body);
    assert.deepEqual(await state(), before);

    const r = await publish('alice', { inputs: [cordexInput], audience: { users: ['bob', 'carol'] } });
    assert.equal(r.statusCode, 201, r.body);
    const p = r.json() as Record<string, any>;
    assert.deepEqual(p.effective_readers, ['carol']);
    assert.deepEqual(p.left_out, ['bob']);
    assert.deepEqual(p.licences.map((l: { id: string; source: string; group: string }) => [l.id, l.source, l.group]), [['cordex-nc-research-v1', 'access-group', 'CORDEX Research']]);
    assert.equal((await search('carol')).response.numFound, 1);
    assert.equal((await search('bob')).response.numFound, 0);
    assert.equal((await call('GET', `/hub/api/eucp/derived/${p.instance_id}`, 'bob')).statusCode, 404);
    assert.deepEqual(await sharedWith('carol'), ['/shared/alice/anomalies']);
    assert.deepEqual(await sharedWith('bob'), []);

    // carol's CORDEX Research membership is revoked: the derived data set goes with it.
    const admin = { id: (await ctx.accounts.getUser('root')).id, name: 'root' as never, hubAdmin: true };
    const req = (await ctx.access.requestsToDecide(admin, { group: 'CORDEX Research', state: 'approved' })).find((x) => x.user === 'carol')!;
    await ctx.access.revoke(admin, req.id, 'left the project');
    await derived.syncShares();
    assert.equal((await search('carol')).response.numFound, 0);
    assert.equal((await call('GET', `/hub/api/eucp/derived/${p.instance_id}`, 'carol')).statusCode, 404);
    assert.deepEqual(await sharedWith('carol'), []);
  });

  it('a hub group audience covers its members; re-publishing makes a new version; unpublishing removes it everywhere', async () => {
    assert.equal((await call('POST', '/hub/api/groups/proj', 'root', { users: ['dave'] })).statusCode, 201);
    const r1 = await publish('alice', { inputs: [openInput], audience: { groups: ['proj'] } });
    assert.equal(r1.statusCode, 201, r1.body);
    assert.equal((await search('dave')).response.numFound, 1);
    assert.equal((await search('erin')).response.numFound, 0);
    assert.equal((await call('POST', '/hub/api/groups/proj/users', 'root', { users: ['erin'] })).statusCode, 200);
    assert.equal((await search('erin')).response.numFound, 1);
    assert.deepEqual(await sharedWith('erin'), ['/shared/alice/anomalies']);

    writeFileSync(path.join(areas('alice').derived, 'anomalies', 'tas_anom_2007.nc'), ncBytes('tas_anom', 'K', 730));
    const r2 = await publish('alice', { title: 'Temperature anomalies (3 years)', inputs: [openInput], audience: { groups: ['proj'] } });
    assert.equal(r2.statusCode, 201, r2.body);
    assert.equal(r2.json().instance_id, 'derived.alice.anomalies.v2024050202');
    assert.deepEqual(r2.json().versions, ['2024050201', '2024050202']);
    const latest = await search('dave', 'project=derived&latest=true');
    assert.deepEqual(latest.response.docs.map((d) => d['instance_id']), ['derived.alice.anomalies.v2024050202']);
    assert.equal((await search('dave')).response.numFound, 2);
    assert.equal((await call('GET', '/hub/api/eucp/derived/derived.alice.anomalies', 'dave')).json().version, '2024050202');
    assert.equal((await sharing.mine({ id: (await ctx.accounts.getUser('alice')).id, name: 'alice' })).length, 1, 'one share for all versions');

    assert.equal((await call('DELETE', '/hub/api/eucp/derived/anomalies', 'bob')).statusCode, 404);
    assert.equal((await call('DELETE', '/hub/api/eucp/derived/anomalies', 'alice')).statusCode, 204);
    assert.equal((await search('dave')).response.numFound, 0);
    assert.equal((await search('alice')).response.numFound, 0);
    assert.deepEqual(await sharedWith('dave'), []);
    assert.equal((await call('GET', '/hub/api/eucp/derived/derived.alice.anomalies.v2024050202', 'alice')).statusCode, 404);
  });

  it('refuses bad input with a clear reason and changes nothing', async () => {
    mkdirSync(areas('alice').home, { recursive: true });
    writeFileSync(path.join(areas('alice').home, 'secret.txt'), 'secret');
    const before = await state();
    const cases: Array<[U, Record<string, unknown>, number, RegExp]> = [
      ['alice', { path: '../../derived/bob/mine' }, 400, /\.\./],
      ['alice', { path: '/etc' }, 400, /relative/],
      ['alice', { path: 'via-link' }, 400, /symbolic link/],
      ['alice', { path: 'via-link/sub' }, 400, /symbolic link/],
      ['alice', { path: 'linky' }, 400, /leak\.txt is a symbolic link; publish real files/],
      ['alice', { path: 'missing' }, 404, /No such file or folder/],
      ['alice', { path: 'anomalies/tas_anom_2005.nc' }, 400, /is a file/],
      ['alice', { path: 'empty' }, 400, /no NetCDF file/],
      ['alice', { path: 'broken' }, 400, /bad\.nc is not a readable NetCDF file/],
      ['alice', { inputs: ['CMIP6.nothing.like.this.v20200101'] }, 404, /No such input data set in the catalog: CMIP6\.nothing/],
      ['alice', { inputs: ['derived.bob.x.v2024050201'] }, 400, /itself derived/],
      ['bob', { path: 'mine', inputs: [cordexInput] }, 400, /You may not read input cordex\..*"CORDEX Research"/],
      ['alice', { audience: { users: ['nobody'] } }, 404, /No such user: nobody/],
      ['alice', { audience: { groups: ['ghosts'] } }, 404, /No such group: ghosts/],
      ['alice', { name: 'Bad Name' }, 400, /not allowed/],
      ['alice', { title: '' }, 400, /title/],
      ['alice', { licence: { id: 'CC-BY', text: '' } }, 400, /licence text/],
    ];
    for (const [who, body, status, reason] of cases) {
      const r = await publish(who, body);
      assert.equal(r.statusCode, status, `${JSON.stringify(body)}: ${r.body}`);
      assert.match(r.json().message, reason, JSON.stringify(body));
    }
    assert.deepEqual(await state(), before);
    // bob cannot publish alice's folder: his own area has no such folder.
    assert.equal((await publish('bob', { path: 'anomalies' })).statusCode, 404);
    // A name alice already shares under is refused before anything is written.
    assert.equal((await call('POST', '/hub/api/eucp/shares', 'alice', { path: 'empty', area: 'derived', name: 'anomalies' })).statusCode, 201);
    const taken = await publish('alice', {});
    assert.equal(taken.statusCode, 409, taken.body);
    assert.deepEqual((await state()).slice(0, 2), before.slice(0, 2));
  });
});

describe('derived data read in real sandboxes', { timeout: 900_000, concurrency: false, skip: process.getuid?.() !== 0 ? 'needs root (sandboxes, bindfs)' : false }, () => {
  let hub: HubProcess;
  const tokens: Record<string, string> = {};
  const kernels: Record<string, KernelClient> = {};

  const py = (user: string, code: string): Promise<Record<string, unknown>> => runJson(kernels[user]!, code);

  before(async () => {
    hub = await HubProcess.start({ toml: '[access]\nimportFixtureUsers = true\n[culler]\nenabled = false\n' });
    for (const u of ['alice', 'bob', 'carol']) tokens[u] = (await hub.cli(['token', 'issue', u])).trim();
    for (const u of ['alice', 'bob', 'carol']) {
      const res = await api(hub.url, tokens[u]!, 'POST', `/hub/api/users/${u}/server`);
      assert.ok(res.status === 201 || res.status === 202, `${res.status} ${await res.text()}`);
      await waitForServer(hub.url, u, tokens[u]!);
      kernels[u] = (await openKernel(hub.url, u, tokens[u]!)).kernel;
    }
  });

  after(async () => {
    for (const k of Object.values(kernels)) k.close();
    try {
      await api(hub.url, tokens['alice']!, 'DELETE', '/hub/api/eucp/derived/pr-anomalies');
    } finally {
      await hub?.destroy();
    }
  });

  it('alice publishes files her kernel wrote in /derived from a CORDEX input: carol reads them at /shared, bob cannot', async () => {
    const made = await py('alice', `
import json, os
import numpy as np, xarray as xr
os.makedirs("/derived/pr-anomalies", exist_ok=True)
ds = xr.Dataset({"pr_anom": (("time", "lat"), np.ones((3, 2), "f4"), {"units": "kg m-2 s-1"})},
                coords={"time": np.array(["2005-01-01", "2005-02-01", "2005-03-01"], dtype="datetime64[ns]"), "lat": [45.0, 55.0]})
ds.to_netcdf("/derived/pr-anomalies/pr_anom.nc")
print(json.dumps({"files": os.listdir("/derived/pr-anomalies")}))`);
    assert.deepEqual(made, { files: ['pr_anom.nc'] });
    // The catalog's first scan runs in the background after start: wait for the input to be indexed.
    let cordex = '';
    for (let i = 0; i < 600 && !cordex; i++) {
      const search = await api(hub.url, tokens['alice']!, 'GET', '/esg-search/search?format=application%2Fsolr%2Bjson&project=CORDEX&variable=pr&limit=1');
      cordex = String(((await search.json()) as { response: { docs: Array<Record<string, unknown>> } }).response.docs[0]?.['instance_id'] ?? '');
      if (!cordex) await new Promise((res) => setTimeout(res, 100));
    }
    const r = await api(hub.url, tokens['alice']!, 'POST', '/hub/api/eucp/derived', {
      path: 'pr-anomalies', title: 'pr anomalies', licence: null, inputs: [cordex], audience: { users: ['bob', 'carol'] },
    });
    assert.equal(r.status, 201, await r.clone().text());
    const p = (await r.json()) as { instance_id: string; effective_readers: string[]; variables: Array<{ name: string }> };
    assert.deepEqual(p.effective_readers, ['carol']);
    assert.deepEqual(p.variables.map((v) => v.name), ['pr_anom']);
    const read = 'import json, os, xarray as xr\ntry:\n    ds = xr.open_dataset("/shared/alice/pr-anomalies/pr_anom.nc"); print(json.dumps({"units": ds.pr_anom.attrs["units"], "n": int(ds.time.size)}))\nexcept OSError as e:\n    print(json.dumps({"err": type(e).__name__, "shared": sorted(os.listdir("/shared")) if os.path.isdir("/shared") else None}))';
    assert.deepEqual(await py('carol', read), { units: 'kg m-2 s-1', n: 3 });
    const bob = await py('bob', read);
    assert.ok(bob['err'], JSON.stringify(bob));
    const carolSees = await api(hub.url, tokens['carol']!, 'GET', `/hub/api/eucp/derived/${p.instance_id}`);
    assert.equal(carolSees.status, 200);
    assert.equal((await api(hub.url, tokens['bob']!, 'GET', `/hub/api/eucp/derived/${p.instance_id}`)).status, 404);
  });
});

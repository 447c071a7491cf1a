/**
 * The data a server is started with (`SpawnSpec.dataPaths`), in process with the EUCP-SYN
 * demo data and a process spawner that records what it was asked: nothing restricted
 * without a catalog scan, the user's readable data sets, the spawn progress saying so,
 * and `dataOutdated` after a grant and a revocation.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import type { UserName } from '@eucp/core';
import { configSchema } from '@eucp/hub/config/schema';
import { createHub, type Hub } from '@eucp/hub/hub';
import { generateDemoData } from '@eucp/hub/demo-data/index';
import type { SpawnProgress, SpawnSpec, Spawner, SpawnerState } from '@eucp/hub/spawners/spawner';
import { CatalogDataView, dataViewMessage } from '@eucp/hub/servers/data-view';
import { ECHO_SERVER_PATH, ProcessSpawner } from '@eucp/testing';

class RecordingSpawner implements Spawner {
  readonly kind = 'recording';
  readonly specs: SpawnSpec[] = [];
  private readonly inner = new ProcessSpawner();
  start(spec: SpawnSpec, onProgress?: (p: SpawnProgress) => void) { this.specs.push(spec); return this.inner.start(spec, onProgress); }
  poll(state: SpawnerState) { return this.inner.poll(state); }
  stop(state: SpawnerState, opts?: { timeoutMs?: number }) { return this.inner.stop(state, opts); }
}

interface Expected {
  datasets: Record<string, { project: string; variable_id: string; files: string[] }>;
  access: Array<{ user: string | null; resource: string; action: string; decision: string }>;
}

const bob = 'bob' as UserName;

describe('the data a sandbox is started with', { timeout: 120_000 }, () => {
  let dir: string;
  let hub: Hub;
  let expected: Expected;
  const spawner = new RecordingSpawner();

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'eucp-data-view-'));
    const dataDir = path.join(dir, 'data');
    await generateDemoData({ profile: 'tiny', outDir: dataDir });
    expected = JSON.parse(await readFile(path.join(dataDir, 'expected.json'), 'utf8')) as Expected;
    const config = configSchema.parse({
      port: 0, stateDir: dir, dataDir, culler: { enabled: false }, access: { importFixtureUsers: true },
      catalog: { rescanIntervalMs: 0, checksums: false },
      spawner: { cmd: ['/usr/bin/python3', ECHO_SERVER_PATH], slowSpawnTimeoutMs: 15_000, startTimeoutMs: 15_000, pollIntervalMs: 200 },
    });
    hub = await createHub({ config, log: pino({ level: 'silent' }), spawner });
    await hub.listen(); // starts the catalog's first scan, which the first start waits for
  });

  after(async () => {
    await hub.ctx.servers.stop(bob).catch(() => {});
    await hub.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function startBob(): Promise<{ spec: SpawnSpec; messages: string[] }> {
    assert.equal(await hub.ctx.servers.start(bob), 'started');
    const messages: string[] = [];
    hub.ctx.servers.progressOf(bob, '' as never)!.subscribe((e) => messages.push(e.message));
    return { spec: spawner.specs[spawner.specs.length - 1]!, messages };
  }

  const dirOf = (id: string) => path.posix.dirname(expected.datasets[id]!.files[0]!);
  const shown = (paths: readonly string[], id: string) => paths.some((p) => dirOf(id) === p || dirOf(id).startsWith(`${p}/`));
  const cordex = (v: string) => Object.keys(expected.datasets).filter((id) => id.startsWith('cordex.') && expected.datasets[id]!.variable_id === v);

  it('without a catalog scan (none yet after the wait), shows only the public entries and says why', async () => {
    const view = new CatalogDataView({
      access: hub.ctx.access, catalog: { last: () => null, generation: () => 0 }, dataDir: hub.ctx.config.dataDir!,
      roots: [hub.ctx.config.dataDir!], firstScanWaitMs: 0, log: pino({ level: 'silent' }),
    });
    const u = (await hub.ctx.accounts.findUser('carol'))!;
    const v = await view.viewFor({ id: u.id, name: 'carol' });
    assert.deepEqual(v, { paths: ['eucp-syn-cv.json'], readable: 0, total: 0, catalogReady: false });
    assert.match(dataViewMessage(v), /catalog is still being built/);
  });

  it('after it, shows bob every data set he may read and none of the others, and says how many', async () => {
    const { spec, messages } = await startBob();
    const paths = spec.dataPaths!;
    assert.ok(paths, 'not the whole data directory (its metadata lists restricted files)');
    const denied = expected.access.filter((a) => a.user === 'bob' && a.action === 'Read' && a.decision !== 'Permit').map((a) => a.resource);
    assert.ok(denied.length > 0);
    const total = Object.keys(expected.datasets).length;
    for (const id of Object.keys(expected.datasets)) assert.equal(shown(paths, id), !denied.includes(id), id);
    for (const meta of ['expected.json', 'esgf', 'catalog', 'stac', 'access', 'SHA256SUMS']) assert.ok(!paths.includes(meta), meta);
    assert.ok(messages.includes(`Your data: ${total - denied.length} of ${total} data sets (request access to the others in the catalog)`), messages.join('\n'));
    assert.equal((await hub.ctx.servers.status(bob)).dataOutdated, false);
  });

  it('a grant marks the running server outdated; the next start shows the granted data; a revocation likewise', async () => {
    const u = (await hub.ctx.accounts.findUser('bob'))!;
    const actor = { id: u.id, name: bob, hubAdmin: false };
    const { request } = await hub.ctx.access.request(actor, { group: 'CORDEX Commercial', acceptLicence: 'cordex-unrestricted-v1' });
    assert.equal(request.state, 'approved');
    assert.equal((await hub.ctx.servers.status(bob)).dataOutdated, true);
    await hub.ctx.servers.stop(bob);
    const granted = (await startBob()).spec.dataPaths!;
    for (const id of cordex('tas')) assert.ok(shown(granted, id), id);
    for (const id of cordex('pr')) assert.ok(!shown(granted, id), id);
    assert.equal((await hub.ctx.servers.status(bob)).dataOutdated, false);

    await hub.ctx.access.revoke(actor, request.id);
    assert.equal((await hub.ctx.servers.status(bob)).dataOutdated, true);
    await hub.ctx.servers.stop(bob);
    const revoked = (await startBob()).spec.dataPaths!;
    for (const id of cordex('tas')) assert.ok(!shown(revoked, id), id);
  });
});

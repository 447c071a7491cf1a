/**
 * Per-data-set permissions enforced where the data is read, with real parts: a hub process
 * with the EUCP-SYN access fixtures, lab servers in bubblewrap sandboxes, and a Python
 * kernel looking at `/data`. Oracles: the `access` decisions of expected.json (a data set
 * without a decision there is open to everyone).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { HubProcess } from '@eucp/testing/hub-process';
import { api, waitForServer, until, openKernel, runJson } from './helpers.js';

interface Expected {
  datasets: Record<string, { project: string; variable_id: string; files: string[] }>;
  access: Array<{ user: string | null; resource: string; action: string; decision: string }>;
}

const LISTING = [
  'import os, json',
  'files = sorted(os.path.join(d, f) for d, _, fs in os.walk("/data") for f in fs)',
  'print(json.dumps({"files": files, "top": sorted(os.listdir("/data"))}))',
].join('\n');

describe('a sandbox holds only the data sets its user may read', { timeout: 600_000 }, () => {
  let hub: HubProcess;
  let expected: Expected;
  const tokens: Record<string, string> = {};
  let grantId = 0;

  before(async () => {
    hub = await HubProcess.start({ toml: '[access]\nimportFixtureUsers = true\n[culler]\nenabled = false\n' });
    expected = JSON.parse(readFileSync(path.join(hub.stateDir, 'data', 'expected.json'), 'utf8')) as Expected;
    for (const u of ['bob', 'carol', 'erin']) tokens[u] = (await hub.cli(['token', 'issue', u])).trim();
    // Servers started before the catalog's first scan show no data set: wait for it.
    await until('the first catalog scan', async () => {
      const r = await api(hub.url, tokens['carol']!, 'GET', '/esg-search/search?type=Dataset&limit=0');
      return r.status === 200 && ((await r.json()) as { response: { numFound: number } }).response.numFound > 0;
    });
  });

  after(async () => { await hub?.destroy(); });

  /** Restarts the hub process (the servers keep running) and waits for its catalog. */
  async function restartHub(): Promise<void> {
    await hub.restart();
    await until('the catalog scan after the restart', async () => {
      const r = await api(hub.url, tokens['carol']!, 'GET', '/esg-search/search?type=Dataset&limit=0');
      return r.status === 200 && ((await r.json()) as { response: { numFound: number } }).response.numFound > 0;
    });
  }

  /** Data sets of expected.json `user` may read, and those they may not. */
  function oracle(user: string): { readable: string[]; denied: string[] } {
    const readable: string[] = [];
    const denied: string[] = [];
    for (const id of Object.keys(expected.datasets)) {
      const d = expected.access.find((a) => a.user === user && a.resource === id && a.action === 'Read');
      (d === undefined || d.decision === 'Permit' ? readable : denied).push(id);
    }
    return { readable, denied };
  }

  async function start(user: string): Promise<string[]> {
    const res = await api(hub.url, tokens[user]!, 'POST', `/hub/api/users/${user}/server`);
    assert.ok(res.status === 201 || res.status === 202, `${res.status} ${await res.text()}`);
    await waitForServer(hub.url, user, tokens[user]!);
    return [];
  }

  async function stop(user: string): Promise<void> {
    const res = await api(hub.url, tokens[user]!, 'DELETE', `/hub/api/users/${user}/server`);
    assert.ok(res.status === 204 || res.status === 202, String(res.status));
    await until(`${user}'s server to stop`, async () => (await status(user)).state === 'stopped');
  }

  async function status(user: string): Promise<{ state: string; dataOutdated: boolean }> {
    return (await (await api(hub.url, tokens[user]!, 'GET', `/hub/api/eucp/users/${user}/server-status`)).json()) as never;
  }

  /** What the user's sandbox shows under /data, seen from a kernel. */
  async function listing(user: string): Promise<{ files: string[]; top: string[] }> {
    const { kernel } = await openKernel(hub.url, user, tokens[user]!);
    try {
      return await runJson<{ files: string[]; top: string[] }>(kernel, LISTING);
    } finally {
      kernel.close();
    }
  }

  function assertShows(user: string, seen: { files: string[]; top: string[] }, readable: string[], denied: string[]): void {
    const files = new Set(seen.files);
    for (const id of readable) for (const f of expected.datasets[id]!.files) assert.ok(files.has(`/data/${f}`), `${user} must see ${f}`);
    for (const id of denied) {
      const dir = path.posix.dirname(`/data/${expected.datasets[id]!.files[0]!}`);
      assert.ok(!seen.files.some((f) => f.startsWith(`${dir}/`)), `${user} must not see anything of ${id}`);
    }
    // No metadata that lists every data set's files (restricted ones too).
    for (const name of ['expected.json', 'SHA256SUMS', 'catalog', 'esgf', 'stac', 'access']) assert.ok(!seen.top.includes(name), `${user} sees ${name}`);
  }

  it('bob sees the CMIP6 data but nothing of the restricted CORDEX data sets', async () => {
    await start('bob');
    const { readable, denied } = oracle('bob');
    assert.ok(denied.length >= 4 && readable.length > 0, JSON.stringify({ readable, denied }));
    const seen = await listing('bob');
    assertShows('bob', seen, readable, denied);
    assert.ok(!seen.files.some((f) => f.startsWith('/data/cordex/')), seen.files.join('\n'));
    assert.equal((await status('bob')).dataOutdated, false);
  });

  it('erin reads the CORDEX tas files but the pr files are absent', async () => {
    await start('erin');
    const { readable, denied } = oracle('erin');
    const cordex = (ids: string[], v: string) => ids.filter((id) => expected.datasets[id]!.project !== 'CMIP6' && expected.datasets[id]!.variable_id === v);
    assert.ok(cordex(readable, 'tas').length > 0 && cordex(denied, 'pr').length > 0);
    assert.equal(cordex(readable, 'pr').length, 0);
    const seen = await listing('erin');
    assertShows('erin', seen, readable, denied);
    await stop('erin');
  });

  it('carol reads everything', async () => {
    await start('carol');
    const { readable, denied } = oracle('carol');
    assert.equal(denied.length, 0);
    assertShows('carol', await listing('carol'), readable, denied);
    await stop('carol');
  });

  it('after bob is granted CORDEX Commercial, his server is outdated, and after a restart he reads the CORDEX tas files', async () => {
    const req = await api(hub.url, tokens['bob']!, 'POST', '/hub/api/eucp/access/requests', {
      group: 'CORDEX Commercial', accept_licence: 'cordex-unrestricted-v1', purpose: 'test',
    });
    assert.equal(req.status, 201, await req.clone().text());
    const grant = (await req.json()) as { id: number; state: string };
    assert.equal(grant.state, 'approved');
    assert.equal((await status('bob')).dataOutdated, true);
    const before = await listing('bob');
    assert.ok(!before.files.some((f) => f.startsWith('/data/cordex/')), 'the running server keeps its data until restarted');

    await stop('bob');
    await start('bob');
    assert.equal((await status('bob')).dataOutdated, false);
    const erinLike = oracle('erin'); // CORDEX Commercial: what erin reads
    assertShows('bob', await listing('bob'), erinLike.readable, erinLike.denied);
    grantId = grant.id;
  });

  it('after the grant is revoked, the running server is outdated and the next start no longer holds the data', async () => {
    const revoke = await api(hub.url, tokens['bob']!, 'POST', `/hub/api/eucp/access/requests/${grantId}/revoke`, { reason: 'project ended' });
    assert.equal(revoke.status, 200, await revoke.clone().text());
    assert.equal((await status('bob')).dataOutdated, true);
    await restartHub();
    assert.equal((await status('bob')).state, 'running', 'the server outlives the hub');
    assert.equal((await status('bob')).dataOutdated, true, 'a restarted hub still knows the server is outdated');
    await stop('bob');
    await start('bob');
    assert.equal((await status('bob')).dataOutdated, false);
    const { readable, denied } = oracle('bob');
    const seen = await listing('bob');
    assertShows('bob', seen, readable, denied);
    assert.ok(!seen.files.some((f) => f.startsWith('/data/cordex/')), seen.files.join('\n'));
    await restartHub();
    assert.equal((await status('bob')).dataOutdated, false, 'nor does a restarted hub call an up-to-date server outdated');
    await stop('bob');
  });
});

/**
 * Read-only sharing and derived data in Debian's chromium, through a real hub with the
 * EUCP-SYN fixture users and real sandboxes. alice shares her `results/` folder with bob on
 * "My shares"; bob sees `/shared/alice/results` on "Shared with me" and his running kernel
 * reads the CSV; alice revokes in the page and bob loses both. alice makes an expiring link,
 * shown once; carol follows it, logs in and gets the share. Then alice publishes a NetCDF
 * file of her `/derived` area as a derived data set for bob (input: an open CMIP6 data set);
 * bob finds it in the catalog with its "derived" badge, sees its variable, licences and
 * sandbox path and reads it in his kernel; carol does not find it; alice unpublishes it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { HubProcess } from '@eucp/testing/hub-process';
import { KernelClient } from '@eucp/testing/kernel-client';
import { launchChromium, submitHubLogin, type TestBrowser } from '@eucp/testing/chromium';
import { waitUntil } from './lab-helpers.js';

const USERS = ['alice', 'bob', 'carol'] as const;
type User = (typeof USERS)[number];
const PASSWORD: Record<User, string> = { alice: 'alice-shares-pw-7d1e4', bob: 'bob-shares-pw-c20a9', carol: 'carol-shares-pw-5b83f' };
const CSV = 'year,tas\n2000,288.1\n';

/** Python that prints one JSON line: the text of the file, or why it could not be read. */
const READ = (p: string) => `
import json
try:
    print(json.dumps({"ok": open(${JSON.stringify(p)}).read()}))
except OSError as e:
    print(json.dumps({"err": type(e).__name__}))`;

describe('sharing and derived data in the browser', { timeout: 600_000, concurrency: false }, () => {
  let hub: HubProcess;
  const tokens = {} as Record<User, string>;
  const kernels = {} as Partial<Record<User, KernelClient>>;
  const chromes = {} as Partial<Record<User, TestBrowser>>;
  const pages = {} as Record<User, Page>;
  let openInput = '';

  function api(user: User, method: string, pathname: string, body?: unknown): Promise<Response> {
    return fetch(`${hub.url}${pathname}`, {
      method,
      headers: { authorization: `token ${tokens[user]}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
  }

  /** Starts the user's server (a real sandbox) and a Python kernel in it. */
  async function startKernel(user: User): Promise<void> {
    const res = await api(user, 'POST', `/hub/api/users/${user}/server`);
    assert.ok(res.status === 201 || res.status === 202, `${res.status} ${await res.text()}`);
    await waitUntil(`${user}'s server`, async () => {
      const r = await fetch(`${hub.url}/user/${user}/api/status`, { headers: { authorization: `token ${tokens[user]}` }, redirect: 'manual' });
      await r.arrayBuffer();
      return r.status === 200 ? true : undefined;
    }, 120_000, 200);
    const k = await api(user, 'POST', `/user/${user}/api/kernels`, { name: 'python3' });
    assert.equal(k.status, 201, await k.clone().text());
    const { id } = (await k.json()) as { id: string };
    const kernel = await KernelClient.connect(`${hub.url.replace(/^http/, 'ws')}/user/${user}/api/kernels/${id}/channels`, { authorization: `token ${tokens[user]}` });
    kernels[user] = kernel;
    await kernel.waitReady();
  }

  /** Runs Python in the user's kernel; its last printed line, parsed. */
  async function py(user: User, code: string): Promise<Record<string, unknown>> {
    const r = await kernels[user]!.execute(code);
    assert.equal(r.status, 'ok', r.stderr + JSON.stringify(r.error));
    return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
  }

  /** Opens `pathname` in the user's browser, logging in when the hub asks. */
  async function open(user: User, pathname: string): Promise<Page> {
    const page = pages[user];
    await page.goto(`${hub.url}${pathname}`);
    if (new URL(page.url()).pathname === '/hub/login') {
      await submitHubLogin(page, user, PASSWORD[user]);
      await page.waitForURL((u) => u.pathname !== '/hub/login');
    }
    return page;
  }

  /**
   * The catalog's search for `text`, as a user types it; then a reload of that search's
   * address, so that what the page shows is this search's answer, not the previous one's.
   */
  async function searchCatalog(page: Page, text: string): Promise<void> {
    await page.getByLabel('Search text').fill(text);
    await page.getByRole('button', { name: /^search$/i }).click();
    await page.waitForURL((u) => u.pathname === '/hub/catalog' && u.searchParams.get('q') === text);
    await page.reload();
    await page.getByTestId('num-found').waitFor();
  }

  before(async () => {
    hub = await HubProcess.start({ toml: '[culler]\nenabled = false\n[access]\nimportFixtureUsers = true\n' });
    for (const u of USERS) {
      await hub.cli(['user', 'password', u, '--password-stdin'], `${PASSWORD[u]}\n`);
      tokens[u] = (await hub.cli(['token', 'issue', u])).trim();
    }
    // The catalog's first scan runs in the background: wait until it lists an open CMIP6 tas data set.
    openInput = await waitUntil('the catalog to list CMIP6 data sets', async () => {
      const r = await fetch(`${hub.url}/esg-search/search?type=Dataset&project=CMIP6&variable_id=tas&limit=50&format=application/solr%2Bjson`);
      const docs = ((await r.json()) as { response: { docs: Array<{ instance_id: string }> } }).response.docs;
      return docs.map((d) => d.instance_id).find((id) => id.startsWith('CMIP6.CMIP.'));
    }, 60_000, 100);
    await Promise.all(['alice', 'bob'].map((u) => startKernel(u as User)));
    // alice's files, written by her own kernel: a folder of her home and a NetCDF file of her derived area.
    const made = await py('alice', `
import json, os
import numpy as np, pandas as pd, xarray as xr
os.makedirs(os.path.expanduser("~/results"), exist_ok=True)
open(os.path.expanduser("~/results/tas.csv"), "w").write(${JSON.stringify(CSV)})
os.makedirs("/derived/anoms", exist_ok=True)
xr.Dataset(
    {"tas_anom": (("time", "lat", "lon"), np.full((2, 3, 2), 1.5, dtype="float32"), {"units": "K", "long_name": "near-surface air temperature anomaly"})},
    coords={"time": pd.date_range("2005-01-01", periods=2, freq="MS"), "lat": [40.0, 50.0, 60.0], "lon": [0.0, 10.0]},
).to_netcdf("/derived/anoms/x.nc")
print(json.dumps({"files": sorted(os.listdir("/derived/anoms"))}))`);
    assert.deepEqual(made, { files: ['x.nc'] });
    for (const u of USERS) {
      chromes[u] = await launchChromium();
      pages[u] = chromes[u]!.page;
    }
  });

  after(async () => {
    for (const k of Object.values(kernels)) k?.close();
    for (const c of Object.values(chromes)) await c?.close();
    await hub?.destroy(); // stops the servers, releases share mounts and views, removes the accounts
  });

  it('alice shares results/ with bob on "My shares" and sees bob listed', async () => {
    const page = await open('alice', '/hub/shares');
    await page.getByRole('heading', { name: 'My shares' }).waitFor();
    await page.getByText('You share nothing yet.').waitFor();
    const form = page.getByRole('form', { name: 'Share a file or folder' });
    await form.getByLabel(/^Path/).fill('results');
    await form.getByLabel('Users').fill('bob');
    await form.getByRole('button', { name: 'Share read-only' }).click();
    const card = page.locator('article').filter({ has: page.getByRole('heading', { name: /^results\// }) });
    await card.getByRole('listitem').filter({ hasText: 'bob' }).waitFor();
    assert.match(await card.innerText(), /~\/results/);
    assert.equal(await page.getByLabel('Share link').count(), 0, 'no link for a share with people');
  });

  it('bob sees /shared/alice/results on "Shared with me" and his running kernel reads the CSV', async () => {
    const page = await open('bob', '/hub/shares/with-me');
    const row = page.getByRole('row').filter({ hasText: '/shared/alice/results' });
    await row.waitFor();
    const cells = await row.getByRole('cell').allInnerTexts();
    assert.equal(cells[0], 'results/');
    assert.equal(cells[1], 'alice');
    assert.equal(cells[2], '/shared/alice/results', 'mounted in his server');
    assert.notEqual(cells[3], '', 'since when');
    assert.equal(cells[4], '—', 'no expiry');
    assert.deepEqual(await py('bob', READ('/shared/alice/results/tas.csv')), { ok: CSV });
  });

  it('alice revokes bob in the page: bob\'s list is empty after a reload and his read fails', async () => {
    const page = pages.alice;
    await page.getByRole('button', { name: 'Revoke bob' }).click();
    await page.getByText('Nobody has access.').waitFor();
    const bob = pages.bob;
    await bob.reload();
    await bob.getByText('Nothing is shared with you.').waitFor();
    assert.equal(await bob.getByText('/shared/alice/results').count(), 0);
    assert.deepEqual(await py('bob', READ('/shared/alice/results/tas.csv')), { err: 'FileNotFoundError' });
  });

  let linkUrl = '';

  it('alice makes an expiring link: the page shows its URL once', async () => {
    const page = pages.alice;
    const form = page.getByRole('form', { name: 'Share a file or folder' });
    await form.getByLabel(/^Path/).fill('results');
    await form.getByLabel(/^Name shown to them/).fill('by-link');
    const tomorrow = new Date(Date.now() + 24 * 3600_000);
    const local = new Date(tomorrow.getTime() - tomorrow.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
    await form.getByLabel(/^Link valid until/).fill(local);
    await form.getByRole('button', { name: 'Share read-only' }).click();
    const field = page.getByLabel('Share link');
    await field.waitFor();
    linkUrl = await field.inputValue();
    assert.match(linkUrl, new RegExp(`^${hub.url}/hub/shares/link/[A-Za-z0-9_-]{20,}$`));
    await page.getByText(/shown once/).waitFor();
    const card = page.locator('article').filter({ has: page.getByRole('heading', { name: /^by-link\// }) });
    assert.match(await card.innerText(), /anyone with the link — until /);
    await page.reload();
    await card.waitFor();
    assert.equal(await page.getByLabel('Share link').count(), 0, 'the link is not shown again');
  });

  it('carol follows the link, logs in and gets the share; alice sees her listed', async () => {
    const page = pages.carol;
    await page.goto(linkUrl);
    await page.waitForURL(/\/hub\/login/);
    await submitHubLogin(page, 'carol', PASSWORD.carol);
    await page.waitForURL((u) => u.pathname === '/hub/shares/with-me');
    const row = page.getByRole('row').filter({ hasText: '/shared/alice/by-link' });
    await row.waitFor();
    const cells = await row.getByRole('cell').allInnerTexts();
    assert.equal(cells[1], 'alice');
    assert.notEqual(cells[4], '—', 'valid until the link expires');
    const alice = pages.alice;
    await alice.reload();
    const card = alice.locator('article').filter({ has: alice.getByRole('heading', { name: /^by-link\// }) });
    await card.getByRole('listitem').filter({ hasText: 'carol (through the link)' }).waitFor();
  });

  it('alice stops sharing the link\'s share: carol loses it, and the link now says it was revoked', async () => {
    const alice = pages.alice;
    await alice.getByRole('button', { name: 'Stop sharing by-link' }).click();
    await alice.getByRole('heading', { name: /^by-link\// }).waitFor({ state: 'detached' });
    const carol = pages.carol;
    await carol.reload();
    await carol.getByText('Nothing is shared with you.').waitFor();
    await carol.goto(linkUrl);
    await carol.getByRole('alert').filter({ hasText: 'This share link has expired or was revoked.' }).waitFor();
    await carol.getByRole('link', { name: 'Shared with me' }).click();
    await carol.waitForURL((u) => u.pathname === '/hub/shares/with-me');
    await carol.getByText('Nothing is shared with you.').waitFor();
  });

  it('alice shares a folder of her /derived area with bob: his kernel lists it at /shared/alice/<name>', async () => {
    const page = pages.alice;
    const form = page.getByRole('form', { name: 'Share a file or folder' });
    await form.getByLabel('Area').selectOption({ label: '/derived (derived-data area)' });
    await form.getByLabel('Path in /derived').fill('anoms');
    await form.getByLabel(/^Name shown to them/).fill('anoms-draft');
    await form.getByLabel('Users').fill('bob');
    await form.getByRole('button', { name: 'Share read-only' }).click();
    const card = page.locator('article').filter({ has: page.getByRole('heading', { name: /^anoms-draft\// }) });
    await card.getByRole('listitem').filter({ hasText: 'bob' }).waitFor();
    assert.match(await card.innerText(), /\/derived\/anoms/);
    assert.deepEqual(await py('bob', 'import json, os; print(json.dumps({"files": sorted(os.listdir("/shared/alice/anoms-draft"))}))'), { files: ['x.nc'] });
    await page.getByRole('button', { name: 'Stop sharing anoms-draft' }).click();
    await card.waitFor({ state: 'detached' });
  });

  let derivedUrl = '';

  it('alice publishes her derived folder from the catalog for bob', async () => {
    const page = await open('alice', '/hub/catalog');
    await page.getByRole('link', { name: 'Publish derived data' }).click();
    await page.waitForURL((u) => u.pathname === '/hub/catalog/publish');
    await page.getByText('You have published nothing yet.').waitFor();
    const form = page.getByRole('form', { name: 'Publish derived data' });
    await form.getByLabel(/^Folder/).fill('anoms');
    await form.getByLabel(/^Title/).fill('Temperature anomalies for the shares test');
    await form.getByLabel(/^Description/).fill('tas minus its 1981-2010 mean');
    await form.getByLabel(/^Licence id/).fill('CC-BY-4.0');
    await form.getByLabel(/^Licence text/).fill('Creative Commons Attribution 4.0 International');
    await form.getByLabel(/^Inputs/).fill(openInput);
    await form.getByLabel(/^Users/).fill('bob');
    await form.getByRole('button', { name: 'Publish' }).click();
    const done = page.getByTestId('published');
    await done.waitFor();
    assert.match(await done.innerText(), /Published derived\.alice\.anoms\.v\d{10}\./);
    assert.match(await done.innerText(), /Readers now: bob\./);
    derivedUrl = (await done.getByRole('link').getAttribute('href'))!;
    const mine = page.getByRole('listitem').filter({ hasText: 'Temperature anomalies for the shares test' });
    await mine.getByRole('button', { name: 'Unpublish' }).waitFor();
  });

  it('bob finds it in the catalog with its "derived" badge and sees its variable, licences and sandbox path', async () => {
    const page = await open('bob', '/hub/catalog');
    await searchCatalog(page, 'derived');
    const result = page.locator('.result').filter({ hasText: /derived\.alice\.anoms\.v\d+/ });
    await result.waitFor();
    assert.match(await result.innerText(), /derived · alice/);
    assert.match(await result.innerText(), /Temperature anomalies for the shares test/);
    await result.getByRole('link', { name: /derived\.alice\.anoms/ }).click();
    await page.waitForURL((u) => u.pathname === derivedUrl);
    await page.getByRole('heading', { name: /Temperature anomalies for the shares test/ }).waitFor();
    const facts = page.locator('dl');
    await facts.getByText('tas_anom [K] — near-surface air temperature anomaly').waitFor();
    assert.match(await facts.innerText(), /Owner\s+alice/);
    assert.match(await facts.innerText(), /2005-01-01 to 2005-02-01/);
    assert.match(await facts.innerText(), new RegExp(openInput.replace(/\./g, '\\.')));
    const licences = await page.getByTestId('licences').locator('summary').allInnerTexts();
    assert.deepEqual(licences.length, 2, licences.join(' | '));
    assert.equal(licences[0], 'CC-BY-4.0 (the publisher\'s)');
    assert.match(licences[1]!, new RegExp(`from ${openInput.replace(/\./g, '\\.')}`));
    assert.match(await page.locator('p', { hasText: 'The files are at' }).innerText(), /\/shared\/alice\/anoms \(read-only\)/);
    assert.match(await page.getByLabel('Python code that opens the files').innerText(), /\/shared\/alice\/anoms\/\*\*\/\*\.nc/);
    await page.getByRole('cell', { name: 'x.nc' }).waitFor();
    const read = await py('bob', 'import json, xarray as xr; ds = xr.open_dataset("/shared/alice/anoms/x.nc"); print(json.dumps({"vars": list(ds.data_vars)}))');
    assert.deepEqual(read, { vars: ['tas_anom'] });
  });

  it('carol does not find it in the catalog, nor at its address', async () => {
    const page = await open('carol', '/hub/catalog');
    await searchCatalog(page, 'derived');
    assert.equal(await page.locator('.result').filter({ hasText: 'derived.alice.anoms' }).count(), 0);
    assert.equal(await page.locator('.facet__count[data-facet="project"][data-value="derived"]').count(), 0, 'no "derived" project in her facets');
    await page.goto(`${hub.url}${derivedUrl}`);
    await page.getByRole('heading', { name: 'No such data set' }).waitFor();
  });

  it('alice unpublishes it: gone from her list, from bob\'s catalog and from his server', async () => {
    const page = await open('alice', '/hub/catalog/publish');
    await page.getByRole('listitem').filter({ hasText: 'Temperature anomalies for the shares test' }).getByRole('button', { name: 'Unpublish' }).click();
    await page.getByText('You have published nothing yet.').waitFor();
    const bob = pages.bob;
    await bob.goto(`${hub.url}${derivedUrl}`);
    await bob.getByRole('heading', { name: 'No such data set' }).waitFor();
    assert.deepEqual(await py('bob', READ('/shared/alice/anoms/x.nc')), { err: 'FileNotFoundError' }, 'and from his server');
  });
});

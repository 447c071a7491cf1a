/**
 * The catalog in Debian's chromium, through a real hub with the EUCP-SYN fixture users:
 * bob searches CORDEX, sees facet counts and "request access", asks CORDEX Research for a
 * tas data set accepting its licence → "pending"; alice (its admin) approves on
 * /hub/catalog/requests; bob gets a notification and the badge turns "readable"; bob clicks
 * "Start my server and open a notebook", lands in JupyterLab with the data set's notebook
 * open, runs it and sees the data set (and its variable) printed and plotted. dave, whose
 * request alice approves while his server runs, is offered "Restart my server and open a
 * notebook", and after the restart his server has the data and the notebook opens.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BrowserContext, Page } from 'playwright-core';
import { HubProcess } from '@eucp/testing/hub-process';
import { launchChromium, type TestBrowser } from '@eucp/testing/chromium';
import { cell, outputText, runCell, waitKernelIdle } from './lab-helpers.js';

const BOB_PW = 'bob-catalog-pw-8f2d1';
const ALICE_PW = 'alice-catalog-pw-3c9e7';

describe('catalog: search, request access, approve, read, open in a notebook', { timeout: 480_000 }, () => {
  let hub: HubProcess;
  let browser: BrowserContext;
  let page: Page;
  let chrome: TestBrowser | undefined;
  let datasetUrl = '';

  before(async () => {
    hub = await HubProcess.start({ toml: '[culler]\nenabled = false\n[access]\nimportFixtureUsers = true\n' });
    await hub.cli(['user', 'password', 'bob', '--password-stdin'], `${BOB_PW}\n`);
    await hub.cli(['user', 'password', 'alice', '--password-stdin'], `${ALICE_PW}\n`);
    // The catalog's first scan runs in the background: wait until it lists data sets.
    for (let i = 0; ; i++) {
      const r = (await (await fetch(`${hub.url}/esg-search/search?type=Dataset&limit=0&format=application/solr%2Bjson`)).json()) as { response: { numFound: number } };
      if (r.response.numFound > 0) break;
      if (i > 300) throw new Error('the catalog never listed a data set');
      await sleep(100);
    }
    chrome = await launchChromium();
    browser = chrome.context;
    page = browser.pages()[0] ?? (await browser.newPage());
  });

  after(async () => {
    await chrome?.close();
    await hub?.destroy();
  });

  async function logIn(user: string, password: string, next: string): Promise<void> {
    await browser.clearCookies();
    await page.goto(`${hub.url}${next}`);
    await page.waitForURL(/\/hub\/login/);
    await page.getByLabel(/user ?name/i).fill(user);
    await page.getByLabel(/password/i).fill(password);
    await page.getByRole('button', { name: /log ?in|sign in/i }).click();
    await page.waitForURL((u) => u.pathname === next.split('?')[0]);
  }

  it('bob searches CORDEX and sees facet counts and "request access"', async () => {
    await logIn('bob', BOB_PW, '/hub/catalog');
    await page.getByRole('link', { name: /^catalog$/i }).waitFor();
    await page.getByLabel('Search text').fill('CORDEX tas');
    await page.getByRole('button', { name: /^search$/i }).click();
    await page.waitForURL(/\/hub\/catalog\?q=CORDEX/);
    await page.locator('.facet__count[data-facet="project"][data-value="CORDEX"]').waitFor();
    const count = Number(await page.locator('.facet__count[data-facet="project"][data-value="CORDEX"]').innerText());
    assert.ok(count > 0, `CORDEX count ${count}`);
    const numFound = Number(/\d+/.exec(await page.getByTestId('num-found').innerText())?.[0]);
    assert.ok(numFound > 0);
    const first = page.locator('.result').filter({ hasText: /CORDEX.*tas/ }).first();
    await first.locator('[data-access="request"]').waitFor();
    datasetUrl = (await first.locator('a.result__title').getAttribute('href'))!;
    await first.locator('a.result__title').click();
    await page.waitForURL(/\/hub\/catalog\/dataset\//);
  });

  it('bob opens the data set, sees its details and asks CORDEX Research, accepting the licence → pending', async () => {
    await page.getByRole('heading', { name: 'Files' }).waitFor();
    assert.match(await page.getByTestId('xarray-code').innerText(), /xr\.open_(mf)?dataset\(.*\/data\//s);
    await page.locator('[data-access="request"]').waitFor();
    await page.getByRole('button', { name: /^request access$/i }).click();
    await page.getByRole('radio', { name: /CORDEX Research/ }).check();
    await page.getByRole('region', { name: /licence/i }).or(page.locator('pre.licence')).first().waitFor();
    const send = page.getByRole('button', { name: /send request/i });
    assert.equal(await send.isDisabled(), true, 'sending needs the licence accepted');
    await page.getByLabel('I accept the licence').check();
    await send.click();
    await page.locator('[data-access="pending"]').waitFor();
  });

  it('alice sees the request on /hub/catalog/requests and approves it', async () => {
    await logIn('alice', ALICE_PW, '/hub/catalog/requests');
    const row = page.locator('tr', { hasText: 'bob' }).filter({ hasText: 'CORDEX Research' });
    await row.waitFor();
    await row.getByRole('button', { name: /approve/i }).click();
    // Other fixture requests may still be pending: bob's row goes.
    await row.waitFor({ state: 'detached' });
  });

  it('bob gets a notification and the badge turns "readable"', async () => {
    await logIn('bob', BOB_PW, datasetUrl);
    await page.locator('[data-access="readable"]').waitFor();
    await page.getByTestId('unread-count').waitFor();
    await page.getByRole('button', { name: /notifications, [1-9]\d* unread/i }).click();
    const panel = page.getByRole('region', { name: 'Notifications' });
    await panel.waitFor();
    assert.match(await panel.innerText(), /CORDEX Research/i);
  });

  it('bob clicks "Open in a notebook": his server starts, JupyterLab opens the notebook, and running it prints the data set\'s variable', async () => {
    const open = page.getByTestId('open-in-notebook');
    await open.waitFor();
    // Enabled once the page knows bob may read the data set and that his server is stopped.
    await page.waitForFunction(() => {
      const b = document.querySelector('[data-testid="open-in-notebook"]');
      return b instanceof HTMLButtonElement && !b.disabled;
    });
    assert.equal(await open.innerText(), 'Start my server and open a notebook');
    await open.click();
    await page.waitForURL(/\/user\/bob\/lab\/tree\/catalog\/cordex\.[^/]*\.tas\.v\d+\.ipynb$/, { timeout: 180_000 });
    await page.locator('#jp-main-dock-panel').waitFor({ timeout: 60_000 });
    const code = cell(page, 1);
    await code.locator('.cm-content').waitFor({ timeout: 60_000 });
    assert.match(await code.locator('.cm-content').innerText(), /xr\.open_dataset\("\/data\/cordex\//);
    await waitKernelIdle(page);
    await runCell(page, code);
    await code.locator('.jp-OutputArea-output').filter({ hasText: 'tas: mean over rlat, rlon' }).waitFor({ timeout: 120_000 });
    const out = await outputText(code);
    assert.match(out, /<xarray\.Dataset>/);
    assert.match(out, /^\s*tas\s+\(time, rlat, rlon\)/m, out);
    // …and the time series of its spatial mean is plotted.
    await code.locator('.jp-OutputArea-output img').waitFor({ timeout: 60_000 });
  });

  it('dave, approved while his server runs, is offered a restart, and after it the notebook opens', async () => {
    const api = async (token: string, method: string, path: string): Promise<Response> =>
      fetch(`${hub.url}${path}`, { method, headers: { authorization: `token ${token}` } });
    const dave = (await hub.cli(['token', 'issue', 'dave'])).trim();
    const alice = (await hub.cli(['token', 'issue', 'alice'])).trim();
    assert.ok([201, 202].includes((await api(dave, 'POST', '/hub/api/users/dave/server')).status));
    for (let i = 0; (await (await api(dave, 'GET', '/hub/api/eucp/users/dave/server-status')).json() as { state: string }).state !== 'running'; i++) {
      if (i > 600) throw new Error("dave's server never started");
      await sleep(100);
    }
    const pending = (await (await api(alice, 'GET', '/hub/api/eucp/access/requests?state=pending')).json()) as Array<{ id: number; user: string }>;
    const request = pending.find((r) => r.user === 'dave');
    assert.ok(request, JSON.stringify(pending));
    assert.equal((await api(alice, 'POST', `/hub/api/eucp/access/requests/${request.id}/approve`)).status, 200);

    await hub.cli(['user', 'password', 'dave', '--password-stdin'], 'dave-catalog-pw-51b7e\n');
    await logIn('dave', 'dave-catalog-pw-51b7e', datasetUrl);
    await page.locator('[data-access="readable"]').waitFor();
    const hint = page.getByRole('status').filter({ hasText: 'started before your access changed' });
    await hint.waitFor();
    await hint.getByRole('button', { name: 'Restart my server and open a notebook' }).click();
    await page.getByRole('button', { name: 'Yes, restart' }).click();
    await page.waitForURL(/\/user\/dave\/lab\/tree\/catalog\/cordex\.[^/]*\.tas\.v\d+\.ipynb$/, { timeout: 240_000 });
    const status = (await (await api(dave, 'GET', '/hub/api/eucp/users/dave/server-status')).json()) as { state: string; dataOutdated: boolean };
    assert.deepEqual([status.state, status.dataOutdated], ['running', false]);
  });
});

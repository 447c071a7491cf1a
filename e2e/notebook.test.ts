/**
 * The scientist's first day, in Debian's chromium: log in → start the server → open a
 * notebook → run a cell that reads the climate data → see the value.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { BrowserContext, Page } from 'playwright-core';
import { HubProcess } from '@eucp/testing/hub-process';
import { launchChromium, type TestBrowser } from '@eucp/testing/chromium';
import { demoTasFile } from '../packages/hub/test/integration/helpers.js';

describe('log in, start a server, run a cell', { timeout: 600_000 }, () => {
  let hub: HubProcess;
  let browser: BrowserContext;
  let page: Page;
  let chrome: TestBrowser | undefined;
  let erinPassword = '';

  before(async () => {
    hub = await HubProcess.start({ server: 'singleuser', toml: '[culler]\nenabled = false\n' });
    // A fresh profile every run: no cookies or cache from an earlier run.
    chrome = await launchChromium();
    browser = chrome.context;
    page = browser.pages()[0] ?? (await browser.newPage());
  });

  after(async () => {
    await chrome?.close();
    await hub?.destroy();
  });

  async function logIn(user: string, password: string): Promise<void> {
    await page.getByLabel(/user ?name/i).fill(user);
    await page.getByLabel(/password/i).fill(password);
    await page.getByRole('button', { name: /log ?in|sign in/i }).click();
  }

  it('lets the administrator create an account on the admin page, with a first password shown once', async () => {
    assert.ok(hub.adminPassword, 'the first start printed the admin password');
    await page.goto(`${hub.url}/hub/home`);
    await page.waitForURL(/\/hub\/login/);
    await logIn('admin', hub.adminPassword!);
    await page.waitForURL(/\/hub\/home/);
    await page.getByRole('link', { name: /^admin$/i }).click();
    await page.getByLabel(/user names/i).fill('erin');
    await page.getByRole('button', { name: /add users/i }).click();
    const field = page.getByLabel('Password of erin');
    await field.waitFor();
    erinPassword = await field.inputValue();
    assert.ok(erinPassword.length >= 12);
    await page.getByRole('link', { name: /log out/i }).click();
    await page.waitForURL(/\/hub\/login/);
  });

  it('lets the new user log in and land on the home page', async () => {
    await page.goto(`${hub.url}/hub/home`);
    await page.waitForURL(/\/hub\/login/);
    await logIn('erin', 'wrong-password');
    await page.getByText(/invalid username or password/i).waitFor();
    await logIn('erin', erinPassword);
    await page.waitForURL(/\/hub\/home/);
    await page.getByRole('heading', { name: /your server/i }).waitFor();
  });

  it('starts the server with visible progress and opens the Notebook UI', async () => {
    await page.getByRole('button', { name: /^start/i }).click();
    const open = page.getByRole('link', { name: /^open/i });
    await open.waitFor({ timeout: 120_000 });
    await open.click();
    await page.waitForURL(/\/user\/erin\/tree/, { timeout: 60_000 });
    await page.locator('#notebook_list').waitFor();
  });

  it('runs a cell in a notebook and shows the global-mean temperature of the demo data', async () => {
    const { file, oracle } = demoTasFile(hub.stateDir);
    // Create an empty notebook through the server's contents API, as the "New" menu does.
    const created = await page.evaluate(async () => {
      const doc = (globalThis as unknown as { document: { cookie: string } }).document;
      const xsrf = /(?:^|; )_xsrf=([^;]+)/.exec(doc.cookie)?.[1] ?? '';
      const r = await fetch('/user/erin/api/contents/first-day.ipynb', {
        method: 'PUT', headers: { 'content-type': 'application/json', 'x-xsrftoken': decodeURIComponent(xsrf) },
        body: JSON.stringify({ type: 'notebook', content: { cells: [], metadata: {}, nbformat: 4, nbformat_minor: 5 } }),
      });
      return r.status;
    });
    assert.equal(created, 201);
    await page.goto(`${hub.url}/user/erin/notebooks/first-day.ipynb`);
    await page.locator('#kernel_indicator_icon.kernel_idle_icon').waitFor({ timeout: 90_000 });
    const code = `import xarray as xr, numpy as np; ds = xr.open_dataset(${JSON.stringify(file)}); b = np.deg2rad(ds.lat_bnds); w = np.abs(np.sin(b[:, 1]) - np.sin(b[:, 0])); print('GMT', round(float(ds.tas.isel(time=0).weighted(w).mean(('lat', 'lon'))), 4))`;
    await page.locator('.CodeMirror').first().click();
    await page.keyboard.type(code);
    await page.keyboard.press('Shift+Enter');
    const output = page.locator('.output_area .output_text').filter({ hasText: 'GMT' }).first();
    await output.waitFor({ timeout: 120_000 });
    const value = Number(/GMT ([0-9.]+)/.exec(await output.innerText())?.[1]);
    assert.ok(Math.abs(value - oracle.value) <= oracle.tolerance + 1e-4, `${value} vs ${oracle.value}`);
  });
});

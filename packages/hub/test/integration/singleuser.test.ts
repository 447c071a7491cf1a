/**
 * The whole path a scientist takes, with real parts: a hub process, a single-user server
 * in a bubblewrap sandbox as the user's Unix account — both kinds: the unmodified
 * `jupyterhub-singleuser` (classic Notebook) and the EUCP lab server (JupyterLab 4) —
 * the OAuth handshake through the hub's proxy, and a Python kernel reading EUCP-SYN with
 * xarray over the proxied WebSocket. Every isolation check runs against both.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BrowserClient } from '@eucp/testing/browser-client';
import { HubProcess } from '@eucp/testing/hub-process';
import { KernelClient } from '@eucp/testing/kernel-client';
import { api, csrfOf, demoTasFile, startServerAndWait, wsUrl } from './helpers.js';

for (const kind of ['singleuser', 'lab'] as const) describe(`${kind} servers behind the hub`, { timeout: 600_000 }, () => {
  let hub: HubProcess;
  let admin: string;
  let aliceBrowser: BrowserClient;
  let bobBrowser: BrowserClient;
  let bobToken: string;

  before(async () => {
    hub = await HubProcess.start({ server: kind, toml: '[spawner.defaults]\nmemoryLimitBytes = 2147483648\ncpuLimitCores = 1\n' });
    admin = await hub.adminToken();
    await hub.cli(['user', 'add', 'alice', '--password-stdin'], 'alice-password-1\n');
    await hub.cli(['user', 'add', 'bob', '--password-stdin'], 'bob-password-1\n');
    bobToken = (await hub.cli(['token', 'issue', 'bob'])).trim();
    aliceBrowser = new BrowserClient(hub.url);
    bobBrowser = new BrowserClient(hub.url);
    assert.equal((await aliceBrowser.login('alice', 'alice-password-1')).status, 302);
    assert.equal((await bobBrowser.login('bob', 'bob-password-1')).status, 302);
  });

  after(async () => { await hub?.destroy(); });

  /** A new Python kernel in alice's server, through the proxy, with her browser's cookies. */
  async function openAliceKernel(): Promise<KernelClient> {
    const xsrf = aliceBrowser.cookie('_xsrf')?.value ?? '';
    const created = await aliceBrowser.request('/user/alice/api/kernels', {
      method: 'POST', body: JSON.stringify({ name: 'python3' }),
      headers: { 'content-type': 'application/json', 'x-xsrftoken': xsrf },
    });
    assert.equal(created.status, 201, await created.clone().text());
    const { id } = (await created.json()) as { id: string };
    const k = await KernelClient.connect(wsUrl(hub.url, `/user/alice/api/kernels/${id}/channels`), { cookie: aliceBrowser.cookieHeader('/user/alice/') });
    await k.waitReady();
    return k;
  }

  it('starts alice\'s server from her session and reports progress until ready', async () => {
    const events = await startServerAndWait(aliceBrowser, 'alice', await csrfOf(aliceBrowser));
    assert.equal(events[0]!.message, 'Server requested');
    const last = events[events.length - 1]!;
    assert.equal(last.ready, true, JSON.stringify(events));
    assert.equal(last.url, '/user/alice/');
    for (let i = 1; i < events.length; i++) assert.ok(events[i]!.progress >= events[i - 1]!.progress, 'progress never goes back');
    const status = await (await aliceBrowser.request('/hub/api/eucp/users/alice/server-status')).json() as { state: string; limits: { memoryLimitBytes: number } };
    assert.equal(status.state, 'running');
    assert.equal(status.limits.memoryLimitBytes, 2147483648);
  });

  it(`completes the OAuth handshake through the proxy and serves the ${kind === 'lab' ? 'JupyterLab' : 'classic Notebook'} UI`, async () => {
    const res = await aliceBrowser.get(kind === 'lab' ? '/user/alice/lab' : '/user/alice/tree');
    const html = await res.text();
    assert.equal(res.status, 200, html.slice(0, 500));
    assert.match(html, kind === 'lab' ? /jupyter-config-data/ : /Jupyter Notebook|notebook_list/);
    const hops = aliceBrowser.history.map((h) => h.url.split('?')[0]);
    assert.ok(hops.includes('/hub/api/oauth2/authorize'), hops.join(' → '));
    assert.ok(hops.includes('/user/alice/oauth_callback'), hops.join(' → '));
    assert.ok(aliceBrowser.cookie('jupyterhub-user-alice'), 'the server set its own login cookie');
    assert.ok(aliceBrowser.cookie('_xsrf'), 'and the _xsrf cookie JupyterLab echoes');
  });

  it('runs a cell over the proxied WebSocket that opens EUCP-SYN with xarray and prints the global-mean tas', async () => {
    const k = await openAliceKernel();
    try {
      const { file, oracle } = demoTasFile(hub.stateDir);
      const r = await k.execute([
        'import xarray as xr, numpy as np',
        `ds = xr.open_dataset(${JSON.stringify(file)})`,
        '# exact cell areas on a regular lon grid: proportional to the difference of sin(lat) at the bounds',
        'b = np.deg2rad(ds.lat_bnds)',
        'w = np.abs(np.sin(b[:, 1]) - np.sin(b[:, 0]))',
        'print(float(ds.tas.isel(time=0).weighted(w).mean(("lat", "lon"))))',
      ].join('\n'));
      assert.equal(r.status, 'ok', JSON.stringify(r));
      assert.ok(Math.abs(Number(r.stdout.trim()) - oracle.value) <= oracle.tolerance, `${r.stdout} vs ${oracle.value}`);
    } finally { k.close(); }
  });

  it('offers the Python and R kernels, a terminal, and cdo and nco on its command line', async () => {
    const specs = (await (await aliceBrowser.request('/user/alice/api/kernelspecs')).json()) as { kernelspecs: Record<string, unknown> };
    assert.ok('python3' in specs.kernelspecs, Object.keys(specs.kernelspecs).join(', '));
    assert.ok('ir' in specs.kernelspecs, `the R kernel: ${Object.keys(specs.kernelspecs).join(', ')}`);
    const xsrf = aliceBrowser.cookie('_xsrf')?.value ?? '';
    const term = await aliceBrowser.request('/user/alice/api/terminals', { method: 'POST', headers: { 'x-xsrftoken': xsrf } });
    assert.equal(term.status, 200, await term.clone().text());
    const { name } = (await term.json()) as { name: string };
    assert.equal((await aliceBrowser.request(`/user/alice/api/terminals/${name}`, { method: 'DELETE', headers: { 'x-xsrftoken': xsrf } })).status, 204);
    const k = await openAliceKernel();
    try {
      const r = await k.execute([
        'import subprocess',
        'for cmd in (["cdo", "-V"], ["ncks", "--version"], ["ncdump"]):',
        '    p = subprocess.run(cmd, capture_output=True, text=True)',
        '    print(cmd[0], "ok" if (p.stdout + p.stderr).strip() else "silent")',
      ].join('\n'));
      assert.equal(r.status, 'ok', JSON.stringify(r));
      assert.match(r.stdout, /cdo ok\nncks ok\nncdump ok/);
    } finally { k.close(); }
  });

  it('does not let bob reach alice\'s server with his cookie or his token', async () => {
    const viaCookie = await bobBrowser.request('/user/alice/api/status');
    assert.equal(viaCookie.status, 404);
    const viaToken = await fetch(`${hub.url}/user/alice/api/status`, { headers: { authorization: `token ${bobToken}` } });
    assert.equal(viaToken.status, 404);
    await assert.rejects(
      KernelClient.connect(wsUrl(hub.url, '/user/alice/api/kernels/x/channels'), { authorization: `token ${bobToken}` }),
      /HTTP 404/,
    );
    // Without any credentials, a browser is sent to the login page.
    const anon = await fetch(`${hub.url}/user/alice/tree`, { redirect: 'manual', headers: { accept: 'text/html' } });
    assert.equal(anon.status, 302);
    assert.match(anon.headers.get('location') ?? '', /^\/hub\/login\?next=/);
  });

  it("refuses bob even when he reaches alice's server directly, bypassing the hub's proxy", async () => {
    const routes = (await (await api(hub.url, admin, 'GET', '/hub/api/proxy')).json()) as Record<string, { target: string }>;
    const target = routes['/user/alice/']!.target.replace(/\/$/, '');
    const asBob = await fetch(`${target}/user/alice/api/contents`, { headers: { authorization: `token ${bobToken}` } });
    assert.equal(asBob.status, 403);
    assert.equal((await fetch(`${target}/user/alice/api/contents`)).status, 403);
    const asAlice = await fetch(`${target}/user/alice/api/contents`, { headers: { cookie: aliceBrowser.cookieHeader('/user/alice/') } });
    assert.equal(asAlice.status, 200, 'her own login cookie works on the server itself');
  });

  it('refuses a cross-site WebSocket (Origin checked)', async () => {
    await assert.rejects(
      KernelClient.connect(wsUrl(hub.url, '/user/alice/api/kernels/x/channels'), {
        cookie: aliceBrowser.cookieHeader('/user/alice/'), origin: 'http://evil.example',
      }),
      /HTTP 403/,
    );
  });

  it('runs bob\'s server too, and his token works on his own server', async () => {
    await api(hub.url, admin, 'POST', '/hub/api/users/bob/server');
    const deadline = Date.now() + 60_000;
    let status = 0;
    while (Date.now() < deadline && status !== 200) {
      status = (await fetch(`${hub.url}/user/bob/api/status`, { headers: { authorization: `token ${bobToken}` } })).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(status, 200);
  });

  it('keeps alice\'s kernel inside her sandbox: no bob, no hub state, no writes to /data, no root', async () => {
    const k = await openAliceKernel();
    try {
      const bobUnix = `${hub.unixUserPrefix}bob`;
      const r = await k.execute([
        'import os, json, glob',
        'out = {}',
        `bob_home = ${JSON.stringify(path.join(hub.stateDir, 'home', 'bob'))}`,
        'def attempt(f):',
        '    try:',
        '        return repr(f())',
        '    except Exception as e:',
        '        return type(e).__name__',
        'out["read_bob_home"] = attempt(lambda: os.listdir(bob_home))',
        `out["read_bob_home_in_sandbox"] = attempt(lambda: os.listdir("/home/${bobUnix}"))`,
        'out["homes"] = sorted(os.listdir("/home"))',
        `out["hub_db_visible"] = os.path.exists(${JSON.stringify(path.join(hub.stateDir, 'hub.sqlite'))})`,
        'out["root_visible"] = attempt(lambda: os.listdir("/root"))',
        'out["write_data"] = attempt(lambda: open("/data/intruder.txt", "w").write("x"))',
        'out["read_data"] = len(glob.glob("/data/CMIP6/**/*.nc", recursive=True)) > 0',
        'out["uid"] = os.getuid()',
        'cmds = []',
        'for p in os.listdir("/proc"):',
        '    if p.isdigit():',
        '        try: cmds.append(open(f"/proc/{p}/cmdline", "rb").read().decode(errors="replace"))',
        '        except Exception: pass',
        `out["sees_bob"] = any(${JSON.stringify(bobUnix)} in c or "/user/bob/" in c for c in cmds)`,
        'out["nprocs"] = len(cmds)',
        'print(json.dumps(out))',
      ].join('\n'));
      assert.equal(r.status, 'ok', JSON.stringify(r));
      const o = JSON.parse(r.stdout) as Record<string, unknown>;
      assert.ok(['FileNotFoundError', 'PermissionError'].includes(o.read_bob_home as string), `bob's home: ${String(o.read_bob_home)}`);
      assert.ok(['FileNotFoundError', 'PermissionError'].includes(o.read_bob_home_in_sandbox as string));
      assert.deepEqual(o.homes, [`${hub.unixUserPrefix}alice`]);
      assert.equal(o.hub_db_visible, false);
      assert.ok(['FileNotFoundError', 'PermissionError'].includes(o.root_visible as string));
      assert.ok(['OSError', 'PermissionError'].includes(o.write_data as string), `write /data: ${String(o.write_data)}`);
      assert.equal(o.read_data, true);
      assert.notEqual(o.uid, 0);
      assert.equal(o.sees_bob, false);
    } finally { k.close(); }
  });

  it('stops a server on request and frees its route', async () => {
    const res = await api(hub.url, admin, 'DELETE', '/hub/api/users/bob/server');
    assert.equal(res.status, 204);
    const after = await fetch(`${hub.url}/user/bob/api/status`, { headers: { authorization: `token ${bobToken}` }, redirect: 'manual' });
    assert.ok([302, 424].includes(after.status), `status ${after.status}`);
    const users = (await (await api(hub.url, admin, 'GET', '/hub/api/users/bob')).json()) as { server: string | null };
    assert.equal(users.server, null);
  });

  it('keeps expected.json oracles next to the data', () => {
    const expected = JSON.parse(readFileSync(path.join(hub.stateDir, 'data', 'expected.json'), 'utf8')) as object;
    assert.ok(Object.keys(expected).length > 0);
  });
});

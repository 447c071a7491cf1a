/**
 * Read-only sharing across real sandboxes (issue 5 §3): a hub process, lab servers in
 * bubblewrap sandboxes as separate Unix accounts, Python kernels and a terminal. Grants and
 * revocations reach servers that are already running (no restart); the filesystem, not
 * the UI, enforces read-only; a symbolic link in a shared folder does not leak the
 * owner's private file.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { HubProcess } from '@eucp/testing/hub-process';
import type { KernelClient } from '@eucp/testing/kernel-client';
import { BrowserClient } from '@eucp/testing/browser-client';
import { api, waitForServer, wsUrl, until, openKernel, runJson } from './helpers.js';

/** Python run in a kernel; prints one JSON line. */
const READ = (p: string) => `
import json
try:
    print(json.dumps({"ok": open(${JSON.stringify(p)}).read()}))
except OSError as e:
    print(json.dumps({"errno": e.errno, "err": type(e).__name__}))`;

describe('read-only sharing between two running sandboxes', { timeout: 900_000, concurrency: false }, () => {
  let hub: HubProcess;
  const tokens: Record<string, string> = {};
  const kernels: Record<string, KernelClient> = {};

  async function start(user: string): Promise<void> {
    const res = await api(hub.url, tokens[user]!, 'POST', `/hub/api/users/${user}/server`);
    assert.ok(res.status === 201 || res.status === 202, `${res.status} ${await res.text()}`);
    await waitForServer(hub.url, user, tokens[user]!);
    kernels[user] = (await openKernel(hub.url, user, tokens[user]!)).kernel;
  }

  const py = (user: string, code: string): Promise<Record<string, unknown>> => runJson(kernels[user]!, code);

  before(async () => {
    hub = await HubProcess.start({ toml: '[culler]\nenabled = false\n' });
    for (const u of ['alice', 'bob', 'carol']) {
      await hub.cli(['user', 'add', u]);
      tokens[u] = (await hub.cli(['token', 'issue', u])).trim();
    }
    await hub.cli(['user', 'add', 'dave', '--password-stdin'], 'dave-password-1\n');
    await hub.cli(['group', 'add', 'proj']);
    await hub.cli(['group', 'members', 'proj', '--add', 'carol']);
    await Promise.all(['alice', 'bob', 'carol'].map((u) => start(u)));
    // alice's files, written by her own kernel; the links point at her private file.
    const made = await py('alice', `
import os, json
home = os.path.expanduser("~")
os.makedirs("results", exist_ok=True)
open("results/tas.csv", "w").write("year,tas\\n2000,288.1\\n")
open("private.txt", "w").write("alice-secret")
open("notes.txt", "w").write("group notes")
os.symlink(os.path.join(home, "private.txt"), "results/abs-link")
os.symlink("../private.txt", "results/rel-link")
print(json.dumps({"home": home}))`);
    assert.ok(String(made['home']).startsWith('/home/'));
  });

  after(async () => {
    for (const k of Object.values(kernels)) k.close();
    try {
      // Revoke every share (the hub unmounts), then release the views this hub made.
      const mine = (await (await api(hub.url, tokens['alice']!, 'GET', '/hub/api/eucp/shares')).json()) as Array<{ id: number }>;
      for (const s of mine) await api(hub.url, tokens['alice']!, 'DELETE', `/hub/api/eucp/shares/${s.id}`);
    } finally {
      await hub?.destroy(); // also releases the views and share mounts (releaseShareMounts)
    }
    assert.deepEqual(readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(hub.stateDir)), [], 'no mount left behind');
  });

  let resultsId = 0;

  it('alice shares a folder with bob while both run: bob\'s kernel reads it at /shared/alice/results', async () => {
    const r = await api(hub.url, tokens['alice']!, 'POST', '/hub/api/eucp/shares', { path: 'results', with: { users: ['bob'] } });
    assert.equal(r.status, 201, await r.clone().text());
    resultsId = ((await r.json()) as { id: number }).id;
    const withMe = (await (await api(hub.url, tokens['bob']!, 'GET', '/hub/api/eucp/shares/with-me')).json()) as Array<{ sandbox_path: string; mounted: boolean }>;
    assert.deepEqual(withMe.map((s) => [s.sandbox_path, s.mounted]), [['/shared/alice/results', true]]);
    assert.deepEqual(await py('bob', READ('/shared/alice/results/tas.csv')), { ok: 'year,tas\n2000,288.1\n' });
    assert.deepEqual(await py('carol', 'import os, json; print(json.dumps({"shared": sorted(os.listdir("/shared"))}))'), { shared: [] });
  });

  it('bob cannot write the shared folder, and can copy the file into his home', async () => {
    const w = await py('bob', `
import json, errno
out = {}
for what, f in [("modify", lambda: open("/shared/alice/results/tas.csv", "a").write("x")),
                ("create", lambda: open("/shared/alice/results/new.txt", "w").write("x"))]:
    try:
        f(); out[what] = "written"
    except OSError as e:
        out[what] = errno.errorcode[e.errno]
print(json.dumps(out))`);
    for (const v of Object.values(w)) assert.ok(v === 'EROFS' || v === 'EACCES', JSON.stringify(w));
    assert.deepEqual(await py('bob', `
import shutil, json
shutil.copy("/shared/alice/results/tas.csv", "tas-copy.csv")
print(json.dumps({"ok": open("tas-copy.csv").read()}))`), { ok: 'year,tas\n2000,288.1\n' });
    assert.equal(readFileSync(path.join(hub.stateDir, 'home', 'alice', 'results', 'tas.csv'), 'utf8'), 'year,tas\n2000,288.1\n');
  });

  it('a symbolic link in the shared folder pointing at alice\'s private file gives bob nothing of it', async () => {
    for (const link of ['abs-link', 'rel-link']) {
      const r = await py('bob', READ(`/shared/alice/results/${link}`));
      assert.ok(!('ok' in r), `${link}: ${JSON.stringify(r)}`);
      assert.equal(r['err'], 'FileNotFoundError', JSON.stringify(r));
    }
    const listing = await py('bob', 'import os, json; print(json.dumps({"alice": sorted(os.listdir("/shared/alice"))}))');
    assert.deepEqual(listing, { alice: ['results'] });
  });

  it('a terminal in bob\'s sandbox reads the share too', async () => {
    const created = await fetch(`${hub.url}/user/bob/api/terminals`, { method: 'POST', headers: { authorization: `token ${tokens['bob']!}` } });
    assert.equal(created.status, 200, await created.clone().text());
    const { name } = (await created.json()) as { name: string };
    const ws = new WebSocket(wsUrl(hub.url, `/user/bob/terminals/websocket/${name}`), { headers: { authorization: `token ${tokens['bob']!}` } });
    let screen = '';
    ws.on('message', (m) => { const [kind, data] = JSON.parse(String(m)) as [string, string]; if (kind === 'stdout') screen += data; });
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    ws.send(JSON.stringify(['stdin', 'cat /shared/alice/results/tas.csv; touch /shared/alice/results/t 2>&1; echo __"done"__\r']));
    await until('the terminal', async () => screen.includes('__done__'));
    ws.close();
    assert.match(screen, /2000,288\.1/);
    assert.match(screen, /Read-only file system|Permission denied/);
  });

  it('alice revokes: bob\'s very next read fails, without a restart', async () => {
    const del = await api(hub.url, tokens['alice']!, 'DELETE', `/hub/api/eucp/shares/${resultsId}`);
    assert.equal(del.status, 204, await del.clone().text());
    const r = await py('bob', READ('/shared/alice/results/tas.csv'));
    assert.equal(r['err'], 'FileNotFoundError', JSON.stringify(r));
    assert.deepEqual(await py('bob', READ('tas-copy.csv')), { ok: 'year,tas\n2000,288.1\n' }, 'his copy stays his');
  });

  it('a grant to a group reaches a member\'s running server', async () => {
    const r = await api(hub.url, tokens['alice']!, 'POST', '/hub/api/eucp/shares', { path: 'notes.txt', name: 'notes', with: { groups: ['proj'] } });
    assert.equal(r.status, 201, await r.clone().text());
    assert.deepEqual(await py('carol', READ('/shared/alice/notes')), { ok: 'group notes' });
    assert.equal((await py('bob', READ('/shared/alice/notes')))['err'], 'FileNotFoundError');
  });

  it('an expired link gives nothing', async () => {
    const expires = Date.now() + 3000;
    const r = await api(hub.url, tokens['alice']!, 'POST', '/hub/api/eucp/shares', { path: 'results', name: 'by-link', with: { link: { expires_at: expires } } });
    assert.equal(r.status, 201, await r.clone().text());
    const { link_url: link } = (await r.json()) as { link_url: string };
    const dave = new BrowserClient(hub.url);
    assert.equal((await dave.login('dave', 'dave-password-1')).status, 302);
    const used = await dave.request(link);
    assert.equal(used.status, 303);
    const view = path.join(hub.stateDir, 'shared-views', 'dave', 'alice', 'by-link');
    assert.ok(readdirSync(view).includes('tas.csv'), 'mounted in dave\'s view while the link is valid');
    // The hub's expiry timer unmounts it: wait for that event (the API says so).
    await until('the link to expire', async () => {
      const seen = (await (await dave.request('/hub/api/eucp/shares/with-me')).json()) as unknown[];
      return seen.length === 0 && Date.now() > expires;
    });
    await until('the hub to unmount it from dave\'s view', async () => !existsSync(view));
    const late = await dave.request(link);
    assert.equal(late.status, 410, await late.clone().text());
  });
});

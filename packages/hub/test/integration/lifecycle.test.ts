/**
 * Server lifecycle with real parts, for both single-user servers (the EUCP lab server and
 * the unmodified jupyterhub-singleuser): a hub killed with SIGKILL re-adopts running
 * servers, a server that exceeds its memory limit is stopped with a clear message, and the
 * idle culler spares a server whose kernel is busy (or, on the lab server, whose terminal
 * runs a program).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import WebSocket from 'ws';
import { HubProcess } from '@eucp/testing/hub-process';
import type { KernelClient } from '@eucp/testing/kernel-client';
import { api, waitForServer, wsUrl, until, openKernel } from './helpers.js';

const run = promisify(execFile);
const KINDS = ['lab', 'singleuser'] as const;

/** Live processes of a Unix account (zombies hold no resources and are left out). */
async function processesOf(unixUser: string): Promise<string[]> {
  try {
    const { stdout } = await run('/usr/bin/ps', ['-u', unixUser, '-o', 'pid=,stat=,comm=']);
    return stdout.trim().split('\n').map((l) => l.trim()).filter((l) => l && !/^\d+\s+Z/.test(l));
  } catch { return []; } // ps exits 1 when the user has no processes (or does not exist)
}

async function statusOf(hub: HubProcess, admin: string, user: string): Promise<{ state: string; failure: { code: string; message: string } | null }> {
  return (await (await api(hub.url, admin, 'GET', `/hub/api/eucp/users/${user}/server-status`)).json()) as never;
}

async function kernelOf(hub: HubProcess, user: string, token: string): Promise<KernelClient> {
  const { id, kernel: k } = await openKernel(hub.url, user, token);
  // The Notebook server learns a kernel's state from status messages and can miss the first
  // ones (it then says "starting"); wait until it has seen the kernel idle, as a user who
  // opened a notebook a moment ago would have.
  await until('the server to see the kernel idle', async () => {
    const r = await fetch(`${hub.url}/user/${user}/api/kernels/${id}`, { headers: { authorization: `token ${token}` } });
    if (((await r.json()) as { execution_state: string }).execution_state === 'idle') return true;
    await k.execute('pass');
    return false;
  });
  return k;
}

for (const kind of KINDS) describe(`hub restart (${kind})`, { timeout: 300_000 }, () => {
  let hub: HubProcess;
  let admin: string;
  before(async () => {
    hub = await HubProcess.start({ server: kind, toml: '[culler]\nenabled = false\n' });
    admin = await hub.adminToken();
  });
  after(async () => { await hub?.destroy(); });

  it('re-adopts running servers after the hub is killed with SIGKILL, and leaves nothing orphaned', async () => {
    await hub.cli(['user', 'add', 'rita', '--password-stdin'], 'rita-password-1\n');
    const token = (await hub.cli(['token', 'issue', 'rita'])).trim();
    assert.ok([201, 202].includes((await api(hub.url, admin, 'POST', '/hub/api/users/rita/server')).status));
    await waitForServer(hub.url, 'rita', token);
    const before = (await (await fetch(`${hub.url}/user/rita/api/status`, { headers: { authorization: `token ${token}` } })).json()) as { started: string };
    const procsBefore = await processesOf(`${hub.unixUserPrefix}rita`);
    assert.ok(procsBefore.length > 0);

    await hub.restart('SIGKILL');

    const res = await fetch(`${hub.url}/user/rita/api/status`, { headers: { authorization: `token ${token}` } });
    assert.equal(res.status, 200, 'the route survived the restart');
    const afterRestart = (await res.json()) as { started: string };
    assert.equal(afterRestart.started, before.started, 'the same server process, not a new one');
    assert.equal((await statusOf(hub, admin, 'rita')).state, 'running');

    assert.equal((await api(hub.url, admin, 'DELETE', '/hub/api/users/rita/server')).status, 204);
    assert.deepEqual(await processesOf(`${hub.unixUserPrefix}rita`), [], 'no process of the user is left');
  });
});

for (const kind of KINDS) describe(`memory limit (${kind})`, { timeout: 300_000 }, () => {
  let hub: HubProcess;
  let admin: string;
  before(async () => {
    hub = await HubProcess.start({ server: kind, toml: 'pollIntervalMs = 1000\n[spawner.users.carol]\nmemoryLimitBytes = 536870912\n[culler]\nenabled = false\n' });
    admin = await hub.adminToken();
  });
  after(async () => { await hub?.destroy(); });

  it('stops a server that exceeds its memory and tells the user why', async () => {
    await hub.cli(['user', 'add', 'carol', '--password-stdin'], 'carol-password-1\n');
    const token = (await hub.cli(['token', 'issue', 'carol'])).trim();
    await api(hub.url, admin, 'POST', '/hub/api/users/carol/server');
    await waitForServer(hub.url, 'carol', token);
    assert.equal((await statusOf(hub, admin, 'carol')).state, 'running');
    const k = await kernelOf(hub, 'carol', token);
    // 1 GiB of real (touched) bytes in a 512 MiB sandbox; the kernel dies, the hub notices.
    const alloc = k.execute("x = b'1' * (1024 ** 3)", 120_000).catch((e: Error) => e);
    const status = await until('the server to be stopped', async () => {
      const s = await statusOf(hub, admin, 'carol');
      return s.state === 'failed' ? s : null;
    });
    assert.ok((await alloc) instanceof Error, 'the cell never completed');
    k.close();
    assert.equal(status.failure?.code, 'MEMORY_LIMIT_EXCEEDED');
    assert.match(status.failure!.message, /512 MiB/);
    assert.deepEqual(await processesOf(`${hub.unixUserPrefix}carol`), []);
  });
});

for (const kind of KINDS) describe(`idle culler (${kind})`, { timeout: 300_000 }, () => {
  let hub: HubProcess;
  let admin: string;
  before(async () => {
    hub = await HubProcess.start({ server: kind, toml: '[culler]\nenabled = true\ntimeoutMs = 3000\neveryMs = 1000\n' });
    admin = await hub.adminToken();
  });
  after(async () => { await hub?.destroy(); });

  it('spares a server whose kernel is busy, then culls it once idle', async () => {
    await hub.cli(['user', 'add', 'dave', '--password-stdin'], 'dave-password-1\n');
    const token = (await hub.cli(['token', 'issue', 'dave'])).trim();
    await api(hub.url, admin, 'POST', '/hub/api/users/dave/server');
    await waitForServer(hub.url, 'dave', token);
    const k = await kernelOf(hub, 'dave', token);
    const started = Date.now();
    const busy = k.execute('import time; time.sleep(10); print("done")', 60_000);
    // Well past the idle timeout while the kernel computes: still running.
    await new Promise((r) => setTimeout(r, 7000));
    assert.equal((await statusOf(hub, admin, 'dave')).state, 'running', 'a busy kernel keeps its server');
    const r = await busy;
    assert.equal(r.stdout.trim(), 'done');
    k.close();
    await until('the idle server to be culled', async () => (await statusOf(hub, admin, 'dave')).state === 'stopped', 60_000);
    assert.ok(Date.now() - started > 10_000);
  });

  if (kind === 'lab') it('spares a server whose terminal runs a program, then culls it once the program ended', async () => {
    await api(hub.url, admin, 'POST', '/hub/api/users/dave/server');
    const token = (await hub.cli(['token', 'issue', 'dave'])).trim();
    await waitForServer(hub.url, 'dave', token);
    const created = await fetch(`${hub.url}/user/dave/api/terminals`, { method: 'POST', headers: { authorization: `token ${token}` } });
    const { name } = (await created.json()) as { name: string };
    const ws = new WebSocket(wsUrl(hub.url, `/user/dave/terminals/websocket/${name}`), { headers: { authorization: `token ${token}` } });
    let screen = '';
    ws.on('message', (m) => {
      const [kind, data] = JSON.parse(String(m)) as [string, string];
      if (kind === 'stdout') screen += data;
    });
    await new Promise((r) => ws.once('open', r));
    const started = Date.now();
    ws.send(JSON.stringify(['stdin', 'sleep 9; echo slept-$((4*4))\r']));
    await new Promise((r) => setTimeout(r, 7000));
    assert.equal((await statusOf(hub, admin, 'dave')).state, 'running', 'a terminal running a program keeps its server');
    await until('the program to end', async () => screen.includes('slept-16'));
    ws.close();
    await until('the idle server to be culled', async () => (await statusOf(hub, admin, 'dave')).state === 'stopped', 60_000);
    assert.ok(Date.now() - started > 9000);
  });
});

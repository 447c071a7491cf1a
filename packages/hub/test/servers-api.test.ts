/**
 * The server lifecycle API and the proxy, in process, over real sockets, with the named
 * fake spawners (a tiny Python HTTP server instead of Jupyter, no sandbox): start and
 * stop status codes, the progress stream, failures that tell the user what happened,
 * cookie stripping and access control in the proxy, and re-adoption by a new hub.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { configSchema } from '@eucp/hub/config/schema';
import { createHub, type Hub } from '@eucp/hub/hub';
import type { Spawner } from '@eucp/hub/spawners/spawner';
import { CrashingSpawner, ECHO_SERVER_PATH, FailingSpawner, ProcessSpawner, SlowSpawner } from '@eucp/testing';
import { BrowserClient } from '@eucp/testing/browser-client';
import { readProgress } from './integration/helpers.js';

interface TestHub { hub: Hub; url: string; admin: string; stateDir: string; close(): Promise<void> }

async function startHub(spawner: Spawner, stateDir = mkdtempSync(path.join(tmpdir(), 'eucp-servers-')), now?: () => number): Promise<TestHub> {
  const config = configSchema.parse({
    port: 0, stateDir, culler: { enabled: false },
    spawner: { cmd: ['/usr/bin/python3', ECHO_SERVER_PATH], slowSpawnTimeoutMs: 1500, startTimeoutMs: 15_000, pollIntervalMs: 200 },
  });
  const hub = await createHub({ config, log: pino({ level: 'silent' }), spawner, ...(now ? { now } : {}) });
  const url = (await hub.listen()).replace(/\/$/, '');
  let admin = '';
  if (!(await hub.ctx.accounts.findUser('admin'))) await hub.ctx.accounts.createUser('admin', { admin: true, password: 'admin-password-1' });
  const adminUser = await hub.ctx.accounts.getUser('admin');
  admin = (await hub.ctx.auth.issueToken({ userId: adminUser.id, scopes: ['inherit'], note: 'test' })).token;
  return { hub, url, admin, stateDir, close: () => hub.close() };
}

function call(t: TestHub, method: string, p: string, token = t.admin): Promise<Response> {
  return fetch(`${t.url}${p}`, { method, headers: { authorization: `token ${token}` }, redirect: 'manual' });
}

async function userToken(t: TestHub, name: string): Promise<string> {
  const u = (await t.hub.ctx.accounts.findUser(name)) ?? (await t.hub.ctx.accounts.createUser(name, { password: `${name}-password-1` }));
  return (await t.hub.ctx.auth.issueToken({ userId: u.id, scopes: ['inherit'], note: 'test' })).token;
}

describe('server lifecycle API with a process spawner', { timeout: 120_000 }, () => {
  const spawner = new ProcessSpawner();
  let t: TestHub;
  before(async () => { t = await startHub(spawner); });
  after(async () => {
    for (const u of ['alice', 'bob']) await call(t, 'DELETE', `/hub/api/users/${u}/server`).catch(() => {});
    await t.close();
    rmSync(t.stateDir, { recursive: true, force: true });
  });

  it('starts a server (201), refuses a second start (400), and streams progress to ready', async () => {
    await userToken(t, 'alice');
    const res = await call(t, 'POST', '/hub/api/users/alice/server');
    assert.equal(res.status, 201);
    const again = await call(t, 'POST', '/hub/api/users/alice/server');
    assert.equal(again.status, 400);
    assert.match(((await again.json()) as { message: string }).message, /already running/);
    const events = await readProgress(await call(t, 'GET', '/hub/api/users/alice/server/progress'));
    assert.deepEqual(events.at(-1), {
      progress: 100, ready: true, url: '/user/alice/', message: 'Server ready at /user/alice/',
      html_message: 'Server ready at <a href="/user/alice/">/user/alice/</a>',
    });
    const model = (await (await call(t, 'GET', '/hub/api/users/alice')).json()) as { server: string; servers: Record<string, { ready: boolean; pending: null }> };
    assert.equal(model.server, '/user/alice/');
    assert.equal(model.servers['']!.ready, true);
  });

  it('lists the routing table for admins (GET /hub/api/proxy) and refuses others', async () => {
    const table = (await (await call(t, 'GET', '/hub/api/proxy')).json()) as Record<string, { target: string; data: { user: string } }>;
    assert.match(table['/user/alice/']!.target, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(table['/user/alice/']!.data.user, 'alice');
    const bob = await userToken(t, 'bob');
    assert.equal((await call(t, 'GET', '/hub/api/proxy', bob)).status, 403);
  });

  it('proxies to the owner with the hub cookie removed and JupyterHub\'s session id kept', async () => {
    const b = new BrowserClient(t.url);
    assert.equal((await b.login('alice', 'alice-password-1')).status, 302);
    assert.ok(b.cookie('eucp-session'));
    const res = await b.request('/user/alice/headers', { headers: { cookie: '' } });
    assert.equal(res.status, 200);
    const echoed = (await res.json()) as { headers: Record<string, string> };
    const cookie = echoed.headers.cookie ?? echoed.headers.Cookie ?? '';
    assert.doesNotMatch(cookie, /eucp-session/);
    assert.match(cookie, /jupyterhub-session-id=/);
  });

  it('closes access to the server as soon as the user logs out of the hub', async () => {
    const b = new BrowserClient(t.url);
    await b.login('alice', 'alice-password-1');
    assert.equal((await b.request('/user/alice/headers')).status, 200);
    await b.request('/hub/logout');
    const after = await b.request('/user/alice/headers', { headers: { accept: 'text/html' } });
    assert.equal(after.status, 302);
    assert.match(after.headers.get('location') ?? '', /^\/hub\/login/);
  });

  it('gives another user 404 and an anonymous browser the login page', async () => {
    const bob = await userToken(t, 'bob');
    assert.equal((await call(t, 'GET', '/user/alice/', bob)).status, 404);
    const anon = await fetch(`${t.url}/user/alice/`, { redirect: 'manual', headers: { accept: 'text/html' } });
    assert.equal(anon.status, 302);
    assert.equal(anon.headers.get('location'), '/hub/login?next=%2Fuser%2Falice%2F');
  });

  it('sends requests for a stopped server to the hub, which says how to restart it', async () => {
    const bob = await userToken(t, 'bob');
    const res = await call(t, 'GET', '/user/bob/api/contents', bob);
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), '/hub/user/bob/api/contents');
    const hubRes = await call(t, 'GET', '/hub/user/bob/api/contents', bob);
    assert.equal(hubRes.status, 424);
  });

  it('notices a server whose process died and marks it stopped', async () => {
    await call(t, 'POST', '/hub/api/users/bob/server');
    const bob = await userToken(t, 'bob');
    assert.equal((await call(t, 'GET', '/user/bob/exit?code=3', bob)).status, 200);
    const deadline = Date.now() + 10_000;
    let state = '';
    while (Date.now() < deadline && state !== 'stopped') {
      state = ((await (await call(t, 'GET', '/hub/api/eucp/users/bob/server-status')).json()) as { state: string }).state;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(state, 'stopped');
    assert.equal((await call(t, 'GET', '/user/bob/', bob)).status, 302, 'the route is gone');
  });

  it('stops with 204 and is idempotent', async () => {
    assert.equal((await call(t, 'DELETE', '/hub/api/users/alice/server')).status, 204);
    assert.equal((await call(t, 'DELETE', '/hub/api/users/alice/server')).status, 204);
    assert.equal((await call(t, 'GET', '/hub/api/users/alice/server/progress')).status, 400);
  });

  it('lets an admin give a user a new password (shown once) that works and ends old sessions', async () => {
    const b = new BrowserClient(t.url);
    await b.login('alice', 'alice-password-1');
    const res = await fetch(`${t.url}/hub/api/eucp/users/alice/password`, { method: 'POST', headers: { authorization: `token ${t.admin}` } });
    assert.equal(res.status, 200);
    const { password } = (await res.json()) as { password: string };
    assert.ok(password.length >= 12);
    assert.equal((await b.request('/hub/api/eucp/session')).status, 403, 'the old session ended');
    assert.equal((await new BrowserClient(t.url).login('alice', password)).status, 302);
    assert.equal((await new BrowserClient(t.url).login('alice', 'alice-password-1')).status, 403);
    const bob = await userToken(t, 'bob');
    const denied = await fetch(`${t.url}/hub/api/eucp/users/alice/password`, { method: 'POST', headers: { authorization: `token ${bob}` } });
    assert.equal(denied.status, 403, 'bob holds no admin:users scope');
    const short = await fetch(`${t.url}/hub/api/eucp/users/alice/password`, {
      method: 'POST', headers: { authorization: `token ${t.admin}`, 'content-type': 'application/json' }, body: '{"password":"short"}',
    });
    assert.equal(short.status, 400);
  });

  it('answers 404 for unknown users and 400 for malformed names', async () => {
    assert.equal((await call(t, 'POST', '/hub/api/users/nobody/server')).status, 404);
    assert.equal((await call(t, 'POST', '/hub/api/users/Bad%20Name/server')).status, 400);
  });
});

describe('slow, failing and crashing servers', { timeout: 120_000 }, () => {
  it('answers 202 for a slow start and delivers the progress events as they happen', async () => {
    const t = await startHub(new SlowSpawner({ inner: new ProcessSpawner(), delayMs: 2500 }));
    try {
      await userToken(t, 'sam');
      assert.equal((await call(t, 'POST', '/hub/api/users/sam/server')).status, 202);
      const model = (await (await call(t, 'GET', '/hub/api/users/sam')).json()) as { pending: string };
      assert.equal(model.pending, 'spawn');
      const events = await readProgress(await call(t, 'GET', '/hub/api/users/sam/server/progress'));
      assert.ok(events.length >= 4, JSON.stringify(events));
      assert.equal(events.at(-1)!.ready, true);
      await call(t, 'DELETE', '/hub/api/users/sam/server');
    } finally { await t.close(); rmSync(t.stateDir, { recursive: true, force: true }); }
  });

  it('reports a failed start with the reason and what to do, and allows a new start', async () => {
    const t = await startHub(new FailingSpawner({ detail: 'the disk is on fire' }));
    try {
      await userToken(t, 'fay');
      const res = await call(t, 'POST', '/hub/api/users/fay/server');
      assert.equal(res.status, 500, 'a start that fails at once is reported as a failure, not as 201');
      const body = (await res.json()) as { code: string; message: string; action: string };
      assert.equal(body.code, 'SPAWN_FAILED');
      assert.match(body.message, /the disk is on fire/);
      const events = await readProgress(await call(t, 'GET', '/hub/api/users/fay/server/progress'));
      assert.equal(events.at(-1)!.failed, true);
      assert.match(events.at(-1)!.message, /Spawn failed: .*the disk is on fire/);
      const status = (await (await call(t, 'GET', '/hub/api/eucp/users/fay/server-status')).json()) as { state: string; failure: { code: string; action: string } };
      assert.equal(status.state, 'failed');
      assert.equal(status.failure.code, 'SPAWN_FAILED');
      assert.ok(status.failure.action.length > 10);
      const again = await call(t, 'POST', '/hub/api/users/fay/server');
      assert.equal(again.status, 500, 'a failed server can be started again (and here fails again), not refused as running');
    } finally { await t.close(); rmSync(t.stateDir, { recursive: true, force: true }); }
  });

  it('marks a server that crashes after starting as stopped and drops its route', async () => {
    const t = await startHub(new CrashingSpawner({ inner: new ProcessSpawner(), crashAfterMs: 300 }));
    try {
      const token = await userToken(t, 'cai');
      assert.equal((await call(t, 'POST', '/hub/api/users/cai/server')).status, 201);
      const deadline = Date.now() + 10_000;
      let state = 'running';
      while (Date.now() < deadline && (state === 'running' || state === 'stopping')) {
        state = ((await (await call(t, 'GET', '/hub/api/eucp/users/cai/server-status')).json()) as { state: string }).state;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(state, 'stopped');
      assert.equal((await call(t, 'GET', '/user/cai/', token)).status, 302);
    } finally { await t.close(); rmSync(t.stateDir, { recursive: true, force: true }); }
  });
});

describe('a new hub process re-adopts running servers', { timeout: 60_000 }, () => {
  it('restores routes from the database and can stop what the old hub started', async () => {
    const spawner = new ProcessSpawner();
    const first = await startHub(spawner);
    const token = await userToken(first, 'ada');
    assert.equal((await call(first, 'POST', '/hub/api/users/ada/server')).status, 201);
    const pid = ((await (await call(first, 'GET', '/user/ada/', token)).json()) as { pid: number }).pid;
    await first.close();
    const second = await startHub(new ProcessSpawner(), first.stateDir);
    try {
      const res = await call(second, 'GET', '/user/ada/', token);
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { pid: number }).pid, pid, 'the same process, re-adopted');
      assert.equal((await call(second, 'DELETE', '/hub/api/users/ada/server')).status, 204);
      assert.throws(() => process.kill(pid, 0), 'the server process is gone');
    } finally { await second.close(); rmSync(first.stateDir, { recursive: true, force: true }); }
  });
});

describe('idle culler decisions', { timeout: 60_000 }, () => {
  it('keeps an idle server that cannot say whether a kernel is busy for two passes, then culls it', async () => {
    let clock = Date.now();
    const t = await startHub(new ProcessSpawner(), undefined, () => clock);
    try {
      await userToken(t, 'ivy');
      assert.equal((await call(t, 'POST', '/hub/api/users/ivy/server')).status, 201);
      assert.deepEqual(await t.hub.culler.cullOnce(), [], 'not idle yet');
      clock += t.hub.ctx.config.culler.timeoutMs + 1000;
      // The fake server has no kernels API: its answer is unknown.
      assert.deepEqual(await t.hub.culler.cullOnce(), []);
      assert.deepEqual(await t.hub.culler.cullOnce(), []);
      assert.deepEqual(await t.hub.culler.cullOnce(), ['ivy/']);
      const status = (await (await call(t, 'GET', '/hub/api/eucp/users/ivy/server-status')).json()) as { state: string };
      assert.equal(status.state, 'stopped');
    } finally { await t.close(); rmSync(t.stateDir, { recursive: true, force: true }); }
  });
});

/**
 * The proxy with cached request authentication (decision 0004), in process over real
 * sockets with the process spawner's echo server: a revoked token and a logged-out
 * session are refused on the very next proxied request and WebSocket upgrade; malformed
 * paths are answered 400 instead of taking the hub down.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { ECHO_SERVER_PATH, ProcessSpawner } from '@eucp/testing';
import { BrowserClient } from '@eucp/testing/browser-client';
import { configSchema } from '../config/schema.js';
import { createHub, type Hub } from '../hub.js';

/**
 * Status of a WebSocket upgrade request: the hub's refusal (400/403/404, always a complete
 * HTTP answer), or — when the hub passes it on to the echo server, which is no WebSocket
 * server — whatever comes back: usually 200, or 0 when that server hangs up on it.
 */
function upgradeStatus(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    // A fresh connection each time: Node's global agent keeps sockets alive, and a socket the
    // proxy already handed to the echo server would carry the next attempt past the hub.
    const req = http.request(url, {
      agent: false,
      headers: { ...headers, connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' },
    });
    req.on('response', (res) => { res.resume(); resolve(res.statusCode ?? 0); });
    req.on('upgrade', (_res, socket) => { socket.destroy(); resolve(101); });
    req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? resolve(0) : reject(err)));
    req.end();
  });
}

/** What the hub answers when it refuses an upgrade itself. */
const HUB_REFUSALS = [400, 403, 404];

describe('proxy authentication with the cache', { timeout: 60_000 }, () => {
  let hub: Hub;
  let url: string;
  let stateDir: string;
  let admin: string;
  let alice: string;
  const get = (p: string, headers: Record<string, string>) => fetch(`${url}${p}`, { headers, redirect: 'manual' });

  before(async () => {
    stateDir = mkdtempSync(path.join(tmpdir(), 'eucp-proxy-auth-'));
    const config = configSchema.parse({
      port: 0, stateDir, culler: { enabled: false },
      spawner: { cmd: ['/usr/bin/python3', ECHO_SERVER_PATH], slowSpawnTimeoutMs: 5000, startTimeoutMs: 15_000, pollIntervalMs: 200 },
    });
    hub = await createHub({ config, log: pino({ level: 'silent' }), spawner: new ProcessSpawner() });
    url = (await hub.listen()).replace(/\/$/, '');
    const root = await hub.ctx.accounts.createUser('root', { admin: true });
    admin = (await hub.ctx.auth.issueToken({ userId: root.id, scopes: ['inherit'] })).token;
    const a = await hub.ctx.accounts.createUser('alice', { password: 'alice-password-1' });
    alice = (await hub.ctx.auth.issueToken({ userId: a.id, scopes: ['inherit'] })).token;
    const res = await fetch(`${url}/hub/api/users/alice/server`, { method: 'POST', headers: { authorization: `token ${admin}` } });
    assert.equal(res.status, 201);
  });
  after(async () => {
    await fetch(`${url}/hub/api/users/alice/server`, { method: 'DELETE', headers: { authorization: `token ${admin}` } }).catch(() => {});
    await hub.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('refuses a revoked token on the very next proxied request and upgrade', async () => {
    const u = await hub.ctx.accounts.getUser('alice');
    const { id, token } = await hub.ctx.auth.issueToken({ userId: u.id, scopes: ['inherit'] });
    const h = { authorization: `token ${token}` };
    for (let i = 0; i < 3; i++) assert.equal((await get('/user/alice/headers', h)).status, 200);
    assert.ok(!HUB_REFUSALS.includes(await upgradeStatus(`${url}/user/alice/headers`, h)), 'passed on to the server before the revocation');
    const del = await fetch(`${url}/hub/api/users/alice/tokens/a${id}`, { method: 'DELETE', headers: { authorization: `token ${alice}` } });
    assert.equal(del.status, 204);
    const after = await get('/user/alice/headers', h);
    assert.equal(after.status, 403);
    assert.equal(((await after.json()) as { code: string }).code, 'UNAUTHENTICATED');
    assert.equal(await upgradeStatus(`${url}/user/alice/headers`, h), 403);
    assert.equal((await get('/user/alice/headers', { authorization: `token ${alice}` })).status, 200, 'other tokens still work');
  });

  it('refuses a logged-out session on the very next proxied request and upgrade', async () => {
    const b = new BrowserClient(url);
    assert.equal((await b.login('alice', 'alice-password-1')).status, 302);
    const cookie = `eucp-session=${b.cookie('eucp-session')!.value}`;
    for (let i = 0; i < 3; i++) assert.equal((await get('/user/alice/headers', { cookie })).status, 200);
    assert.ok(!HUB_REFUSALS.includes(await upgradeStatus(`${url}/user/alice/headers`, { cookie })), 'passed on to the server before logging out');
    assert.equal((await get('/hub/logout', { cookie })).status, 302);
    assert.equal((await get('/user/alice/headers', { cookie })).status, 403);
    assert.equal(await upgradeStatus(`${url}/user/alice/headers`, { cookie }), 403);
  });

  it('answers malformed paths with 400 and keeps serving', async () => {
    const h = { authorization: `token ${alice}` };
    assert.equal((await get('/user/%E0/tree', h)).status, 400);
    assert.equal((await get('/user/%E0/tree', {})).status, 400);
    assert.equal(await upgradeStatus(`${url}/user/alice%E0/api/kernels/k/channels`, h), 400);
    assert.equal((await get('/user/alice/headers', h)).status, 200);
  });
});

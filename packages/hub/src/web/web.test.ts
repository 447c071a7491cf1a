import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import type { UserName } from '@eucp/core';
import type { AuthContext } from '../auth/types.js';
import { defaultDistDir, safeAssetPath } from './assets.js';
import { prefersJson, registerWeb, type WebContext } from './index.js';

const BIG_JS = `export const data = ${JSON.stringify('x'.repeat(5000))};\n`;
const SECRET = 'top secret, outside dist';

let root: string;
let dist: string;

before(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'eucp-web-test-'));
  dist = path.join(root, 'dist');
  await mkdir(path.join(dist, 'assets'), { recursive: true });
  await writeFile(path.join(root, 'secret.txt'), SECRET);
  await writeFile(path.join(root, 'package.json'), SECRET);
  await writeFile(path.join(dist, 'index.html'), '<!doctype html><div id="root"></div><script type="module" src="/hub/static/assets/index-AbCd1234.js"></script>');
  await writeFile(path.join(dist, 'assets', 'index-AbCd1234.js'), BIG_JS);
  await writeFile(path.join(dist, 'assets', 'index-Xy_-9876.css'), 'body{color:red}');
  await writeFile(path.join(dist, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  await writeFile(path.join(dist, '.eucp-src-sha'), 'abc');
  await symlink(path.join(root, 'secret.txt'), path.join(dist, 'assets', 'leak-abcdefgh.js'));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Fake of the only service the web routes use: the server status, with a call log. */
function fakeServers(states: Record<string, string> = {}) {
  const calls: string[] = [];
  const ctx: WebContext = {
    servers: {
      async status(user: UserName) {
        calls.push(user);
        const state = states[user];
        if (!state) throw new Error('no such user');
        return { state, url: null, limits: { memoryLimitBytes: null, cpuLimitCores: null }, failure: null, startedAt: null, lastActivity: null } as never;
      },
    },
  };
  return { ctx, calls };
}

/**
 * A bare app with a stub auth hook: `x-test-user` logs in (`x-test-via: token` for a
 * token), scopes: own servers, or every server for `x-test-admin`.
 */
async function makeApp(opts: { distDir?: string; states?: Record<string, string> } = {}): Promise<{ app: FastifyInstance; calls: string[] }> {
  const app = Fastify();
  app.decorateRequest('auth', null);
  app.addHook('onRequest', async (req) => {
    const name = req.headers['x-test-user'];
    if (typeof name !== 'string') return;
    const admin = req.headers['x-test-admin'] === '1';
    const auth: AuthContext = {
      user: { id: 1, name: name as UserName, admin, groups: [] },
      scopes: admin ? ['read:servers', 'access:servers'] : [`read:servers!user=${name}`, `access:servers!user=${name}`],
      via: req.headers['x-test-via'] === 'token' ? 'token' : 'session',
      sessionId: null,
      tokenId: null,
      csrfToken: 'csrf',
    };
    req.auth = auth;
  });
  const { ctx, calls } = fakeServers(opts.states);
  await registerWeb(app, ctx, { distDir: opts.distDir ?? dist });
  await app.ready();
  return { app, calls };
}

const alice = { 'x-test-user': 'alice' };

/**
 * GETs `rawPath` over a real socket, byte for byte: `inject` (like browsers) would
 * resolve `..` and `%2e%2e` before the hub sees them, hiding what an attacker can send.
 */
async function rawGet(app: FastifyInstance, rawPath: string, headers: Record<string, string> = {}): Promise<{ status: number; location?: string; body: string }> {
  const address = app.server.address();
  assert.ok(address && typeof address === 'object', 'app must be listening');
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: address.port, path: rawPath, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('hashed assets are served with their type and a long cache', async () => {
  const { app } = await makeApp();
  const js = await app.inject({ url: '/hub/static/assets/index-AbCd1234.js' });
  assert.equal(js.statusCode, 200);
  assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
  assert.equal(js.headers['cache-control'], 'public, max-age=31536000, immutable');
  assert.equal(js.headers['x-content-type-options'], 'nosniff');
  assert.equal(js.body, BIG_JS);
  assert.equal(Number(js.headers['content-length']), Buffer.byteLength(BIG_JS));

  const css = await app.inject({ url: '/hub/static/assets/index-Xy_-9876.css' });
  assert.equal(css.headers['content-type'], 'text/css; charset=utf-8');
  assert.match(String(css.headers['cache-control']), /immutable/);

  const icon = await app.inject({ url: '/hub/static/favicon.svg' });
  assert.equal(icon.statusCode, 200);
  assert.equal(icon.headers['content-type'], 'image/svg+xml');
  assert.equal(icon.headers['cache-control'], 'no-cache', 'unhashed files revalidate');
  await app.close();
});

test('assets: gzip when accepted, 304 on a matching ETag, HEAD without body', async () => {
  const { app } = await makeApp();
  const gz = await app.inject({ url: '/hub/static/assets/index-AbCd1234.js', headers: { 'accept-encoding': 'gzip, deflate' } });
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.equal(gz.headers.vary, 'Accept-Encoding');
  assert.equal(gunzipSync(gz.rawPayload).toString(), BIG_JS);
  const etag = String(gz.headers.etag);
  const again = await app.inject({ url: '/hub/static/assets/index-AbCd1234.js', headers: { 'accept-encoding': 'gzip', 'if-none-match': etag } });
  assert.equal(again.statusCode, 304);
  assert.equal(again.body, '');
  const plainEtag = String((await app.inject({ url: '/hub/static/assets/index-AbCd1234.js' })).headers.etag);
  assert.notEqual(plainEtag, etag, 'the gzip variant has its own ETag');
  const head = await app.inject({ method: 'HEAD', url: '/hub/static/assets/index-AbCd1234.js' });
  assert.equal(head.statusCode, 200);
  assert.equal(head.body, '');
  assert.equal(head.headers['content-type'], 'text/javascript; charset=utf-8');
  await app.close();
});

test('missing files, directories, dot-files and symlinks out of dist give 404', async () => {
  const { app } = await makeApp();
  for (const url of ['/hub/static/nope.js', '/hub/static/assets', '/hub/static/assets/', '/hub/static/', '/hub/static/.eucp-src-sha', '/hub/static/assets/leak-abcdefgh.js']) {
    const res = await app.inject({ url });
    assert.equal(res.statusCode, 404, url);
    assert.ok(!res.body.includes(SECRET), url);
  }
  await app.close();
});

test('path traversal under /hub/static gives 404 (raw paths over a socket)', async () => {
  const { app } = await makeApp();
  await app.listen({ host: '127.0.0.1', port: 0 });
  const urls = [
    '/hub/static/../../package.json',
    '/hub/static/../package.json',
    '/hub/static/../secret.txt',
    '/hub/static/assets/../../secret.txt',
    '/hub/static/%2e%2e/secret.txt',
    '/hub/static/%2E%2E/%2E%2E/package.json',
    '/hub/static/..%2fsecret.txt',
    '/hub/static/..%2Fsecret.txt',
    '/hub/static/assets/..%2F..%2Fsecret.txt',
    '/hub/static/..%5csecret.txt',
    '/hub/static/..\\secret.txt',
    '/hub/static/%252e%252e/secret.txt',
    '/hub/static/.%2e/secret.txt',
    '/hub/static/%2fetc%2fpasswd',
    '/hub/static//etc/passwd',
    '/hub/static/favicon.svg%00.js',
  ];
  for (const url of urls) {
    const res = await rawGet(app, url);
    assert.equal(res.status, 404, url);
    assert.ok(!res.body.includes(SECRET) && !res.body.includes('root:'), url);
  }
  // Undecodable escapes are refused by the router before us; never a file either way.
  const bad = await rawGet(app, '/hub/static/%E0%A4%A');
  assert.ok(bad.status === 400 || bad.status === 404, String(bad.status));
  await app.close();
});

test('safeAssetPath keeps to the folder', () => {
  assert.equal(safeAssetPath('/srv/dist', 'assets/index-abc.js'), '/srv/dist/assets/index-abc.js');
  assert.equal(safeAssetPath('/srv/dist', 'assets/my%20file.js'), '/srv/dist/assets/my file.js');
  for (const tail of ['', '..', '../x', 'a/../../x', '%2e%2e/x', 'a%2f..%2f..%2fx', 'a%5cb', '.env', 'a//b', 'a/', 'x%00', '%E0%A4%A']) {
    assert.equal(safeAssetPath('/srv/dist', tail), null, tail);
  }
});

test('SPA pages redirect to the log-in page without a browser session', async () => {
  const { app } = await makeApp();
  for (const url of ['/hub/home', '/hub/admin', '/hub/token', '/hub/spawn', '/hub/spawn/alice', '/hub/spawn-pending/alice', '/hub/spawn-pending/alice/gpu']) {
    const res = await app.inject({ url });
    assert.equal(res.statusCode, 302, url);
    assert.equal(res.headers.location, `/hub/login?next=${encodeURIComponent(url)}`);
    const viaToken = await app.inject({ url, headers: { ...alice, 'x-test-via': 'token' } });
    assert.equal(viaToken.statusCode, 302, `${url} with a token is not a browser session`);
  }
  const withQuery = await app.inject({ url: '/hub/admin?tab=groups' });
  assert.equal(withQuery.headers.location, '/hub/login?next=%2Fhub%2Fadmin%3Ftab%3Dgroups');
  await app.close();
});

test('SPA pages carry a strict CSP and the other security headers', async () => {
  const { app } = await makeApp();
  for (const url of ['/hub/home', '/hub/admin', '/hub/token', '/hub/spawn/alice', '/hub/spawn-pending/alice']) {
    const res = await app.inject({ url, headers: alice });
    assert.equal(res.statusCode, 200, url);
    assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
    assert.match(res.body, /<div id="root">/);
    const csp = String(res.headers['content-security-policy']);
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(res.headers['x-frame-options'], 'DENY');
    assert.equal(res.headers['referrer-policy'], 'same-origin');
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.equal(res.headers['cache-control'], 'no-store');
  }
  await app.close();
});

test('without a build, pages and assets answer 503 saying how to build', async () => {
  const { app } = await makeApp({ distDir: path.join(root, 'not-built') });
  for (const url of ['/hub/home', '/hub/static/assets/index-AbCd1234.js']) {
    const res = await app.inject({ url, headers: alice });
    assert.equal(res.statusCode, 503, url);
    assert.match(res.body, /web UI is not built: run npm run build/);
  }
  await app.close();
});

test('/hub/user/<name>/api/… and non-GET requests get 424 JSON with a restart hint', async () => {
  const { app } = await makeApp({ states: { alice: 'stopped' } });
  const cases: Array<{ method: 'GET' | 'POST' | 'PUT' | 'DELETE'; url: string; headers?: Record<string, string> }> = [
    { method: 'GET', url: '/hub/user/alice/api/kernels' },
    { method: 'GET', url: '/hub/user/alice/api/contents/x.ipynb?content=1', headers: alice },
    { method: 'POST', url: '/hub/user/alice/api/sessions', headers: alice },
    { method: 'PUT', url: '/hub/user/alice/files/x' },
    { method: 'DELETE', url: '/hub/user/alice/api/kernels/1' },
    { method: 'GET', url: '/hub/user/alice/lab/workspaces', headers: { accept: 'application/json' } },
  ];
  for (const c of cases) {
    const res = await app.inject({ method: c.method, url: c.url, headers: c.headers });
    assert.equal(res.statusCode, 424, `${c.method} ${c.url}`);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    const body = res.json() as { status: number; message: string; code: string; action: string };
    assert.equal(body.status, 424);
    assert.equal(body.code, 'SERVER_NOT_RUNNING');
    assert.match(body.message, /server is not running/);
    assert.match(body.message, /Restart the server at \/hub\/spawn\/alice$/);
    assert.ok(body.action.length > 0);
  }
  await app.close();
});

test('/hub/user/<name>/ pages: log-in, spawn-pending while starting, else the 424 page', async () => {
  const { app, calls } = await makeApp({ states: { alice: 'starting', carol: 'stopped' } });
  const anon = await app.inject({ url: '/hub/user/alice/tree' });
  assert.equal(anon.statusCode, 302);
  assert.equal(anon.headers.location, '/hub/login?next=%2Fhub%2Fuser%2Falice%2Ftree');

  const starting = await app.inject({ url: '/hub/user/alice/tree/data?x=1', headers: { ...alice, accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
  assert.equal(starting.statusCode, 302);
  assert.equal(starting.headers.location, `/hub/spawn-pending/alice?next=${encodeURIComponent('/user/alice/tree/data?x=1')}`);

  const stopped = await app.inject({ url: '/hub/user/carol/notebooks/a.ipynb', headers: { 'x-test-user': 'carol' } });
  assert.equal(stopped.statusCode, 424);
  assert.match(stopped.body, /<div id="root">/);
  assert.match(String(stopped.headers['content-security-policy']), /default-src 'self'/);
  assert.equal(stopped.headers['x-frame-options'], 'DENY');

  // bob may not see alice's server: he gets the page without learning that it starts.
  calls.length = 0;
  const other = await app.inject({ url: '/hub/user/alice/tree', headers: { 'x-test-user': 'bob' } });
  assert.equal(other.statusCode, 424);
  assert.deepEqual(calls, []);
  const admin = await app.inject({ url: '/hub/user/alice/tree', headers: { 'x-test-user': 'root', 'x-test-admin': '1' } });
  assert.equal(admin.statusCode, 302);

  const unknown = await app.inject({ url: '/hub/user/nobody/tree', headers: { 'x-test-user': 'nobody' } });
  assert.equal(unknown.statusCode, 424, 'a status lookup failure still shows the page');
  await app.close();
});

test('/hub/user-redirect/<path> goes to the current user\'s server', async () => {
  const { app } = await makeApp();
  const res = await app.inject({ url: '/hub/user-redirect/lab/tree/My%20Data/x.ipynb?reset=1', headers: alice });
  assert.equal(res.statusCode, 302);
  assert.equal(res.headers.location, '/user/alice/lab/tree/My%20Data/x.ipynb?reset=1');
  const anon = await app.inject({ url: '/hub/user-redirect/lab' });
  assert.equal(anon.headers.location, '/hub/login?next=%2Fhub%2Fuser-redirect%2Flab');
  await app.listen({ host: '127.0.0.1', port: 0 });
  for (const climb of ['/hub/user-redirect/%2e%2e/%2e%2e/hub/admin', '/hub/user-redirect/../../hub/admin', '/hub/user-redirect/x/../../../hub/admin']) {
    const r = await rawGet(app, climb, alice);
    assert.equal(r.status, 302, climb);
    assert.equal(r.location, '/user/alice/', climb);
  }
  await app.close();
});

test('prefersJson follows the Accept header weights', () => {
  assert.equal(prefersJson(undefined), false);
  assert.equal(prefersJson('application/json'), true);
  assert.equal(prefersJson('application/json, text/plain, */*'), true);
  assert.equal(prefersJson('text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'), false);
  assert.equal(prefersJson('*/*'), false);
  assert.equal(prefersJson('text/html;q=0.5, application/json'), true);
  assert.equal(prefersJson('application/json;q=0'), false);
});

test('the real build of packages/web is found and served', async () => {
  const realDist = defaultDistDir();
  const repoRoot = path.resolve(fileURLToPath(import.meta.url), '../../../../..');
  assert.equal(realDist, path.join(repoRoot, 'packages/web/dist'));
  if (!existsSync(path.join(realDist, 'index.html'))) {
    // `npm test` builds it in scripts/setup.sh; build here when run on its own.
    execFileSync('npm', ['run', 'build', '-w', 'packages/web', '--silent'], { cwd: repoRoot, stdio: 'ignore' });
  }
  assert.ok(existsSync(path.join(realDist, 'index.html')), `the web UI is not built: run npm run build -w packages/web (${realDist})`);
  const app = Fastify();
  app.decorateRequest('auth', null);
  app.addHook('onRequest', async (req) => {
    req.auth = { user: { id: 1, name: 'alice' as UserName, admin: false, groups: [] }, scopes: [], via: 'session', sessionId: null, tokenId: null, csrfToken: 'x' };
  });
  await registerWeb(app, fakeServers().ctx);
  const page = await app.inject({ url: '/hub/home' });
  assert.equal(page.statusCode, 200);
  const scripts = [...page.body.matchAll(/<script\b([^>]*)>/g)].map((m) => m[1]!);
  assert.ok(scripts.length > 0);
  assert.ok(scripts.every((attrs) => /\bsrc="\/hub\/static\//.test(attrs)), 'no inline scripts (the CSP forbids them)');
  const assets = [...page.body.matchAll(/(?:src|href)="(\/hub\/static\/assets\/[^"]+)"/g)].map((m) => m[1]!);
  assert.ok(assets.some((a) => a.endsWith('.js')) && assets.some((a) => a.endsWith('.css')));
  for (const url of assets) {
    const res = await app.inject({ url });
    assert.equal(res.statusCode, 200, url);
    assert.match(String(res.headers['cache-control']), /immutable/, url);
  }
  await app.close();
});

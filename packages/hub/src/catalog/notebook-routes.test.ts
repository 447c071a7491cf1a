/**
 * "Open in a notebook" through the hub's API, in process with real SQLite and the tiny
 * EUCP-SYN data with its access fixtures (bob may read CMIP6 and list, not read, CORDEX).
 * The user's server is a small contents-API server on loopback that asks the hub's real
 * token check for `access:servers` on bob's server, as the lab and jupyterhub-singleuser do.
 */
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { hasScope } from '@eucp/core';
import { generateDemoData } from '@eucp/hub/demo-data/index';
import { installHttpBasics } from '@eucp/hub/http/basics';
import { registerIdentityRoutes } from '@eucp/hub/http/identity-routes';
import { RouteTable } from '@eucp/hub/proxy/routes';
import { ServerManager } from '@eucp/hub/servers/manager';
import { createTestContext, insertServer, placeholderSpawner, sessionFor, userWithToken, type TestContext } from '@eucp/testing/hub-factory';
import { JsonlEsgfIndexProvider } from './esgf-index.js';
import { registerCatalogNotebooks, sandboxPathPrefix } from './notebook-routes.js';

interface Expected { datasets: Record<string, { project: string; variable_id: string; files: string[] }> }

/**
 * A user's server as far as the contents API goes: an in-memory tree, each request
 * authorized by the hub. `failSaves` makes it answer notebook saves like a full disk.
 */
class ContentsServer {
  readonly entries = new Map<string, { type: string; content?: unknown }>();
  readonly tokens = new Set<string>();
  failSaves = false;
  private readonly server: http.Server;

  constructor(private readonly ctx: TestContext, private readonly user: string) {
    this.server = http.createServer((req, res) => void this.handle(req, res));
  }

  async listen(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const send = (status: number, body: unknown): void => { res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body)); };
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const auth = await this.ctx.auth.authenticateHeaders(req.headers);
    if (!auth || !hasScope(auth.scopes, 'access:servers', { user: this.user, server: `${this.user}/` })) return send(403, { message: 'Forbidden' });
    this.tokens.add(String(req.headers.authorization));
    const url = new URL(req.url!, 'http://x');
    const prefix = `/user/${this.user}/api/contents/`;
    if (!url.pathname.startsWith(prefix)) return send(404, { message: 'Not found' });
    const p = decodeURIComponent(url.pathname.slice(prefix.length));
    const model = (type: string) => ({ name: path.posix.basename(p), path: p, type, content: null, format: null, mimetype: null, writable: true, created: '', last_modified: '' });
    if (req.method === 'GET') {
      const e = this.entries.get(p);
      return e ? send(200, model(e.type)) : send(404, { message: `No such file or directory: ${p}` });
    }
    if (req.method === 'PUT') {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { type: string; content?: unknown };
      if (body.type !== 'directory' && !this.entries.has(path.posix.dirname(p))) return send(404, { message: 'No such directory' });
      if (this.failSaves && body.type === 'notebook') return send(507, { message: `Disk quota exceeded: ${p}`, reason: null });
      const existed = this.entries.has(p);
      this.entries.set(p, { type: body.type, content: body.content });
      return send(existed ? 200 : 201, model(body.type));
    }
    return send(405, { message: 'Method not allowed' });
  }
}

describe('POST /hub/api/eucp/catalog/datasets/:id/notebook', { timeout: 60_000 }, () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  let lab: ContentsServer;
  let labUrl: string;
  let bob: { headers: { authorization: string }; id: number };
  let cmip6 = '';
  let cordexTas = '';
  let expected: Expected;
  let dataDir = '';

  const notebookUrl = (id: string) => `/hub/api/eucp/catalog/datasets/${encodeURIComponent(id)}/notebook`;
  const post = (id: string, headers: Record<string, string>) => app.inject({ method: 'POST', url: notebookUrl(id), headers });

  before(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'eucp-notebook-data-'));
    await generateDemoData({ profile: 'tiny', outDir: dataDir });
    ctx = await createTestContext({ config: { dataDir, access: { importFixtureUsers: true } } });
    expected = JSON.parse(await readFile(path.join(dataDir, 'expected.json'), 'utf8')) as Expected;
    const ids = Object.keys(expected.datasets);
    cmip6 = ids.find((id) => id.startsWith('CMIP6.') && expected.datasets[id]!.files.length > 1)!;
    cordexTas = ids.find((id) => id.startsWith('cordex.') && expected.datasets[id]!.variable_id === 'tas')!;
    assert.ok(cmip6 && cordexTas);
    ctx.servers = new ServerManager({
      db: ctx.db, log: ctx.log, config: ctx.config, spawner: placeholderSpawner, routes: new RouteTable(), credentials: ctx.auth,
      now: ctx.now, hubApiUrl: ctx.hubApiUrl,
    });
    app = Fastify({ loggerInstance: ctx.log as unknown as FastifyBaseLogger });
    await installHttpBasics(app, ctx);
    await registerIdentityRoutes(app, ctx);
    await registerCatalogNotebooks(app, ctx, new JsonlEsgfIndexProvider(dataDir));
    await app.ready();
    const t = await userWithToken(ctx, 'bob');
    bob = { headers: t.headers, id: t.user.id };
    lab = new ContentsServer(ctx, 'bob');
    labUrl = await lab.listen();
  });

  after(async () => {
    await lab?.close();
    await app?.close();
    await ctx?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  beforeEach(async () => {
    await ctx.db.deleteFrom('servers').execute();
    lab.entries.clear();
    lab.failSaves = false;
  });

  async function bobServer(state: 'running' | 'starting' | 'stopped' | 'failed', target: string | null = labUrl): Promise<void> {
    const id = await insertServer(ctx, bob.id, { state });
    await ctx.db.updateTable('servers').set({ target }).where('id', '=', id).execute();
  }

  it('answers 404 for a data set the caller may not list, or that does not exist', async () => {
    await bobServer('running');
    assert.equal((await post('CMIP6.no.such.dataset.v1', bob.headers)).statusCode, 404);
    await ctx.db.updateTable('access_groups').set({ visible: 0 }).execute();
    try {
      const r = await post(cordexTas, bob.headers);
      assert.equal(r.statusCode, 404, r.body);
      assert.equal(r.json().code, 'NOT_FOUND');
      // The preview hides it the same way.
      assert.equal((await app.inject({ method: 'GET', url: notebookUrl(cordexTas), headers: bob.headers })).statusCode, 404);
    } finally {
      await ctx.db.updateTable('access_groups').set({ visible: 1 }).execute();
    }
    assert.equal(lab.entries.size, 0);
  });

  it('answers 403 "request access" for a data set the caller may list but not read', async () => {
    await bobServer('running');
    const r = await post(cordexTas, bob.headers);
    assert.equal(r.statusCode, 403, r.body);
    const body = r.json() as { code: string; message: string; groups: string[]; request_url: string };
    assert.equal(body.code, 'DATA_ACCESS_DENIED');
    assert.match(body.message, /request access/i);
    assert.ok(body.groups.includes('CORDEX Research'), body.groups.join());
    assert.equal(body.request_url, `/hub/catalog/dataset/${encodeURIComponent(cordexTas)}`);
    assert.equal(lab.entries.size, 0);
  });

  it('answers SERVER_NOT_RUNNING (start your server) while the caller\'s server is not running or not ready', async () => {
    for (const state of [null, 'stopped', 'starting', 'failed'] as const) {
      await ctx.db.deleteFrom('servers').execute();
      if (state) await bobServer(state, state === 'starting' ? null : labUrl);
      const r = await post(cmip6, bob.headers);
      assert.equal(r.statusCode, 424, `${state}: ${r.body}`);
      assert.equal(r.json().code, 'SERVER_NOT_RUNNING');
      assert.match(r.json().message, /start your server/i);
    }
  });

  it('refuses callers without credentials, without access:servers, and sessions without the anti-forgery header', async () => {
    await bobServer('running');
    assert.equal((await post(cmip6, {})).json().code, 'UNAUTHENTICATED');
    const readOnly = await ctx.auth.issueToken({ userId: bob.id, scopes: ['read:users!user=bob'], note: 'test' });
    const r = await post(cmip6, { authorization: `token ${readOnly.token}` });
    assert.equal(r.statusCode, 403);
    assert.equal(r.json().code, 'FORBIDDEN');
    const s = await sessionFor(ctx, bob.id);
    assert.equal((await post(cmip6, { cookie: s.cookie })).json().code, 'CSRF_FAILED');
    assert.equal(lab.entries.size, 0);
    const ok = await post(cmip6, { cookie: s.cookie, 'x-xsrftoken': s.csrfToken });
    assert.equal(ok.statusCode, 201, ok.body);
  });

  it('creates catalog/<name>.ipynb, then <name>-1.ipynb, never overwriting, with a token revoked afterwards', async () => {
    await bobServer('running');
    const first = await post(cmip6, bob.headers);
    assert.equal(first.statusCode, 201, first.body);
    const name = `${cmip6}.ipynb`;
    assert.deepEqual(first.json(), { path: `catalog/${name}`, url: `/user/bob/lab/tree/catalog/${encodeURIComponent(name)}` });
    assert.equal(lab.entries.get('catalog')?.type, 'directory');
    const nb = lab.entries.get(`catalog/${name}`)!.content as { cells: Array<{ cell_type: string; source: string[] }> };
    const code = nb.cells.find((c) => c.cell_type === 'code')!.source.join('');
    for (const f of expected.datasets[cmip6]!.files) assert.ok(code.includes(`"/data/${f}"`), `the code opens /data/${f}`);
    assert.match(code, /xr\.open_mfdataset\(paths/);

    const second = await post(cmip6, bob.headers);
    assert.equal(second.statusCode, 201, second.body);
    assert.equal(second.json().path, `catalog/${cmip6}-1.ipynb`);
    assert.equal(lab.entries.size, 3, 'the first notebook is kept');
    // Two clicks at once get two names.
    const both = await Promise.all([post(cmip6, bob.headers), post(cmip6, bob.headers)]);
    assert.deepEqual(both.map((r) => r.json().path).sort(), [`catalog/${cmip6}-2.ipynb`, `catalog/${cmip6}-3.ipynb`]);

    // The hub's tokens for bob's server no longer work.
    assert.ok(lab.tokens.size >= 1);
    for (const header of lab.tokens) assert.equal(await ctx.auth.authenticateHeaders({ authorization: header }), null, 'token revoked');
  });

  it('links the classic Notebook UI for users of jupyterhub-singleuser', async () => {
    await bobServer('running');
    const before = ctx.config.spawner.users;
    ctx.config.spawner.users = { ...before, bob: { server: 'singleuser' } };
    try {
      const r = await post(cmip6, bob.headers);
      assert.equal(r.statusCode, 201, r.body);
      assert.equal(r.json().url, `/user/bob/notebooks/catalog/${encodeURIComponent(`${cmip6}.ipynb`)}`);
    } finally {
      ctx.config.spawner.users = before;
    }
  });

  it('answers 502 with the server\'s own message when the server cannot save, leaving no notebook', async () => {
    await bobServer('running');
    lab.failSaves = true;
    const r = await post(cmip6, bob.headers);
    assert.equal(r.statusCode, 502, r.body);
    assert.equal(r.json().code, 'SERVER_WRITE_FAILED');
    assert.match(r.json().message, /Disk quota exceeded/);
    assert.deepEqual([...lab.entries.values()].map((e) => e.type), ['directory']);
    // A server that does not answer at all.
    await ctx.db.deleteFrom('servers').execute();
    const gone = http.createServer();
    await new Promise<void>((res) => gone.listen(0, '127.0.0.1', res));
    const deadUrl = `http://127.0.0.1:${(gone.address() as AddressInfo).port}`;
    await new Promise<void>((res) => gone.close(() => res()));
    await bobServer('running', deadUrl);
    const dead = await post(cmip6, bob.headers);
    assert.equal(dead.statusCode, 502, dead.body);
    assert.match(dead.json().message, /did not answer/);
  });

  it('GET gives the code and notebook for the web page, to anyone who may list the data set', async () => {
    const r = await app.inject({ method: 'GET', url: notebookUrl(cmip6) });
    assert.equal(r.statusCode, 200, r.body);
    const body = r.json() as { name: string; files: string[]; code: string; notebook: { nbformat: number } };
    assert.equal(body.name, `${cmip6}.ipynb`);
    assert.deepEqual(body.files, expected.datasets[cmip6]!.files.map((f) => `/data/${f}`).sort());
    assert.match(body.code, /xr\.open_mfdataset/);
    assert.equal(body.notebook.nbformat, 4);
    // bob may list CORDEX (a visible group would grant it): he sees the code he will be able to run.
    assert.equal((await app.inject({ method: 'GET', url: notebookUrl(cordexTas), headers: bob.headers })).statusCode, 200);
  });
});

describe('sandboxPathPrefix', () => {
  it('puts files below /data where the sandbox shows the catalog root', () => {
    assert.equal(sandboxPathPrefix('/srv/data', null), '/data/');
    assert.equal(sandboxPathPrefix('/srv/data', ['/srv/data/']), '/data/');
    assert.equal(sandboxPathPrefix('/srv/data', ['/srv/data/esg_dataroot']), '/data/esg_dataroot/');
    // Outside the data directory, or several roots: the intake catalog's guess.
    assert.equal(sandboxPathPrefix('/srv/data', ['/elsewhere']), '/data/');
    assert.equal(sandboxPathPrefix('/srv/data', ['/srv/data/a', '/srv/data/b']), '/data/');
  });
});

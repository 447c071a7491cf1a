/**
 * The hub page /hub/view/<owner>/<path> (hub origin) and the viewer origin's /render/<ticket>,
 * over a real SQLite database, real files in the homes and the viewer's real socket.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { createTestContext, sessionFor, userWithToken, type TestContext } from '@eucp/testing/hub-factory';
import { installHttpBasics } from '../http/basics.js';
import { registerIdentityRoutes } from '../http/identity-routes.js';
import { homeRootOf } from '../config/load.js';
import { registerNotebookViewer, SharedNotebookReadAccess, type NotebookViewer } from './index.js';
import { TicketSigner } from './ticket.js';

const TTL_MS = 5 * 60_000;
const SECRET = 'alice-private-marker-93f1';

function notebook(title: string): string {
  return JSON.stringify({
    nbformat: 4, nbformat_minor: 5, metadata: { language_info: { name: 'python' } },
    cells: [{ cell_type: 'markdown', metadata: {}, source: `# ${title}\n\n${SECRET}` }],
  });
}

describe('notebook viewer routes', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  let viewer: NotebookViewer;
  let home: string;
  let alice: { cookie: string };
  let bob: { cookie: string };
  let admin: { cookie: string };
  let aliceToken: { authorization: string };

  before(async () => {
    ctx = await createTestContext({ config: { viewer: { ticketTtlMs: TTL_MS, maxNotebookBytes: 64 * 1024 } } });
    app = Fastify({ loggerInstance: ctx.log as unknown as FastifyBaseLogger });
    await installHttpBasics(app, ctx);
    await registerIdentityRoutes(app, ctx);
    viewer = await registerNotebookViewer(app, ctx);
    await app.ready();
    await viewer.listen();
    const a = await userWithToken(ctx, 'alice');
    const b = await userWithToken(ctx, 'bob');
    const root = await userWithToken(ctx, 'root', { admin: true });
    alice = await sessionFor(ctx, a.user.id);
    bob = await sessionFor(ctx, b.user.id);
    admin = await sessionFor(ctx, root.user.id);
    aliceToken = a.headers;
    home = homeRootOf(ctx.config);
    mkdirSync(path.join(home, 'alice', 'work'), { recursive: true });
    mkdirSync(path.join(home, 'bob', 'private'), { recursive: true });
    writeFileSync(path.join(home, 'alice', 'work', 'analysis.ipynb'), notebook('Alice analysis'));
    writeFileSync(path.join(home, 'alice', 'broken.ipynb'), '{"nbformat": 4, "cells": [');
    writeFileSync(path.join(home, 'alice', 'huge.ipynb'), 'x'.repeat(65 * 1024));
    writeFileSync(path.join(home, 'bob', 'private', 'secret.ipynb'), notebook('Bob secret'));
    // Alice's ways to point the hub (reading as root) at Bob's notebook.
    symlinkSync(path.join(home, 'bob', 'private', 'secret.ipynb'), path.join(home, 'alice', 'link.ipynb'));
    symlinkSync(path.join(home, 'bob', 'private'), path.join(home, 'alice', 'bobdir'));
    symlinkSync('../bob', path.join(home, 'alice', 'up'));
    mkdirSync(path.join(home, 'alice', 'dir.ipynb'));
    execFileSync('mkfifo', [path.join(home, 'alice', 'fifo.ipynb')]);
  });

  after(async () => {
    await app?.close();
    await ctx?.close();
  });

  const view = (url: string, who: { cookie: string } | null, headers: Record<string, string> = {}) =>
    app.inject({ method: 'GET', url, headers: { host: 'hub.test:8000', ...(who ? { cookie: who.cookie } : {}), ...headers } });

  /** The iframe src of a hub page. */
  function frameSrc(html: string): string {
    const m = /<iframe [^>]*src="([^"]+)"/.exec(html);
    assert.ok(m, html);
    return m[1]!.replaceAll('&amp;', '&');
  }

  it('shows the owner a trusted frame around a sandboxed iframe on the viewer origin, with none of the notebook in it', async () => {
    const res = await view('/hub/view/alice/work/analysis.ipynb', alice);
    assert.equal(res.statusCode, 200);
    const html = res.body;
    const iframe = /<iframe [^>]*>/.exec(html)![0];
    assert.match(iframe, / sandbox="allow-scripts allow-popups" /);
    assert.doesNotMatch(iframe, /allow-same-origin|allow-top-navigation/);
    const src = new URL(frameSrc(html));
    const base = new URL(viewer.baseUrl());
    assert.equal(src.origin, base.origin);
    assert.notEqual(src.origin, 'http://hub.test:8000');
    assert.match(src.pathname, /^\/render\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    assert.ok(!html.includes(SECRET) && !html.includes('Alice analysis'), 'the hub page holds none of the notebook');
    assert.match(html, /analysis\.ipynb/);
    assert.match(html, /href="\/hub\/user-redirect\/lab\/tree\/work\/analysis\.ipynb">Open in my server</);
    const csp = String(res.headers['content-security-policy']);
    assert.match(csp, new RegExp(`frame-src ${base.origin}`));
    assert.doesNotMatch(csp, /script-src/);
    assert.match(csp, /default-src 'none'/);
    assert.equal(res.headers['x-frame-options'], 'DENY');
  });

  it('renders the notebook on the viewer origin with a strict CSP, no cookies and no referrer', async () => {
    const page = await view('/hub/view/alice/work/analysis.ipynb', alice);
    const src = frameSrc(page.body);
    const res = await fetch(src);
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.match(html, /<h1>Alice analysis<\/h1>/);
    assert.equal(res.headers.get('set-cookie'), null);
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
    const csp = res.headers.get('content-security-policy')!;
    for (const directive of ["default-src 'none'", 'img-src data:', "form-action 'none'", "frame-src 'none'", 'sandbox allow-scripts allow-popups',
      'frame-ancestors http://hub.test:8000 https://hub.test:8000']) {
      assert.ok(csp.includes(directive), `${directive} in ${csp}`);
    }
    assert.doesNotMatch(csp, /connect-src|allow-same-origin/);
    // Cookies sent to the viewer change nothing: the same page, still no Set-Cookie.
    const withCookie = await fetch(src, { headers: { cookie: alice.cookie } });
    assert.equal(await withCookie.text(), html);
    assert.equal(withCookie.headers.get('set-cookie'), null);
  });

  it('serves only renderings and style sheets on the viewer origin', async () => {
    const base = viewer.baseUrl();
    const css = await fetch(`${base}static/katex.min.css`);
    assert.equal(css.status, 200);
    assert.match(await css.text(), /\.katex/);
    assert.equal((await fetch(`${base}static/fonts/KaTeX_Main-Regular.woff2`)).status, 200);
    for (const p of ['hub/api/user', 'hub/view/alice/work/analysis.ipynb', 'static/../package.json', 'static/fonts/..%2f..%2fpackage.json',
      'static/fonts/KaTeX_Nope.woff2']) {
      const res = await fetch(`${base}${p}`, { headers: { cookie: alice.cookie } });
      assert.equal(res.status, 404, p);
      assert.equal(res.headers.get('set-cookie'), null);
    }
    const undecodable = await fetch(`${base}render/%E0`);
    assert.equal(undecodable.status, 400);
    assert.equal(undecodable.headers.get('set-cookie'), null);
  });

  it('answers 404 alike for other users\' notebooks, missing files, admins and unsafe paths', async () => {
    const missing = await view('/hub/view/alice/work/nope.ipynb', alice);
    assert.equal(missing.statusCode, 404);
    const cases: Array<[string, { cookie: string }]> = [
      ['/hub/view/alice/work/analysis.ipynb', bob],
      ['/hub/view/alice/work/analysis.ipynb', admin],
      ['/hub/view/bob/private/secret.ipynb', alice],
      ['/hub/view/alice/../bob/private/secret.ipynb', alice],
      ['/hub/view/alice/%2e%2e/bob/private/secret.ipynb', alice],
      ['/hub/view/alice/work%2f..%2f..%2fbob%2fprivate%2fsecret.ipynb', alice],
      ['/hub/view/alice//etc/passwd.ipynb', alice],
      ['/hub/view/alice/work/analysis.ipynb%00.ipynb', alice],
      ['/hub/view/alice/work/analysis.txt', alice],
      ['/hub/view/..%2fbob/private/secret.ipynb', alice],
      ['/hub/view/alice', alice],
      ['/hub/view/Alice/work/analysis.ipynb', alice],
    ];
    for (const [url, who] of cases) {
      const res = await view(url, who);
      assert.equal(res.statusCode, 404, url);
      assert.equal(res.body, missing.body, `${url}: the same page as a missing file`);
    }
    // fastify refuses undecodable URLs before any route.
    assert.equal((await view('/hub/view/alice/work/%E0.ipynb', alice)).statusCode, 400);
  });

  it('follows no symlink anywhere in the path and opens only regular files', async () => {
    for (const p of ['link.ipynb', 'bobdir/secret.ipynb', 'up/private/secret.ipynb', 'dir.ipynb', 'fifo.ipynb']) {
      const res = await view(`/hub/view/alice/${p}`, alice);
      assert.equal(res.statusCode, 404, p);
      assert.ok(!res.body.includes('<iframe'), p);
    }
  });

  it('sends visitors without a browser session to the log-in page, API tokens included', async () => {
    for (const headers of [{}, aliceToken]) {
      const res = await view('/hub/view/alice/work/analysis.ipynb', null, headers);
      assert.equal(res.statusCode, 302);
      assert.equal(res.headers.location, '/hub/login?next=%2Fhub%2Fview%2Falice%2Fwork%2Fanalysis.ipynb');
    }
  });

  it('says so when a notebook is too large, and shows a clear error for a malformed one', async () => {
    const big = await view('/hub/view/alice/huge.ipynb', alice);
    assert.equal(big.statusCode, 413);
    assert.match(big.body, /too large to display.*65 KiB; the limit is 64 KiB/s);
    const page = await view('/hub/view/alice/broken.ipynb', alice);
    assert.equal(page.statusCode, 200);
    const res = await fetch(frameSrc(page.body));
    assert.equal(res.status, 422);
    assert.match(await res.text(), /not a valid Jupyter notebook\. not valid JSON: line 1, column 27: unexpected end of file/);
    assert.equal(res.headers.get('set-cookie'), null);
  });

  it('refuses forged, altered, expired and stale tickets (403, nothing rendered)', async () => {
    const src = frameSrc((await view('/hub/view/alice/work/analysis.ipynb', alice)).body);
    const [prefix, ticket] = src.split('/render/') as [string, string];
    const [body, mac] = ticket.split('.') as [string, string];
    const claims = JSON.parse(Buffer.from(body, 'base64url').toString()) as Record<string, unknown>;
    const forgedBody = Buffer.from(JSON.stringify({ ...claims, o: 'bob', p: 'private/secret.ipynb' })).toString('base64url');
    const otherKey = new TicketSigner(() => ctx.now()).issue({
      readerId: Number(claims.r), owner: 'alice', path: 'work/analysis.ipynb',
      file: { dev: String(claims.d), ino: String(claims.i), size: String(claims.s), mtimeNs: String(claims.m) }, frameAncestor: 'http://hub.test:8000',
    }, TTL_MS);
    for (const bad of [`${forgedBody}.${mac}`, `${body}.${mac.slice(0, -2)}AA`, otherKey, 'garbage', `${body}`]) {
      const res = await fetch(`${prefix}/render/${bad}`);
      assert.equal(res.status, 403, bad);
      const html = await res.text();
      assert.ok(!html.includes(SECRET) && !html.includes('Bob secret'));
      assert.match(html, /expired or is not valid/);
    }
    ctx.clock.advance(TTL_MS + 1);
    try {
      const expired = await fetch(src);
      assert.equal(expired.status, 403);
      assert.match(await expired.text(), /The link has expired/);
    } finally {
      ctx.clock.advance(-(TTL_MS + 1));
    }
    // The file is replaced after the page was opened: the ticket names the old version.
    const fresh = frameSrc((await view('/hub/view/alice/work/analysis.ipynb', alice)).body);
    const file = path.join(home, 'alice', 'work', 'analysis.ipynb');
    writeFileSync(`${file}.tmp`, notebook('Alice analysis, version 2'));
    renameSync(`${file}.tmp`, file);
    const stale = await fetch(fresh);
    assert.equal(stale.status, 403);
    assert.match(await stale.text(), /changed since the page was opened/);
    const reloaded = await fetch(frameSrc((await view('/hub/view/alice/work/analysis.ipynb', alice)).body));
    assert.match(await reloaded.text(), /Alice analysis, version 2/);
  });

  it('asks again at rendering time: a reader whose account is gone gets nothing', async () => {
    const carol = await userWithToken(ctx, 'carol');
    const carolSession = await sessionFor(ctx, carol.user.id);
    mkdirSync(path.join(home, 'carol'), { recursive: true });
    writeFileSync(path.join(home, 'carol', 'n.ipynb'), notebook('Carol'));
    const src = frameSrc((await view('/hub/view/carol/n.ipynb', carolSession)).body);
    await ctx.accounts.removeUser('carol');
    const res = await fetch(src);
    assert.equal(res.status, 403);
    assert.match(await res.text(), /no longer read/);
  });
});

describe('notebook viewer routes with shares', () => {
  let ctx: TestContext;
  let app: FastifyInstance;
  let bob: { cookie: string };
  const granted = new Set(['alice/shared/tas.ipynb', 'alice/shared/link.ipynb']);

  before(async () => {
    ctx = await createTestContext();
    app = Fastify({ loggerInstance: ctx.log as unknown as FastifyBaseLogger });
    await installHttpBasics(app, ctx);
    await registerIdentityRoutes(app, ctx);
    const shares = { canRead: async (caller: string, owner: string, p: string) => caller === 'bob' && granted.has(`${owner}/${p}`) };
    const viewer = await registerNotebookViewer(app, ctx, { access: new SharedNotebookReadAccess(shares) });
    await app.ready();
    await viewer.listen();
    await userWithToken(ctx, 'alice');
    bob = await sessionFor(ctx, (await userWithToken(ctx, 'bob')).user.id);
    const home = homeRootOf(ctx.config);
    mkdirSync(path.join(home, 'alice', 'shared'), { recursive: true });
    writeFileSync(path.join(home, 'alice', 'shared', 'tas.ipynb'), notebook('Shared tas'));
    writeFileSync(path.join(home, 'alice', 'private.ipynb'), notebook('Alice private'));
    symlinkSync(path.join(home, 'alice', 'private.ipynb'), path.join(home, 'alice', 'shared', 'link.ipynb'));
  });

  after(async () => {
    await app?.close();
    await ctx?.close();
  });

  const view = (url: string) => app.inject({ method: 'GET', url, headers: { host: 'hub.test', cookie: bob.cookie } });

  it('shows a shared notebook to its recipient, audits the view, and stops rendering once the grant is revoked', async () => {
    const page = await view('/hub/view/alice/shared/tas.ipynb');
    assert.equal(page.statusCode, 200);
    assert.doesNotMatch(page.body, /Open in my server/, 'only the owner gets the link into their server');
    const src = /<iframe [^>]*src="([^"]+)"/.exec(page.body)![1]!;
    assert.match(await (await fetch(src)).text(), /<h1>Shared tas<\/h1>/);
    const rows = await ctx.db.selectFrom('audit_log').selectAll().where('action', '=', 'notebook.view').execute();
    assert.deepEqual(rows.map((r) => [r.actor, r.target]), [['bob', 'alice/shared/tas.ipynb']]);
    granted.delete('alice/shared/tas.ipynb');
    try {
      const res = await fetch(src);
      assert.equal(res.status, 403);
      assert.match(await res.text(), /no longer read/);
      assert.equal((await view('/hub/view/alice/shared/tas.ipynb')).statusCode, 404);
    } finally {
      granted.add('alice/shared/tas.ipynb');
    }
  });

  it('never follows a symlink in a shared folder to the owner\'s private notebook, nor shows what is not shared', async () => {
    assert.equal((await view('/hub/view/alice/shared/link.ipynb')).statusCode, 404);
    assert.equal((await view('/hub/view/alice/private.ipynb')).statusCode, 404);
  });
});

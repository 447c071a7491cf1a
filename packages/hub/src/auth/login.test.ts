import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildTestApp, createTestContext, sessionFor, userWithToken, type TestContext } from '@eucp/testing/hub-factory';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

function setCookies(res: LightMyRequestResponse): string[] {
  const h = res.headers['set-cookie'];
  return h === undefined ? [] : Array.isArray(h) ? h : [h];
}
function cookieNamed(res: LightMyRequestResponse, name: string): string | undefined {
  return setCookies(res).find((c) => c.startsWith(`${name}=`));
}
function cookieValue(setCookie: string | undefined): string {
  return decodeURIComponent(setCookie?.split(';')[0]?.split('=').slice(1).join('=') ?? '');
}
function form(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

interface Harness { ctx: TestContext; app: FastifyInstance }
let h: Harness | undefined;

async function setup(config: Record<string, unknown> = {}): Promise<Harness> {
  const ctx = await createTestContext({ config: { auth: { loginMaxFailuresPerAccount: 3, loginMaxFailuresPerAddress: 5, loginWindowMs: 600_000 }, ...config } });
  await ctx.accounts.createUser('alice', { password: 'alice-password' });
  h = { ctx, app: await buildTestApp(ctx) };
  return h;
}
afterEach(async () => {
  await h?.app.close();
  await h?.ctx.close();
  h = undefined;
});

/** GET /hub/login then POST the form, as a browser does. */
async function login(app: FastifyInstance, username: string, password: string, opts: { next?: string; address?: string } = {}) {
  const query = opts.next === undefined ? '' : `?next=${encodeURIComponent(opts.next)}`;
  const page = await app.inject({ method: 'GET', url: `/hub/login${query}` });
  assert.equal(page.statusCode, 200);
  const xsrf = cookieValue(cookieNamed(page, 'eucp-login-xsrf'));
  assert.ok(xsrf, 'pre-login cookie set');
  assert.ok(page.body.includes(`name="_xsrf" value="${xsrf}"`), 'hidden field bound to the cookie');
  return app.inject({
    method: 'POST', url: `/hub/login${query}`, headers: { ...FORM, cookie: `eucp-login-xsrf=${xsrf}` },
    payload: form({ username, password, _xsrf: xsrf }), ...(opts.address && { remoteAddress: opts.address }),
  });
}

describe('log-in page', () => {
  it('renders an accessible form that keeps a valid next', async () => {
    const { app } = await setup();
    const res = await app.inject({ method: 'GET', url: '/hub/login?next=%2Fuser%2Falice%2Flab' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /text\/html/);
    assert.match(res.body, /<label for="username">/);
    assert.match(res.body, /<label for="password">/);
    assert.match(res.body, /action="\/hub\/login\?next=%2Fuser%2Falice%2Flab"/);
    assert.doesNotMatch(res.body, /<script/i);
    assert.match(String(res.headers['content-security-policy']), /default-src 'none'/);
  });

  it('logs in: session cookies with the right attributes, then 302 to /hub/home', async () => {
    const { app } = await setup();
    const res = await login(app, 'alice', 'alice-password');
    assert.equal(res.statusCode, 302);
    assert.equal(res.headers.location, '/hub/home');
    const session = cookieNamed(res, 'eucp-session');
    const sid = cookieNamed(res, 'jupyterhub-session-id');
    assert.ok(session && sid);
    for (const c of [session, sid]) {
      assert.match(c, /; Path=\/(;|$)/);
      assert.match(c, /; HttpOnly/);
      assert.match(c, /; SameSite=Lax/);
      assert.doesNotMatch(c, /Secure/);
    }
    assert.match(cookieValue(sid), /^[0-9a-f]{32}$/);
    // The cookie works against the API.
    const me = await app.inject({ method: 'GET', url: '/hub/api/eucp/session', headers: { cookie: session.split(';')[0]! } });
    assert.equal(me.statusCode, 200);
    const body = me.json();
    assert.equal(body.user, 'alice');
    assert.equal(body.admin, false);
    assert.equal(typeof body.csrfToken, 'string');
    assert.ok(body.scopes.includes('access:servers!user=alice'));
  });

  it('marks cookies Secure when the public URL is https', async () => {
    const { app } = await setup({ publicUrl: 'https://hub.example.org' });
    const page = await app.inject({ method: 'GET', url: '/hub/login' });
    assert.match(cookieNamed(page, 'eucp-login-xsrf') ?? '', /; Secure/);
    const res = await login(app, 'alice', 'alice-password');
    assert.match(cookieNamed(res, 'eucp-session') ?? '', /; Secure/);
    assert.match(cookieNamed(res, 'jupyterhub-session-id') ?? '', /; Secure/);
  });

  it('follows a same-origin next, ignores open redirects', async () => {
    const { app } = await setup();
    assert.equal((await login(app, 'alice', 'alice-password', { next: '/user/alice/lab?x=1' })).headers.location, '/user/alice/lab?x=1');
    for (const evil of ['//evil.example/x', 'https://evil.example/', '/\\evil.example', '/\t/evil.example']) {
      const res = await login(app, 'alice', 'alice-password', { next: evil });
      assert.equal(res.statusCode, 302);
      assert.equal(res.headers.location, '/hub/home', evil);
    }
  });

  it('wrong password ⇒ 403 with the form again and nothing else', async () => {
    const { app } = await setup();
    const res = await login(app, 'alice', 'not-her-password');
    assert.equal(res.statusCode, 403);
    assert.match(res.body, /Invalid username or password\./);
    assert.match(res.body, /value="alice"/);
    assert.equal(cookieNamed(res, 'eucp-session'), undefined);
    const unknown = await login(app, 'nobody', 'whatever-password');
    assert.equal(unknown.statusCode, 403);
    assert.match(unknown.body, /Invalid username or password\./);
  });

  it('escapes what the visitor typed', async () => {
    const { app } = await setup();
    const res = await login(app, '"><script>alert(1)</script>', 'x-password');
    assert.equal(res.statusCode, 403);
    assert.doesNotMatch(res.body, /<script>alert/);
  });

  it('requires the anti-forgery field bound to the pre-login cookie', async () => {
    const { app } = await setup();
    const noCookie = await app.inject({ method: 'POST', url: '/hub/login', headers: FORM, payload: form({ username: 'alice', password: 'alice-password', _xsrf: 'x'.repeat(43) }) });
    assert.equal(noCookie.statusCode, 403);
    assert.equal(cookieNamed(noCookie, 'eucp-session'), undefined);
    const mismatch = await app.inject({
      method: 'POST', url: '/hub/login', headers: { ...FORM, cookie: `eucp-login-xsrf=${'a'.repeat(43)}` },
      payload: form({ username: 'alice', password: 'alice-password', _xsrf: 'b'.repeat(43) }),
    });
    assert.equal(mismatch.statusCode, 403);
    assert.equal(cookieNamed(mismatch, 'eucp-session'), undefined);
  });

  it('rate-limits per account (429 + Retry-After), even for the right password; other accounts unaffected', async () => {
    const { app, ctx } = await setup();
    await ctx.accounts.createUser('bob', { password: 'bob-password' });
    for (let i = 0; i < 3; i++) assert.equal((await login(app, 'alice', 'bad-password')).statusCode, 403);
    const limited = await login(app, 'alice', 'alice-password');
    assert.equal(limited.statusCode, 429);
    assert.equal(limited.headers['retry-after'], '600');
    assert.match(limited.body, /Too many failed log-in attempts\. Try again in 10 minutes\./);
    assert.equal(cookieNamed(limited, 'eucp-session'), undefined);
    assert.equal((await login(app, 'bob', 'bob-password')).statusCode, 302);
    ctx.clock.advance(600_000);
    assert.equal((await login(app, 'alice', 'alice-password')).statusCode, 302, 'allowed again after the window');
  });

  it('a successful log-in resets the account counter', async () => {
    const { app } = await setup();
    for (let i = 0; i < 2; i++) await login(app, 'alice', 'bad-password');
    assert.equal((await login(app, 'alice', 'alice-password')).statusCode, 302);
    for (let i = 0; i < 2; i++) assert.equal((await login(app, 'alice', 'bad-password')).statusCode, 403);
    assert.equal((await login(app, 'alice', 'alice-password')).statusCode, 302);
  });

  it('rate-limits per client address across accounts', async () => {
    const { app } = await setup();
    const names = ['u1', 'u2', 'u3', 'u4', 'u5'];
    for (const n of names) assert.equal((await login(app, n, 'bad-password', { address: '192.0.2.7' })).statusCode, 403);
    const limited = await login(app, 'alice', 'alice-password', { address: '192.0.2.7' });
    assert.equal(limited.statusCode, 429);
    assert.ok(Number(limited.headers['retry-after']) > 0);
    assert.equal((await login(app, 'alice', 'alice-password', { address: '192.0.2.8' })).statusCode, 302);
  });

  it('logout ends the session, clears cookies and revokes its OAuth tokens', async () => {
    const { app, ctx } = await setup();
    const alice = await ctx.accounts.getUser('alice');
    const s = await sessionFor(ctx, alice.id);
    const oauthToken = await ctx.auth.issueToken({ userId: alice.id, scopes: ['read:users:name!user=alice'], sessionId: s.sessionId, oauthClientId: 'c1' });
    const res = await app.inject({ method: 'GET', url: '/hub/logout', headers: { cookie: s.cookie } });
    assert.equal(res.statusCode, 302);
    assert.equal(res.headers.location, '/hub/login');
    assert.match(cookieNamed(res, 'eucp-session') ?? '', /Max-Age=0/);
    assert.match(cookieNamed(res, 'jupyterhub-session-id') ?? '', /Max-Age=0/);
    const after = await app.inject({ method: 'GET', url: '/hub/api/eucp/session', headers: { cookie: s.cookie } });
    assert.equal(after.statusCode, 403);
    assert.equal(await ctx.auth.resolveToken(oauthToken.token), null);
    const post = await app.inject({ method: 'POST', url: '/hub/logout' });
    assert.equal(post.statusCode, 302);
  });

  it('/ and /hub/ redirect to /hub/home; a logged-in visitor skips the form', async () => {
    const { app, ctx } = await setup();
    for (const url of ['/', '/hub/']) {
      const r = await app.inject({ method: 'GET', url });
      assert.equal(r.statusCode, 302);
      assert.equal(r.headers.location, '/hub/home');
    }
    const s = await sessionFor(ctx, (await ctx.accounts.getUser('alice')).id);
    const r = await app.inject({ method: 'GET', url: '/hub/login?next=%2Fuser%2Falice%2F', headers: { cookie: s.cookie } });
    assert.equal(r.statusCode, 302);
    assert.equal(r.headers.location, '/user/alice/');
  });

  it('sessions expire after auth.sessionMaxAgeMs', async () => {
    const { app, ctx } = await setup({ auth: { sessionMaxAgeMs: 60_000 } });
    const s = await sessionFor(ctx, (await ctx.accounts.getUser('alice')).id);
    assert.equal((await app.inject({ method: 'GET', url: '/hub/api/eucp/session', headers: { cookie: s.cookie } })).statusCode, 200);
    ctx.clock.advance(60_000);
    const r = await app.inject({ method: 'GET', url: '/hub/api/eucp/session', headers: { cookie: s.cookie } });
    assert.equal(r.statusCode, 403);
    assert.equal(r.json().code, 'UNAUTHENTICATED');
  });
});

describe('anti-forgery on the JSON API', () => {
  it('cookie-authenticated POST needs X-XSRFToken; token requests do not', async () => {
    const { app, ctx } = await setup();
    const root = await userWithToken(ctx, 'root', { admin: true });
    const s = await sessionFor(ctx, root.user.id);
    const body = JSON.stringify({ usernames: ['carol'] });
    const json = { 'content-type': 'application/json' };
    const noToken = await app.inject({ method: 'POST', url: '/hub/api/users', headers: { ...json, cookie: s.cookie }, payload: body });
    assert.equal(noToken.statusCode, 403);
    assert.equal(noToken.json().code, 'CSRF_FAILED');
    assert.equal(await ctx.accounts.findUser('carol'), null, 'nothing created');
    const wrong = await app.inject({ method: 'POST', url: '/hub/api/users', headers: { ...json, cookie: s.cookie, 'x-xsrftoken': 'nope' }, payload: body });
    assert.equal(wrong.statusCode, 403);
    const ok = await app.inject({ method: 'POST', url: '/hub/api/users', headers: { ...json, cookie: s.cookie, 'x-xsrftoken': s.csrfToken }, payload: body });
    assert.equal(ok.statusCode, 201);
    const viaToken = await app.inject({ method: 'POST', url: '/hub/api/users', headers: { ...json, ...root.headers }, payload: JSON.stringify({ usernames: ['dave'] }) });
    assert.equal(viaToken.statusCode, 201);
    const get = await app.inject({ method: 'GET', url: '/hub/api/users/carol', headers: { cookie: s.cookie } });
    assert.equal(get.statusCode, 200, 'GET needs no anti-forgery token');
  });

  it('GET /hub/api/eucp/session without a session is 403 UNAUTHENTICATED, also for tokens', async () => {
    const { app, ctx } = await setup();
    const r = await app.inject({ method: 'GET', url: '/hub/api/eucp/session' });
    assert.equal(r.statusCode, 403);
    assert.equal(r.json().code, 'UNAUTHENTICATED');
    const t = await userWithToken(ctx, 'alice');
    assert.equal((await app.inject({ method: 'GET', url: '/hub/api/eucp/session', headers: t.headers })).statusCode, 403);
  });
});

import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildTestApp, createTestContext, insertServer, sessionFor, type TestContext } from '@eucp/testing/hub-factory';

const CLIENT_ID = 'jupyterhub-user-alice';
const REDIRECT = '/user/alice/oauth_callback';
const SECRET = 'f'.repeat(64);
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

let ctx: TestContext;
let app: FastifyInstance;

beforeEach(async () => {
  ctx = await createTestContext();
  app = await buildTestApp(ctx);
  const alice = await ctx.accounts.createUser('alice', { password: 'alice-password' });
  await ctx.accounts.createUser('bob', { password: 'bob-password' });
  await ctx.accounts.createUser('root', { admin: true, password: 'root-password' });
  const serverId = await insertServer(ctx, alice.id, { state: 'running' });
  await ctx.auth.upsertOAuthClient({ id: CLIENT_ID, description: 'Server at /user/alice/', redirectUri: REDIRECT, secret: SECRET, serverId });
});
afterEach(async () => {
  await app.close();
  await ctx.close();
});

function authorizeUrl(params: Record<string, string> = {}): string {
  const q = new URLSearchParams({ client_id: CLIENT_ID, redirect_uri: REDIRECT, response_type: 'code', state: 'Zp3p7+/=&st ate', ...params });
  return `/hub/api/oauth2/authorize?${q.toString()}`;
}
function location(res: LightMyRequestResponse): URL {
  return new URL(String(res.headers.location), 'http://hub.test');
}
async function cookieOf(name: string): Promise<{ cookie: string; csrfToken: string; sessionId: string }> {
  return sessionFor(ctx, (await ctx.accounts.getUser(name)).id);
}
function tokenRequest(fields: Record<string, string>) {
  const payload = new URLSearchParams({ client_id: CLIENT_ID, client_secret: SECRET, grant_type: 'authorization_code', redirect_uri: REDIRECT, ...fields }).toString();
  return app.inject({ method: 'POST', url: '/hub/api/oauth2/token', headers: { ...FORM, authorization: `token ${SECRET}` }, payload });
}
async function codeFor(user: string): Promise<string> {
  const s = await cookieOf(user);
  const res = await app.inject({ method: 'GET', url: authorizeUrl(), headers: { cookie: s.cookie } });
  assert.equal(res.statusCode, 302);
  return location(res).searchParams.get('code')!;
}

describe('OAuth2 provider', () => {
  it('full flow: login redirect → code → token → GET /hub/api/user shows the granted scopes', async () => {
    // 1. Not logged in: to the login page, keeping the full authorize URL.
    const first = await app.inject({ method: 'GET', url: authorizeUrl() });
    assert.equal(first.statusCode, 302);
    const login = location(first);
    assert.equal(login.pathname, '/hub/login');
    assert.equal(login.searchParams.get('next'), authorizeUrl());

    // 2. Log in through the form; it sends us back to the authorize URL.
    const page = await app.inject({ method: 'GET', url: `${login.pathname}${login.search}` });
    const xsrf = decodeURIComponent(/eucp-login-xsrf=([^;]+)/.exec(String(page.headers['set-cookie']))![1]!);
    const posted = await app.inject({
      method: 'POST', url: `${login.pathname}${login.search}`, headers: { ...FORM, cookie: `eucp-login-xsrf=${xsrf}` },
      payload: new URLSearchParams({ username: 'alice', password: 'alice-password', _xsrf: xsrf }).toString(),
    });
    assert.equal(posted.statusCode, 302);
    assert.equal(posted.headers.location, authorizeUrl());
    const setCookies = ([] as string[]).concat(posted.headers['set-cookie'] ?? []);
    const session = setCookies.find((c) => c.startsWith('eucp-session='))!.split(';')[0]!;
    const sessionId = setCookies.find((c) => c.startsWith('jupyterhub-session-id='))!.split(';')[0]!.split('=')[1]!;

    // 3. Own server: no confirmation, straight back to the callback with code and state unchanged.
    const back = await app.inject({ method: 'GET', url: String(posted.headers.location), headers: { cookie: session } });
    assert.equal(back.statusCode, 302);
    const cb = location(back);
    assert.equal(cb.pathname, REDIRECT);
    assert.equal(cb.searchParams.get('state'), 'Zp3p7+/=&st ate');
    const code = cb.searchParams.get('code')!;
    assert.ok(code.length >= 32);

    // 4. The server exchanges the code.
    const tok = await tokenRequest({ code });
    assert.equal(tok.statusCode, 200);
    assert.equal(tok.headers['cache-control'], 'no-store');
    assert.equal(tok.headers.pragma, 'no-cache');
    const grant = tok.json();
    assert.equal(grant.token_type, 'Bearer');
    assert.equal(grant.expires_in, 1_209_600);
    assert.equal(grant.scope, 'access:servers!server=alice/ read:users:groups!user=alice read:users:name!user=alice');

    // 5. …and asks who the visitor is.
    const me = await app.inject({ method: 'GET', url: '/hub/api/user', headers: { authorization: `token ${grant.access_token}` } });
    assert.equal(me.statusCode, 200);
    const body = me.json();
    assert.equal(body.name, 'alice');
    assert.equal(body.kind, 'user');
    assert.equal(body.session_id, sessionId);
    assert.match(body.token_id, /^a\d+$/);
    assert.deepEqual(body.scopes, ['access:servers!server=alice/', 'read:users:groups!user=alice', 'read:users:name!user=alice']);
    assert.deepEqual(Object.keys(body).sort(), ['admin', 'groups', 'kind', 'name', 'scopes', 'session_id', 'token_id']);

    // The token is an API token of alice for this client, expiring with oauthTokenExpiresInMs.
    const row = await ctx.db.selectFrom('api_tokens').selectAll().where('id', '=', Number(body.token_id.slice(1))).executeTakeFirstOrThrow();
    assert.equal(row.oauth_client_id, CLIENT_ID);
    assert.equal(row.session_id, sessionId);
    assert.equal(row.expires_at, ctx.now() + 14 * 24 * 3600 * 1000);

    // 6. Deleting the client (server stopped) revokes it.
    await ctx.auth.deleteOAuthClient(CLIENT_ID);
    assert.equal((await app.inject({ method: 'GET', url: '/hub/api/user', headers: { authorization: `Bearer ${grant.access_token}` } })).statusCode, 403);
  });

  it('a code works once', async () => {
    const code = await codeFor('alice');
    assert.equal((await tokenRequest({ code })).statusCode, 200);
    const again = await tokenRequest({ code });
    assert.equal(again.statusCode, 400);
    assert.equal(again.json().error, 'invalid_grant');
  });

  it('a code expires after 300 s', async () => {
    const code = await codeFor('alice');
    ctx.clock.advance(300_000);
    const r = await tokenRequest({ code });
    assert.equal(r.statusCode, 400);
    assert.equal(r.json().error, 'invalid_grant');
  });

  it('the token request needs the exact redirect URI, the client secret and the right grant type', async () => {
    const c1 = await codeFor('alice');
    const mismatch = await tokenRequest({ code: c1, redirect_uri: '/user/alice/oauth_callback/' });
    assert.equal(mismatch.statusCode, 400);
    assert.equal(mismatch.json().error, 'invalid_grant');
    assert.equal((await tokenRequest({ code: c1 })).statusCode, 400, 'the failed attempt consumed the code');
    const c2 = await codeFor('alice');
    const badSecret = await tokenRequest({ code: c2, client_secret: 'e'.repeat(64) });
    assert.equal(badSecret.statusCode, 401);
    assert.equal(badSecret.json().error, 'invalid_client');
    const c3 = await codeFor('alice');
    assert.equal((await tokenRequest({ code: c3, grant_type: 'password' })).json().error, 'unsupported_grant_type');
    assert.equal((await tokenRequest({ code: '' })).json().error, 'invalid_request');
  });

  it('unknown client or redirect mismatch at authorize ⇒ 400 page, no code', async () => {
    const s = await cookieOf('alice');
    for (const url of [authorizeUrl({ client_id: 'jupyterhub-user-nobody' }), authorizeUrl({ redirect_uri: 'https://evil.example/cb' }), authorizeUrl({ response_type: 'token' })]) {
      const r = await app.inject({ method: 'GET', url, headers: { cookie: s.cookie } });
      assert.equal(r.statusCode, 400, url);
      assert.match(String(r.headers['content-type']), /text\/html/);
      assert.equal(r.headers.location, undefined);
    }
    assert.equal((await ctx.db.selectFrom('oauth_codes').selectAll().execute()).length, 0);
  });

  it("a user without access to someone else's server gets a 403 page", async () => {
    const s = await cookieOf('bob');
    const r = await app.inject({ method: 'GET', url: authorizeUrl(), headers: { cookie: s.cookie } });
    assert.equal(r.statusCode, 403);
    assert.match(r.body, /You do not have permission to access Server at \/user\/alice\//);
  });

  it("an admin visiting another user's server confirms with a CSRF-protected form", async () => {
    const s = await cookieOf('root');
    const page = await app.inject({ method: 'GET', url: authorizeUrl(), headers: { cookie: s.cookie } });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /owned by alice/);
    assert.match(page.body, /<form method="post" action="\/hub\/api\/oauth2\/authorize">/);
    assert.ok(page.body.includes(`name="_xsrf" value="${s.csrfToken}"`));
    assert.doesNotMatch(page.body, /<script/i);
    const fields = { client_id: CLIENT_ID, redirect_uri: REDIRECT, response_type: 'code', state: 'xyz' };
    const forged = await app.inject({ method: 'POST', url: '/hub/api/oauth2/authorize', headers: { ...FORM, cookie: s.cookie }, payload: new URLSearchParams(fields).toString() });
    assert.equal(forged.statusCode, 403);
    const ok = await app.inject({
      method: 'POST', url: '/hub/api/oauth2/authorize', headers: { ...FORM, cookie: s.cookie },
      payload: new URLSearchParams({ ...fields, _xsrf: s.csrfToken }).toString(),
    });
    assert.equal(ok.statusCode, 302);
    const cb = location(ok);
    assert.equal(cb.searchParams.get('state'), 'xyz');
    const grant = (await tokenRequest({ code: cb.searchParams.get('code')! })).json();
    assert.equal(grant.scope, 'access:servers!server=alice/ read:users:groups!user=root read:users:name!user=root');
  });
});

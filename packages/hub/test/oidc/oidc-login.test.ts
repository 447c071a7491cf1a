/**
 * OpenID Connect log-in against a real provider (oidc-provider on loopback): first log-in
 * creates the account and a working hub session, the next one finds it again, group
 * claims become hub groups, approval, refusals (domain, name, newUsers), and attacks on
 * the callback (state mismatch, replay, a callback from another browser).
 */
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { userWithToken } from '@eucp/testing/hub-factory';
import { TestIdp } from './idp.js';
import { CLIENT_SECRET, startOidcHub, TestBrowser, type OidcHub } from './harness.js';

const ALICE = { sub: 'sub-alice-0001', preferred_username: 'Alice', email: 'alice@uni.example', email_verified: true, groups: ['climate-researchers', 'unmapped'] };
const BOB = { sub: 'sub-bob-0002', preferred_username: 'bob', email: 'bob@elsewhere.example', email_verified: true, groups: [] as string[] };

const atHome = (u: URL) => u.pathname === '/hub/home';
const atLogin = (u: URL) => u.pathname === '/hub/login';
const atCallback = (u: URL) => u.pathname === '/hub/oidc/test/callback';

/** Logs `browser` in at the hub through the provider; resolves where it stopped (home or the log-in page). */
async function oidcLogin(hub: OidcHub, browser: TestBrowser, next?: string): Promise<URL> {
  const q = next ? `?next=${encodeURIComponent(next)}` : '';
  const { url } = await browser.navigate(`${hub.url}/hub/oidc/test/login${q}`, (u) => atHome(u) || atLogin(u) || (next !== undefined && u.pathname === next.split('?')[0]));
  return new URL(url);
}

/** GET /hub/api/user with the browser's cookies. */
async function whoAmI(hub: OidcHub, browser: TestBrowser): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await browser.request(`${hub.url}/hub/api/user`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** The text of the notice the log-in page shows at `url`. */
async function loginNotice(browser: TestBrowser, url: URL): Promise<string> {
  const html = await (await browser.request(url.href)).text();
  return /id="oidc-notice"[^>]*>([^<]*)</.exec(html)?.[1] ?? '';
}

describe('OpenID Connect log-in', () => {
  let idp: TestIdp;
  let hub: OidcHub | undefined;
  before(async () => { idp = await TestIdp.start([ALICE, BOB]); });
  after(async () => { await idp.stop(); });
  afterEach(async () => {
    if (hub) assert.ok(!hub.logs().includes(CLIENT_SECRET), 'the client secret never reaches the log');
    await hub?.close();
    hub = undefined;
    idp.loginAs = ALICE.sub;
  });

  it('redirects with PKCE S256, state and nonce, bound to a short-lived HttpOnly SameSite=Lax cookie', async () => {
    hub = await startOidcHub(idp);
    const browser = new TestBrowser();
    const res = await browser.request(`${hub.url}/hub/oidc/test/login?next=${encodeURIComponent('/user/alice/lab')}`);
    assert.equal(res.status, 302);
    const to = new URL(res.headers.get('location')!);
    assert.equal(to.origin, idp.issuer);
    assert.equal(to.searchParams.get('code_challenge_method'), 'S256');
    assert.match(to.searchParams.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.ok(to.searchParams.get('state') && to.searchParams.get('nonce'));
    assert.equal(to.searchParams.get('redirect_uri'), `${hub.url}/hub/oidc/test/callback`);
    assert.equal(to.searchParams.get('scope'), 'openid profile email groups');
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('eucp-oidc-flow='))!;
    assert.match(cookie, /; Path=\/hub\/oidc\/(;|$)/);
    assert.match(cookie, /; HttpOnly/);
    assert.match(cookie, /; SameSite=Lax/);
    assert.match(cookie, /; Max-Age=600/);
    const stored = await hub.ctx.db.selectFrom('oidc_flows').selectAll().execute();
    assert.equal(stored.length, 1);
    assert.ok(!stored.some((r) => r.id_hash === browser.cookie('eucp-oidc-flow')!.value), 'only the hash of the cookie is stored');
  });

  it('first log-in creates the account, the session works; the second log-in finds the same account', async () => {
    hub = await startOidcHub(idp);
    const browser = new TestBrowser();
    const landed = await oidcLogin(hub, browser, '/user/alice/lab?x=1');
    assert.equal(landed.pathname + landed.search, '/user/alice/lab?x=1', 'next is honoured');
    assert.equal(browser.cookie('eucp-oidc-flow'), undefined, 'the flow cookie is cleared');
    const me = await whoAmI(hub, browser);
    assert.equal(me.status, 200);
    assert.equal(me.body.name, 'alice', 'preferred_username "Alice" normalised to alice');
    const user = (await hub.ctx.accounts.getUser('alice'));
    assert.equal(user.hasPassword, false);
    const ids = await hub.oidc.identities.listOf(user.id);
    assert.equal(ids.length, 1);
    assert.equal(ids[0]!.issuer, idp.issuer);
    assert.equal(ids[0]!.subject, ALICE.sub);
    assert.equal(ids[0]!.claims.email, ALICE.email);

    const other = new TestBrowser(); // another browser: a fresh log-in at the provider too
    assert.equal((await oidcLogin(hub, other)).pathname, '/hub/home');
    assert.equal((await whoAmI(hub, other)).body.name, 'alice');
    assert.equal((await hub.ctx.accounts.listUsers()).filter((u) => u.name === 'alice').length, 1);
    assert.equal((await hub.oidc.identities.listOf(user.id)).length, 1);
  });

  it('maps group claims to hub groups and keeps mapped memberships in step at every log-in', async () => {
    hub = await startOidcHub(idp, { provider: { groupsClaim: 'groups', groupMap: { 'climate-researchers': 'climate', 'ops-team': 'ops' } } });
    await hub.ctx.accounts.createGroup('manual');
    assert.equal((await oidcLogin(hub, new TestBrowser())).pathname, '/hub/home');
    const alice = await hub.ctx.accounts.getUser('alice');
    assert.deepEqual(await hub.ctx.accounts.groupsOf(alice.id), ['climate'], 'mapped group created and joined; unmapped claim values ignored');
    await hub.ctx.accounts.addGroupMembers('manual', ['alice']);

    idp.setAccount({ ...ALICE, groups: ['ops-team'] });
    try {
      const browser = new TestBrowser();
      await oidcLogin(hub, browser);
      assert.deepEqual(await hub.ctx.accounts.groupsOf(alice.id), ['manual', 'ops'], 'left climate, joined ops, manual untouched');
      assert.deepEqual((await whoAmI(hub, browser)).body.groups, ['manual', 'ops']);
    } finally {
      idp.setAccount(ALICE);
    }
  });

  it('newUsers = approval: the person waits; an administrator approves; then the log-in works', async () => {
    hub = await startOidcHub(idp, { provider: { newUsers: 'approval', groupsClaim: 'groups', groupMap: { 'climate-researchers': 'climate' } } });
    const browser = new TestBrowser();
    const landed = await oidcLogin(hub, browser);
    assert.equal(landed.pathname, '/hub/login');
    assert.match(await loginNotice(browser, landed), /waiting for approval by an administrator/);
    assert.equal(await hub.ctx.accounts.findUser('alice'), null, 'no account yet');
    assert.equal((await whoAmI(hub, browser)).status, 403);

    const admin = await userWithToken(hub.ctx, 'root', { admin: true });
    const alice = await userWithToken(hub.ctx, 'mallory');
    assert.equal((await fetch(`${hub.url}/hub/api/eucp/oidc/pending`, { headers: alice.headers })).status, 403, 'not for non-admins');
    const pending = (await (await fetch(`${hub.url}/hub/api/eucp/oidc/pending`, { headers: admin.headers })).json()) as Array<Record<string, unknown>>;
    assert.equal(pending.length, 1);
    assert.equal(pending[0]!.name, 'alice');
    assert.equal(pending[0]!.email, ALICE.email);
    assert.equal(pending[0]!.provider_name, 'Test IdP');
    // Trying again before approval keeps one request.
    await oidcLogin(hub, new TestBrowser());
    assert.equal((await hub.oidc.identities.listPending()).length, 1);

    const approve = await fetch(`${hub.url}/hub/api/eucp/oidc/pending/${String(pending[0]!.id)}/approve`, { method: 'POST', headers: admin.headers });
    assert.equal(approve.status, 201);
    assert.deepEqual(await approve.json(), { name: 'alice' });
    assert.deepEqual(await hub.oidc.identities.listPending(), []);
    const created = await hub.ctx.accounts.getUser('alice');
    assert.deepEqual(await hub.ctx.accounts.groupsOf(created.id), ['climate'], 'group mapping applied at approval');

    const again = new TestBrowser();
    assert.equal((await oidcLogin(hub, again)).pathname, '/hub/home');
    assert.equal((await whoAmI(hub, again)).body.name, 'alice');
  });

  it('an administrator may approve under another name, or reject', async () => {
    hub = await startOidcHub(idp, { provider: { newUsers: 'approval' } });
    const admin = await userWithToken(hub.ctx, 'root', { admin: true });
    idp.loginAs = BOB.sub;
    await oidcLogin(hub, new TestBrowser());
    const [p] = await hub.oidc.identities.listPending();
    const rejected = await fetch(`${hub.url}/hub/api/eucp/oidc/pending/${p!.id}`, { method: 'DELETE', headers: admin.headers });
    assert.equal(rejected.status, 204);
    assert.deepEqual(await hub.oidc.identities.listPending(), []);
    await oidcLogin(hub, new TestBrowser());
    const [q] = await hub.oidc.identities.listPending();
    const res = await fetch(`${hub.url}/hub/api/eucp/oidc/pending/${q!.id}/approve`, {
      method: 'POST', headers: { ...admin.headers, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'robert' }),
    });
    assert.equal(res.status, 201);
    const browser = new TestBrowser();
    await oidcLogin(hub, browser);
    assert.equal((await whoAmI(hub, browser)).body.name, 'robert');
  });

  it('refuses a disallowed e-mail domain with a clear message, and creates nothing', async () => {
    hub = await startOidcHub(idp, { provider: { allowedDomains: ['uni.example'] } });
    idp.loginAs = BOB.sub;
    const browser = new TestBrowser();
    const landed = await oidcLogin(hub, browser);
    assert.equal(landed.pathname, '/hub/login');
    assert.match(await loginNotice(browser, landed), /Your Test IdP identity is not allowed to log in here \(its e-mail domain/);
    assert.equal(await hub.ctx.accounts.findUser('bob'), null);
    idp.loginAs = ALICE.sub;
    assert.equal((await oidcLogin(hub, new TestBrowser())).pathname, '/hub/home', 'an allowed domain passes');
  });

  it('refuses when newUsers = refuse, when the name is taken by a local account, and when no valid name can be made', async () => {
    hub = await startOidcHub(idp, { provider: { newUsers: 'refuse' } });
    let browser = new TestBrowser();
    assert.match(await loginNotice(browser, await oidcLogin(hub, browser)), /No account here is linked to your Test IdP identity/);
    await hub.close();

    hub = await startOidcHub(idp);
    await hub.ctx.accounts.createUser('alice', { password: 'alice-local-password' });
    browser = new TestBrowser();
    assert.match(await loginNotice(browser, await oidcLogin(hub, browser)), /belongs to another account here/);
    assert.equal((await hub.oidc.identities.listOf((await hub.ctx.accounts.getUser('alice')).id)).length, 0, 'never linked by name');

    idp.setAccount({ sub: 'sub-odd', preferred_username: '1234' });
    idp.loginAs = 'sub-odd';
    browser = new TestBrowser();
    assert.match(await loginNotice(browser, await oidcLogin(hub, browser)), /cannot be used here/);
  });

  it('shows a cancelled log-in at the provider as such', async () => {
    hub = await startOidcHub(idp);
    idp.denyNext = true;
    const browser = new TestBrowser();
    assert.match(await loginNotice(browser, await oidcLogin(hub, browser)), /was cancelled/);
  });

  it('refuses a callback whose state does not match, a replayed callback, and a callback in another browser', async () => {
    hub = await startOidcHub(idp);
    // State mismatch: the code is genuine, the state is not the one this browser was given.
    const a = new TestBrowser();
    const { url: callback } = await a.navigate(`${hub.url}/hub/oidc/test/login`, atCallback);
    const tampered = new URL(callback);
    tampered.searchParams.set('state', 'not-the-state');
    let res = await a.request(tampered.href);
    assert.equal(res.status, 302);
    assert.equal(new URL(res.headers.get('location')!, hub.url).searchParams.get('oidc_error'), 'failed');
    assert.equal(res.headers.getSetCookie().some((c) => c.startsWith('eucp-session=')), false);
    // The flow is used up: the genuine callback no longer works either.
    res = await a.request(callback);
    assert.equal(new URL(res.headers.get('location')!, hub.url).searchParams.get('oidc_error'), 'failed');

    // Replay: a successful callback URL used a second time.
    const b = new TestBrowser();
    const { url: good } = await b.navigate(`${hub.url}/hub/oidc/test/login`, atCallback);
    res = await b.request(good);
    assert.equal(res.headers.get('location'), '/hub/home');
    res = await b.request(good);
    assert.equal(res.status, 403, 'a logged-in browser gets an error page instead of the log-in page');
    assert.match(await res.text(), /The log-in with Test IdP did not succeed/);
    assert.equal((await whoAmI(hub, b)).body.name, 'alice', 'and keeps its session');

    // Login CSRF: a victim's browser given the attacker's callback URL has no flow for it.
    const attacker = new TestBrowser();
    const { url: planted } = await attacker.navigate(`${hub.url}/hub/oidc/test/login`, atCallback);
    const victim = new TestBrowser();
    res = await victim.request(planted);
    assert.equal(new URL(res.headers.get('location')!, hub.url).searchParams.get('oidc_error'), 'failed');
    assert.equal(victim.cookie('eucp-session'), undefined);
    assert.ok(hub.logs().includes('OpenID log-in refused'));
  });

  it('never prints the client secret: configuration output is masked', async () => {
    hub = await startOidcHub(idp);
    const printed = JSON.stringify(hub.ctx.config);
    assert.ok(!printed.includes(CLIENT_SECRET));
    assert.match(printed, /"clientSecret":"\[redacted\]"/);
    const { inspect } = await import('node:util');
    assert.ok(!inspect(hub.ctx.config, { depth: 10 }).includes(CLIENT_SECRET));
    assert.equal(hub.ctx.config.oidc.providers[0]!.clientSecret.reveal(), CLIENT_SECRET);
  });
});

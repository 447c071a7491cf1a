/**
 * Identity linking and a provider that is down, against a real provider on loopback: a
 * password user links an OpenID identity and then logs in with it into the same account;
 * an identity of someone else is refused; the identities API (self or admin) never
 * removes the last way to log in; with the provider stopped, the log-in page says so and
 * the password log-in still works.
 */
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { userWithToken } from '@eucp/testing/hub-factory';
import { TestIdp } from './idp.js';
import { CLIENT_SECRET, startOidcHub, TestBrowser, type OidcHub } from './harness.js';

const CAROL = { sub: 'sub-carol-1', preferred_username: 'carol.smith', email: 'carol@uni.example', email_verified: true, groups: ['climate-researchers'] };
const DAVE = { sub: 'sub-dave-2', preferred_username: 'dave', email: 'dave@uni.example', email_verified: true };
const PASSWORD = 'carol-local-password';

const stop = (u: URL) => ['/hub/home', '/hub/login', '/hub/settings'].includes(u.pathname);

async function me(hub: OidcHub, browser: TestBrowser): Promise<string | undefined> {
  const res = await browser.request(`${hub.url}/hub/api/user`);
  return res.status === 200 ? ((await res.json()) as { name: string }).name : undefined;
}

describe('linking identities', () => {
  let idp: TestIdp;
  let hub: OidcHub | undefined;
  before(async () => { idp = await TestIdp.start([CAROL, DAVE]); });
  after(async () => { await idp.stop(); });
  afterEach(async () => {
    if (hub) assert.ok(!hub.logs().includes(CLIENT_SECRET), 'the client secret never reaches the log');
    await hub?.close();
    hub = undefined;
  });

  it('a password user links an OpenID identity, then logs in with it into the same account', async () => {
    hub = await startOidcHub(idp, { provider: { groupsClaim: 'groups', groupMap: { 'climate-researchers': 'climate' } } });
    const carol = await hub.ctx.accounts.createUser('carol', { password: PASSWORD });
    const browser = new TestBrowser();
    assert.equal((await browser.passwordLogin(hub.url, 'carol', PASSWORD)).status, 302);

    idp.loginAs = CAROL.sub;
    const { url } = await browser.navigate(`${hub.url}/hub/oidc/test/link?next=/hub/settings`, stop);
    assert.equal(new URL(url).pathname, '/hub/settings', 'back where the person asked to go');
    assert.equal(await me(hub, browser), 'carol', 'still the same session');
    const ids = await hub.oidc.identities.listOf(carol.id);
    assert.equal(ids.length, 1);
    assert.equal(ids[0]!.subject, CAROL.sub);
    assert.deepEqual(await hub.ctx.accounts.groupsOf(carol.id), ['climate'], 'memberships belong to the person');

    // Another browser logs in with the identity: the same account, not a new "carol-smith".
    const other = new TestBrowser();
    const landed = await other.navigate(`${hub.url}/hub/oidc/test/login`, stop);
    assert.equal(new URL(landed.url).pathname, '/hub/home');
    assert.equal(await me(hub, other), 'carol');
    assert.equal(await hub.ctx.accounts.findUser('carol-smith'), null);
    // The password still works too.
    assert.equal((await new TestBrowser().passwordLogin(hub.url, 'carol', PASSWORD)).headers.get('location'), '/hub/home');
  });

  it('asks for a hub log-in first, and refuses an identity that belongs to another account', async () => {
    hub = await startOidcHub(idp);
    const anonymous = new TestBrowser();
    const res = await anonymous.request(`${hub.url}/hub/oidc/test/link`);
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), `/hub/login?next=${encodeURIComponent('/hub/oidc/test/link')}`);

    idp.loginAs = DAVE.sub;
    await new TestBrowser().navigate(`${hub.url}/hub/oidc/test/login`, stop); // dave's identity now has its own account
    const dave = await hub.ctx.accounts.getUser('dave');
    await hub.ctx.accounts.createUser('erin', { password: 'erin-local-password' });
    const erin = new TestBrowser();
    await erin.passwordLogin(hub.url, 'erin', 'erin-local-password');
    const { res: page } = await erin.navigate(`${hub.url}/hub/oidc/test/link`, stop);
    assert.equal(page.status, 409);
    assert.match(await page.text(), /This Test IdP identity is already linked to another account\./);
    assert.equal((await hub.oidc.identities.listOf(dave.id)).length, 1, 'still dave\'s');
    assert.equal(await me(hub, erin), 'erin');
  });

  it('lists and removes identities (self or admin) but never the last way to log in', async () => {
    hub = await startOidcHub(idp);
    idp.loginAs = DAVE.sub;
    const browser = new TestBrowser();
    await browser.navigate(`${hub.url}/hub/oidc/test/login`, stop);
    const dave = await hub.ctx.accounts.getUser('dave');
    const session = (await (await browser.request(`${hub.url}/hub/api/eucp/session`)).json()) as { csrfToken: string };

    const list = await browser.request(`${hub.url}/hub/api/eucp/users/dave/identities`);
    assert.equal(list.status, 200);
    const body = (await list.json()) as { name: string; password: boolean; identities: Array<Record<string, unknown>> };
    assert.equal(body.password, false);
    assert.equal(body.identities.length, 1);
    assert.deepEqual(Object.keys(body.identities[0]!).sort(), ['created', 'email', 'id', 'issuer', 'last_login', 'provider', 'provider_name', 'subject']);
    assert.equal(body.identities[0]!.provider_name, 'Test IdP');
    const id = String(body.identities[0]!.id);

    const noCsrf = await browser.request(`${hub.url}/hub/api/eucp/users/dave/identities/${id}`, { method: 'DELETE' });
    assert.equal(noCsrf.status, 403, 'cookie-authenticated changes need the anti-forgery header');
    const last = await browser.request(`${hub.url}/hub/api/eucp/users/dave/identities/${id}`, { method: 'DELETE', headers: { 'x-xsrftoken': session.csrfToken } });
    assert.equal(last.status, 409);
    assert.equal(((await last.json()) as { code: string }).code, 'LAST_LOGIN_METHOD');

    const other = await userWithToken(hub.ctx, 'frank');
    assert.equal((await fetch(`${hub.url}/hub/api/eucp/users/dave/identities`, { headers: other.headers })).status, 404, 'another user cannot even see them');
    const admin = await userWithToken(hub.ctx, 'root', { admin: true });
    assert.equal((await fetch(`${hub.url}/hub/api/eucp/users/dave/identities`, { headers: admin.headers })).status, 200);

    // With a password set, the identity can go.
    await hub.ctx.accounts.setPassword('dave', 'dave-local-password');
    const removed = await fetch(`${hub.url}/hub/api/eucp/users/dave/identities/${id}`, { method: 'DELETE', headers: admin.headers });
    assert.equal(removed.status, 204);
    assert.deepEqual(await hub.oidc.identities.listOf(dave.id), []);
    assert.equal((await fetch(`${hub.url}/hub/api/eucp/users/dave/identities/${id}`, { method: 'DELETE', headers: admin.headers })).status, 404);
  });
});

describe('a provider that is down', () => {
  it('the log-in page says so and the password log-in still works', async () => {
    const idp = await TestIdp.start([DAVE]);
    const hub = await startOidcHub(idp);
    try {
      await hub.ctx.accounts.createUser('carol', { password: PASSWORD });
      // One log-in while it is up: its metadata is now cached.
      await new TestBrowser().navigate(`${hub.url}/hub/oidc/test/login`, stop);
      await idp.stop();

      const browser = new TestBrowser();
      const { url } = await browser.navigate(`${hub.url}/hub/oidc/test/login?next=/hub/settings`, stop);
      const landed = new URL(url);
      assert.equal(landed.pathname, '/hub/login');
      assert.equal(landed.searchParams.get('next'), '/hub/settings');
      const page = await (await browser.request(url)).text();
      assert.match(page, /Test IdP is not reachable right now; local login still works\./);
      assert.match(page, /<button type="submit" class="secondary">Log in with Test IdP<\/button>/);
      assert.match(hub.logs(), /OpenID provider not reachable/);

      const login = await browser.passwordLogin(hub.url, 'carol', PASSWORD);
      assert.equal(login.status, 302);
      assert.equal(await me(hub, browser), 'carol');
    } finally {
      await hub.close();
      await idp.stop().catch(() => {});
    }
  });

  it('a provider that was never reachable gives the same answer (discovery fails)', async () => {
    const idp = await TestIdp.start([DAVE]);
    await idp.stop();
    const hub = await startOidcHub(idp);
    try {
      const browser = new TestBrowser();
      const { url } = await browser.navigate(`${hub.url}/hub/oidc/test/login`, stop);
      assert.equal(new URL(url).searchParams.get('oidc_error'), 'unreachable');
      assert.match(await (await browser.request(url)).text(), /Test IdP is not reachable right now/);
    } finally {
      await hub.close();
    }
  });
});

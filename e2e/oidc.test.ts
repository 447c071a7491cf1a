/**
 * OpenID Connect log-in in Debian's chromium, through a real hub process and a real
 * OpenID provider (oidc-provider on loopback): the log-in page offers "Log in with
 * Test IdP"; one click goes to the provider and back, and the person lands on their home
 * page with an account created from the claims and the mapped group.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { BrowserContext, Page } from 'playwright-core';
import { HubProcess } from '@eucp/testing/hub-process';
import { launchChromium, type TestBrowser } from '@eucp/testing/chromium';
import { TestIdp } from '../packages/hub/test/oidc/idp.js';

const CLIENT_ID = 'eucp-hub';
const CLIENT_SECRET = 'e2e-client-secret-4b1d';

describe('log in with an OpenID provider in the browser', { timeout: 300_000 }, () => {
  let idp: TestIdp;
  let hub: HubProcess;
  let browser: BrowserContext;
  let page: Page;
  let chrome: TestBrowser | undefined;

  before(async () => {
    idp = await TestIdp.start([
      { sub: 'sub-greta-7', preferred_username: 'greta', name: 'Greta T.', email: 'greta@uni.example', email_verified: true, groups: ['climate-researchers'] },
    ]);
    hub = await HubProcess.start({
      toml: [
        '[culler]', 'enabled = false',
        '[[oidc.providers]]', 'id = "test"', 'displayName = "Test IdP"', `issuer = ${JSON.stringify(idp.issuer)}`,
        `clientId = ${JSON.stringify(CLIENT_ID)}`, `clientSecret = ${JSON.stringify(CLIENT_SECRET)}`,
        'scopes = ["openid", "profile", "email", "groups"]', 'allowInsecureHttp = true', 'groupsClaim = "groups"',
        'allowedDomains = ["uni.example"]',
        '[oidc.providers.groupMap]', '"climate-researchers" = "climate"',
      ].join('\n'),
    });
    // The hub listens on a port chosen at start: register its callback now.
    idp.registerClient({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [`${hub.url}/hub/oidc/test/callback`] });
    chrome = await launchChromium();
    browser = chrome.context;
    page = browser.pages()[0] ?? (await browser.newPage());
  });

  after(async () => {
    await chrome?.close();
    await hub?.destroy();
    await idp?.stop();
  });

  it('clicks "Log in with Test IdP" and lands on /hub/home as the person the provider names', async () => {
    await page.goto(`${hub.url}/hub/home`);
    await page.waitForURL(/\/hub\/login/);
    await page.getByRole('button', { name: 'Log in with Test IdP' }).click();
    await page.waitForURL(/\/hub\/home/);
    await page.getByRole('heading', { name: /your server/i }).waitFor();
    assert.equal(idp.interactions >= 1, true, 'the browser went through the provider');
    const me = await page.evaluate(async () => {
      const r = await fetch('/hub/api/user');
      return (await r.json()) as { name: string; groups: string[] };
    });
    assert.equal(me.name, 'greta');
    assert.deepEqual(me.groups, ['climate']);
    assert.ok(!hub.log.includes(CLIENT_SECRET), 'the client secret never reaches the log');
  });
});

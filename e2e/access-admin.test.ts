/**
 * The admin page's "Access groups (data)" section in Debian's chromium, through a real hub
 * with the EUCP-SYN fixture users: the administrator creates "Ice Sheet Modellers" with a
 * licence through the form and sees it listed; a licence id without its text is refused
 * with the hub's reason; adding bob makes him an approved member (his own session says so);
 * changing the licence text shows a new licence version; "Reload policies" shows how many
 * policies are in force, and a broken policy file shows the hub's refusal naming it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { HubProcess } from '@eucp/testing/hub-process';
import { launchChromium, submitHubLogin, type TestBrowser } from '@eucp/testing/chromium';

const GROUP = 'Ice Sheet Modellers';
const LICENCE_V1 = 'Ice sheet model output: research use only.\nCite the ISM consortium.';
const LICENCE_V2 = 'Ice sheet model output: research and teaching use.\nCite the ISM consortium.';
const ADMIN = 'olga';
const ADMIN_PW = 'olga-access-admin-pw-4e0a';
const BOB_PW = 'bob-access-admin-pw-71c3';

describe('admin page: access groups (data)', { timeout: 300_000 }, () => {
  let hub: HubProcess;
  let chrome: TestBrowser | undefined;
  let bobChrome: TestBrowser | undefined;
  let page: Page;
  let section: Locator;

  const row = (name: string): Locator => section.getByRole('row').filter({ has: page.getByRole('rowheader', { name: new RegExp(`^${name}`) }) });
  const licenceCell = (name: string): Locator => row(name).getByRole('cell').nth(2);

  before(async () => {
    hub = await HubProcess.start({ toml: '[culler]\nenabled = false\n[access]\nimportFixtureUsers = true\n' });
    // The fixture users make the hub not empty, so no first administrator is printed: add one.
    await hub.cli(['user', 'add', ADMIN, '--admin', '--password-stdin'], `${ADMIN_PW}\n`);
    await hub.cli(['user', 'password', 'bob', '--password-stdin'], `${BOB_PW}\n`);
    chrome = await launchChromium();
    page = chrome.page;
    await page.goto(`${hub.url}/hub/admin`);
    await page.waitForURL(/\/hub\/login/);
    await submitHubLogin(page, ADMIN, ADMIN_PW);
    await page.waitForURL((u) => u.pathname === '/hub/admin');
    section = page.getByRole('region', { name: 'Access groups (data)' });
    // The fixture groups are listed once the section has loaded.
    await row('CORDEX Research').waitFor();
  });

  after(async () => {
    await bobChrome?.close();
    await chrome?.close();
    await hub?.destroy();
  });

  it('creates a group with a licence through the form and lists it', async () => {
    await section.getByRole('button', { name: 'New access group' }).click();
    const form = section.getByRole('form', { name: 'New access group' });
    await form.getByLabel('Group name').fill(GROUP);
    await form.getByLabel('Description').fill('Modellers of the Greenland and Antarctic ice sheets');
    await form.getByLabel('Licence id').fill('ISM-research');
    await form.getByLabel('Licence text').fill(LICENCE_V1);
    await form.getByRole('button', { name: 'Create access group' }).click();
    await form.waitFor({ state: 'detached' });
    assert.equal(await section.getByRole('status', { name: 'Access groups status' }).innerText(), `Created access group ${GROUP}.`);
    const cells = await row(GROUP).getByRole('cell').allInnerTexts();
    assert.equal(cells[0], 'yes', 'visible');
    assert.equal(cells[1], 'no', 'no automatic approval');
    assert.match(cells[2]!, /^ISM-research \(version [0-9a-f]{8}\)$/);
    assert.equal(cells[3], '—', 'no group admins yet');
  });

  it('a licence id without its text shows the hub\'s refusal and creates nothing', async () => {
    await section.getByRole('button', { name: 'New access group' }).click();
    const form = section.getByRole('form', { name: 'New access group' });
    await form.getByLabel('Group name').fill('Glacier Watchers');
    await form.getByLabel('Licence id').fill('GW-licence');
    await form.getByRole('button', { name: 'Create access group' }).click();
    const alert = form.getByRole('alert');
    await alert.waitFor();
    assert.match(await alert.innerText(), /Give licence_id and licence_text together/);
    await form.getByRole('button', { name: 'Cancel' }).click();
    assert.equal(await row('Glacier Watchers').count(), 0, 'the refused group is not listed');
    const r = await page.request.get(`${hub.url}/hub/api/eucp/access/groups/Glacier%20Watchers`);
    assert.equal(r.status(), 404, 'and does not exist');
  });

  it('adds bob as a member and alice as a group admin; bob\'s session shows him approved', async () => {
    const addMember = async (user: string, role: 'user' | 'admin'): Promise<void> => {
      await row(GROUP).getByRole('button', { name: `Add a member to ${GROUP}` }).click();
      const form = section.getByRole('form', { name: `Add a member to ${GROUP}` });
      await form.getByLabel('User name').fill(user);
      await form.getByLabel('Role').selectOption(role);
      await form.getByRole('button', { name: 'Add member' }).click();
      await form.waitFor({ state: 'detached' });
    };
    // An unknown user is refused next to the form.
    await row(GROUP).getByRole('button', { name: `Add a member to ${GROUP}` }).click();
    const form = section.getByRole('form', { name: `Add a member to ${GROUP}` });
    await form.getByLabel('User name').fill('nobody');
    await form.getByRole('button', { name: 'Add member' }).click();
    await form.getByRole('alert').waitFor();
    assert.match(await form.getByRole('alert').innerText(), /No such user: nobody\./);
    await form.getByRole('button', { name: 'Cancel' }).click();

    await addMember('bob', 'user');
    assert.equal(await section.getByRole('status', { name: 'Access groups status' }).innerText(), `bob is now a member of ${GROUP}.`);
    await addMember('alice', 'admin');
    await row(GROUP).getByRole('cell', { name: 'alice' }).waitFor();

    bobChrome = await launchChromium();
    const bob = bobChrome.page;
    await bob.goto(`${hub.url}/hub/login`);
    await submitHubLogin(bob, 'bob', BOB_PW);
    await bob.waitForURL(/\/hub\/home/);
    const me = (await (await bob.request.get(`${hub.url}/hub/api/eucp/access/me`)).json()) as { user: string; memberships: Array<{ group: string; role: string; state: string }> };
    assert.equal(me.user, 'bob');
    assert.deepEqual(me.memberships.filter((m) => m.group === GROUP).map((m) => [m.role, m.state]), [['user', 'approved']]);
  });

  it('editing the licence text shows a new licence version', async () => {
    const before = await licenceCell(GROUP).innerText();
    await row(GROUP).getByRole('button', { name: `Edit access group ${GROUP}` }).click();
    const form = section.getByRole('form', { name: `Edit access group ${GROUP}` });
    const text = form.getByLabel('Licence text');
    await text.waitFor();
    assert.equal(await text.inputValue(), LICENCE_V1, 'the form starts from the current licence text');
    assert.equal(await form.getByLabel('Licence id').inputValue(), 'ISM-research');
    await text.fill(LICENCE_V2);
    await form.getByLabel('Automatic approval').check();
    await form.getByRole('button', { name: 'Save changes' }).click();
    await form.waitFor({ state: 'detached' });
    assert.equal(await section.getByRole('status', { name: 'Access groups status' }).innerText(), `Saved access group ${GROUP}.`);
    const after = await licenceCell(GROUP).innerText();
    assert.match(after, /^ISM-research \(version [0-9a-f]{8}\)$/);
    assert.notEqual(after, before, 'a changed text is a new version');
    assert.equal(await row(GROUP).getByRole('cell').nth(1).innerText(), 'yes', 'automatic approval now');

    // The hub keeps the new text; the shown version is its hash.
    const g = (await (await page.request.get(`${hub.url}/hub/api/eucp/access/groups/${encodeURIComponent(GROUP)}`)).json()) as { licence: { sha256: string; text: string } };
    assert.equal(g.licence.text, LICENCE_V2);
    assert.ok(after.includes(g.licence.sha256.slice(0, 8)));
  });

  it('"Reload policies" shows the number in force, or the hub\'s refusal of a broken file', async () => {
    const file = path.join(hub.stateDir, 'data', 'access', 'policies.xml');
    const xml = await readFile(file, 'utf8');
    const count = (xml.match(/<policy\s/g) ?? []).length;
    assert.ok(count > 0);
    const reload = section.getByRole('button', { name: 'Reload policies' });
    const status = section.getByRole('status', { name: 'Policies status' });
    await reload.click();
    await status.getByText(/Policies reloaded/).waitFor();
    assert.equal(await status.innerText(), `Policies reloaded: ${count} policies in force.`);

    await writeFile(file, xml.replace('</policies>', '  <policy resource="cordex\\.[broken" attribute_type="ANY" attribute_value="" action="Read"/>\n</policies>'));
    try {
      await reload.click();
      const alert = section.getByRole('alert');
      await alert.waitFor();
      assert.match(await alert.innerText(), /policies\.xml/);
      assert.match(await alert.innerText(), /cordex\\\.\[broken/);
      assert.equal(await section.getByText(/Policies reloaded/).count(), 0, 'no count next to the refusal');
    } finally {
      await writeFile(file, xml);
    }
    await reload.click();
    await status.getByText(/Policies reloaded/).waitFor();
    assert.equal(await section.getByRole('alert').count(), 0);
  });
});

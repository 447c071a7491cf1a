/**
 * The home page's storage card in Debian's chromium, behind a hub on a btrfs-loop pool:
 * the usage bar of the user's files and of their group's workspace, and the warning once
 * the workspace is above its soft limit (written from the host, as a member's kernel would).
 * Then an administrator sets the user's limits on the admin page: a hard limit below the
 * usage is refused with the hub's reason and changes nothing; a valid one reaches the
 * user's card.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { HubProcess } from '@eucp/testing/hub-process';
import { launchChromium, submitHubLogin, type TestBrowser } from '@eucp/testing/chromium';

const USER = 'ulla';
const PASSWORD = 'ulla-password-1';
const ADMIN = 'olga';
const ADMIN_PASSWORD = 'olga-password-1';
const MiB = 1024 ** 2;

describe('storage usage on the home page', { timeout: 300_000 }, () => {
  let hub: HubProcess;
  let chrome: TestBrowser | undefined;
  let adminChrome: TestBrowser | undefined;
  let page: Page;

  before(async () => {
    hub = await HubProcess.start({
      toml: [
        '[culler]', 'enabled = false',
        '[storage]', 'backend = "btrfs-loop"', `imageSizeBytes = ${1024 ** 3}`, 'usageMaxAgeMs = 500',
        '[storage.userQuota]', `softBytes = ${8 * MiB}`, `hardBytes = ${16 * MiB}`,
        '[storage.groupQuota]', `softBytes = ${2 * MiB}`, `hardBytes = ${32 * MiB}`,
      ].join('\n'),
    });
    await hub.cli(['user', 'add', USER, '--password-stdin'], `${PASSWORD}\n`);
    await hub.cli(['group', 'add', 'ocean']);
    await hub.cli(['group', 'members', 'ocean', '--add', USER]);
    // The areas exist once a quota is set (or a server starts); fill the workspace past its soft limit.
    const admin = await hub.adminToken();
    const put = await fetch(`${hub.url}/hub/api/eucp/storage/quotas/groups/ocean`, {
      method: 'PUT', headers: { authorization: `token ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify({ hard: '32M' }),
    });
    assert.equal(put.status, 200, await put.text());
    await writeFile(path.join(hub.stateDir, 'storage', 'groups', 'ocean', 'big.bin'), Buffer.alloc(3 * MiB, 1));
    // The user's areas, made by asking for the default soft limit (no override); 5 MiB in /derived.
    const own = await fetch(`${hub.url}/hub/api/eucp/storage/quotas/users/${USER}`, {
      method: 'PUT', headers: { authorization: `token ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify({ soft: 'default' }),
    });
    assert.equal(own.status, 200, await own.text());
    await writeFile(path.join(hub.stateDir, 'storage', 'derived', USER, 'big.bin'), Buffer.alloc(5 * MiB, 1));
    await hub.cli(['user', 'add', ADMIN, '--admin', '--password-stdin'], `${ADMIN_PASSWORD}\n`);
    chrome = await launchChromium();
    page = chrome.context.pages()[0] ?? (await chrome.context.newPage());
    await page.goto(`${hub.url}/hub/login`);
    await submitHubLogin(page, USER, PASSWORD);
    await page.waitForURL(/\/hub\/home/);
  });

  after(async () => {
    await chrome?.close();
    await adminChrome?.close();
    await hub?.destroy();
  });

  it('shows a bar per quota unit and the workspace\'s warning', async () => {
    const card = page.getByTestId('storage');
    await card.waitFor();
    const own = card.getByTestId(`storage-${USER}`);
    assert.match(await own.innerText(), /Your files.*\/home\/\S+ and \/derived: .* of 16 MiB/s);
    const ocean = card.getByTestId('storage-ocean');
    assert.match(await ocean.innerText(), /Group ocean.*\/groups\/ocean: 3(\.\d+)? MiB of 32 MiB/s);
    assert.match(await ocean.getByRole('status').innerText(), /above the soft limit of 2 MiB/);
    const meter = ocean.getByRole('meter');
    const pct = Number(await meter.getAttribute('aria-valuenow'));
    assert.ok(pct >= 9 && pct <= 10, `3 MiB of 32 MiB: ${pct} %`);
    assert.equal(await own.getByRole('status').count(), 0, 'no warning below the soft limit');
  });

  it('an administrator cannot set a hard limit below the usage; a valid one reaches the user\'s card', async () => {
    adminChrome = await launchChromium();
    const admin = adminChrome.page;
    await admin.goto(`${hub.url}/hub/login`);
    await submitHubLogin(admin, ADMIN, ADMIN_PASSWORD);
    await admin.waitForURL(/\/hub\/home/);
    await admin.goto(`${hub.url}/hub/admin`);
    const summary = admin.getByTestId(`storage-limits-user-${USER}`);
    await summary.waitFor();
    assert.match(await summary.innerText(), /^5(\.\d+)? MiB of 16 MiB \(default\)/);

    await admin.getByRole('button', { name: `Edit storage limits of ${USER}` }).click();
    const form = admin.getByRole('form', { name: `Storage limits of ${USER}` });
    await form.getByRole('combobox', { name: /^Hard limit/ }).selectOption('custom');
    const size = form.getByRole('textbox', { name: 'Hard limit size' });
    assert.equal(await size.inputValue(), '16 MiB', 'starts from the current limit');
    await size.fill('4M');
    await form.getByRole('button', { name: 'Save limits' }).click();
    const refusal = form.getByRole('alert');
    await refusal.waitFor();
    assert.match(await refusal.innerText(), /hard limit is below what is already stored.*uses 5(\.\d+)? MiB/s);
    assert.match(await summary.innerText(), /of 16 MiB \(default\)/, 'the table still shows the old limit');
    const token = await hub.adminToken();
    const unit = (await (await fetch(`${hub.url}/hub/api/eucp/storage/users/${USER}`, { headers: { authorization: `token ${token}` } })).json()) as Record<string, unknown>;
    assert.deepEqual([unit['hard_bytes'], unit['hard_source']], [16 * MiB, 'default'], 'nothing changed');

    await size.fill('64M');
    await form.getByRole('button', { name: 'Save limits' }).click();
    await form.waitFor({ state: 'detached' });
    assert.match(await summary.innerText(), /^5(\.\d+)? MiB of 64 MiB/);
    assert.doesNotMatch(await summary.innerText(), /of 64 MiB \(default\)/);

    await page.reload();
    const own = page.getByTestId('storage').getByTestId(`storage-${USER}`);
    await own.waitFor();
    assert.match(await own.innerText(), /Your files.*: 5(\.\d+)? MiB of 64 MiB/s);
  });
});

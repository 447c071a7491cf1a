/**
 * The home page's storage card in Debian's chromium, behind a hub on a btrfs-loop pool:
 * the usage bar of the user's files and of their group's workspace, and the warning once
 * the workspace is above its soft limit (written from the host, as a member's kernel would).
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
const MiB = 1024 ** 2;

describe('storage usage on the home page', { timeout: 300_000 }, () => {
  let hub: HubProcess;
  let chrome: TestBrowser | undefined;
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
    chrome = await launchChromium();
    page = chrome.context.pages()[0] ?? (await chrome.context.newPage());
    await page.goto(`${hub.url}/hub/login`);
    await submitHubLogin(page, USER, PASSWORD);
    await page.waitForURL(/\/hub\/home/);
  });

  after(async () => {
    await chrome?.close();
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
});

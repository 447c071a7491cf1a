import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Debian's chromium, as the browser tests drive it. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Flags for a quiet, headless, offline chromium (architecture.md, "Pinned for Node 20"). */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--disable-quic',
];

/** A chromium with a fresh profile (no cookies or cache from an earlier run) and its first page. */
export interface TestBrowser {
  context: BrowserContext;
  page: Page;
  /** Closes the browser and removes its profile. */
  close(): Promise<void>;
}

export async function launchChromium(opts: { viewport?: { width: number; height: number } } = {}): Promise<TestBrowser> {
  const profileDir = mkdtempSync(path.join(tmpdir(), 'eucp-chromium-'));
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS], ...(opts.viewport ? { viewport: opts.viewport } : {}),
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profileDir, { recursive: true, force: true });
    },
  };
}

/** Fills and submits the hub's log-in form on `page` (which must show it). */
export async function submitHubLogin(page: Page, user: string, password: string): Promise<void> {
  await page.getByLabel(/user ?name/i).fill(user);
  await page.getByLabel(/password/i).fill(password);
  await page.getByRole('button', { name: /log ?in|sign in/i }).click();
}

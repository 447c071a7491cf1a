/**
 * Helpers of the lab-server end-to-end tests (e2e/lab.test.ts): a user's lab server reached
 * through the hub with the user's API token (never through the page), nbformat validation
 * with Debian's Python, and small JupyterLab page helpers for chromium.
 */
import { execFile } from 'node:child_process';
import type { Locator, Page } from 'playwright-core';

/** A minimal nbformat 4.5 code cell. */
export function codeCell(id: string, source: string): Record<string, unknown> {
  return { id, cell_type: 'code', metadata: {}, execution_count: null, source, outputs: [] };
}

/** Stored notebook as the contents API returns it. */
export interface StoredNotebook {
  cells: Array<{ id: string; cell_type: string; source: string | string[]; execution_count?: number | null; outputs?: Array<Record<string, unknown>> }>;
  [key: string]: unknown;
}

/** One user's lab server, reached through the hub's proxy with the user's API token. */
export class LabApi {
  constructor(readonly hubUrl: string, readonly user: string, private readonly token: string) {}

  /** `fetch` of `/user/<name>/<route>` with the token. */
  request(method: string, route: string, body?: unknown): Promise<Response> {
    return fetch(`${this.hubUrl}/user/${this.user}/${route}`, {
      method,
      headers: { authorization: `token ${this.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
  }

  /** Writes a notebook with these cells (PUT api/contents). */
  async putNotebook(file: string, cells: Array<Record<string, unknown>>): Promise<void> {
    // No `language_info`, as from nbformat or another tool: JupyterLab adds it when the kernel connects.
    const metadata = { kernelspec: { name: 'python3', display_name: 'Python 3 (ipykernel)', language: 'python' } };
    const content = { cells, metadata, nbformat: 4, nbformat_minor: 5 };
    const res = await this.request('PUT', `api/contents/${encodeURIComponent(file)}`, { type: 'notebook', format: 'json', content });
    if (res.status !== 200 && res.status !== 201) throw new Error(`PUT ${file}: HTTP ${res.status} ${await res.text()}`);
  }

  /** The stored notebook as parsed JSON and the raw bytes of the file (`format=text`). */
  async readNotebook(file: string): Promise<{ nb: StoredNotebook; raw: string }> {
    const res = await this.request('GET', `api/contents/${encodeURIComponent(file)}?type=file&format=text&content=1`);
    if (res.status !== 200) throw new Error(`GET ${file}: HTTP ${res.status} ${await res.text()}`);
    const raw = ((await res.json()) as { content: string }).content;
    return { nb: JSON.parse(raw) as StoredNotebook, raw };
  }

  /** The sessions of the server (path and kernel state). */
  async sessions(): Promise<Array<{ path: string; kernel: { id: string; execution_state: string } }>> {
    const res = await this.request('GET', 'api/sessions');
    if (res.status !== 200) throw new Error(`GET api/sessions: HTTP ${res.status}`);
    return (await res.json()) as Array<{ path: string; kernel: { id: string; execution_state: string } }>;
  }
}

/** The stream text of one stored cell (all stdout outputs joined). */
export function storedStdout(nb: StoredNotebook, cellId: string): string {
  const cell = nb.cells.find((c) => c.id === cellId);
  if (!cell) throw new Error(`no cell ${cellId}`);
  return (cell.outputs ?? [])
    .filter((o) => o['output_type'] === 'stream' && o['name'] === 'stdout')
    .map((o) => (Array.isArray(o['text']) ? (o['text'] as string[]).join('') : String(o['text'])))
    .join('');
}

/** The numbers printed one per line (`"<i>\n"`) in `text`. */
export function printedNumbers(text: string): number[] {
  return text.split('\n').filter((l) => /^\d+$/.test(l.trim())).map((l) => Number(l.trim()));
}

/** Rejects unless Debian's nbformat accepts `text` as a valid version-4 notebook. */
export function validateNbformat(text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = execFile('/usr/bin/python3', ['-c', 'import nbformat,sys; nbformat.validate(nbformat.reads(sys.stdin.read(), 4))'], (err, _out, stderr) => {
      if (err) reject(new Error(`nbformat rejects the notebook: ${stderr}`));
      else resolve();
    });
    child.stdin!.end(text);
  });
}

/** Polls `check` until it returns a value (not undefined) or `timeoutMs` passes. */
export async function waitUntil<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

// -- JupyterLab page helpers --------------------------------------------------------------

/** The notebook panel of the current tab. */
export function notebook(page: Page): Locator {
  return page.locator('.jp-NotebookPanel:not(.lm-mod-hidden)');
}

/** Waits until the notebook's kernel is idle (the toolbar's execution indicator). */
export async function waitKernelIdle(page: Page, timeoutMs = 90_000): Promise<void> {
  await notebook(page).locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').waitFor({ timeout: timeoutMs });
}

/** The `index`-th cell (0-based) of the current notebook. */
export function cell(page: Page, index: number): Locator {
  return notebook(page).locator('.jp-Notebook .jp-Cell').nth(index);
}

/** The text of a cell's output area as rendered. */
export async function outputText(c: Locator): Promise<string> {
  const area = c.locator('.jp-OutputArea');
  if ((await area.count()) === 0) return '';
  return area.first().innerText();
}

/** Clicks into a cell's editor and runs it with Shift+Enter. */
export async function runCell(page: Page, c: Locator): Promise<void> {
  await c.locator('.cm-content').click();
  await page.keyboard.press('Shift+Enter');
}

/** Replaces a cell's source by typing (select all, then type). */
export async function setSource(page: Page, c: Locator, source: string): Promise<void> {
  await c.locator('.cm-content').click();
  await page.keyboard.press('ControlOrMeta+a');
  await page.keyboard.type(source);
}

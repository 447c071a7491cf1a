import { readFileSync } from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';
import type { BrowserClient } from '@eucp/testing/browser-client';
import { KernelClient } from '@eucp/testing/kernel-client';

/**
 * Polls `fn` every `intervalMs` until it returns something truthy (returned), or throws
 * after `timeoutMs` naming `what`. For states only observable by asking (a server's status).
 */
export async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 90_000, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** One JSON API call with a token. */
export function api(base: string, token: string, method: string, pathname: string, body?: unknown): Promise<Response> {
  return fetch(`${base}${pathname}`, {
    method,
    headers: { authorization: `token ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
}

export function wsUrl(base: string, pathname: string): string {
  return base.replace(/^http/, 'ws') + pathname;
}

/** Starts a Python kernel in `user`'s running server through the hub and connects to it (ready); `id` is the kernel's. */
export async function openKernel(base: string, user: string, token: string): Promise<{ id: string; kernel: KernelClient }> {
  const res = await api(base, token, 'POST', `/user/${user}/api/kernels`, { name: 'python3' });
  assert.equal(res.status, 201, await res.clone().text());
  const { id } = (await res.json()) as { id: string };
  const kernel = await KernelClient.connect(wsUrl(base, `/user/${user}/api/kernels/${id}/channels`), { authorization: `token ${token}` });
  await kernel.waitReady();
  return { id, kernel };
}

/**
 * Runs `code` (which prints one JSON line) and parses the last JSON line of its output:
 * IPython may print its own messages after it (at a quota's hard limit, "The history saving
 * thread hit an unexpected error…").
 */
export async function runJson<T>(kernel: KernelClient, code: string): Promise<T> {
  const r = await kernel.execute(code);
  assert.equal(r.status, 'ok', r.stderr + JSON.stringify(r.error));
  const line = r.stdout.trim().split('\n').reverse().find((l) => /^[[{]/.test(l));
  assert.ok(line, r.stdout);
  return JSON.parse(line) as T;
}

/** The anti-forgery token of a logged-in browser session. */
export async function csrfOf(b: BrowserClient): Promise<string> {
  const res = await b.request('/hub/api/eucp/session');
  if (res.status !== 200) throw new Error(`no session: ${res.status}`);
  return ((await res.json()) as { csrfToken: string }).csrfToken;
}

export interface ProgressEvent { progress: number; message: string; ready?: boolean; failed?: boolean; url?: string }

/** Reads a server-sent event stream to its end. */
export async function readProgress(res: Response): Promise<ProgressEvent[]> {
  const text = await res.text();
  return text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)) as ProgressEvent);
}

/**
 * Starts a user's server from a browser session and follows the progress stream from the
 * moment the spawn is pending (as the home page does) to its end.
 */
export async function startServerAndWait(b: BrowserClient, user: string, csrf: string): Promise<ProgressEvent[]> {
  const started = b.request(`/hub/api/users/${user}/server`, { method: 'POST', headers: { 'x-xsrftoken': csrf } });
  let events: ProgressEvent[] | null = null;
  for (let i = 0; i < 500 && !events; i++) {
    const res = await b.request(`/hub/api/users/${user}/server/progress`);
    if (res.status === 200) events = await readProgress(res);
    else { await res.arrayBuffer(); await new Promise((r) => setTimeout(r, 10)); }
  }
  const res = await started;
  if (res.status !== 201 && res.status !== 202) throw new Error(`start: HTTP ${res.status} ${await res.text()}`);
  if (!events) throw new Error('the progress stream never opened');
  return events;
}

/** Waits until `GET <path>` with `token` answers 200 through the proxy. */
export async function waitForServer(base: string, user: string, token: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${base}/user/${user}/api/status`, { headers: { authorization: `token ${token}` }, redirect: 'manual' });
    if (res.status === 200) return;
    if (Date.now() > deadline) throw new Error(`${user}'s server did not answer: HTTP ${res.status}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface DatasetOracle { project: string; variable_id: string; latest: boolean; files: string[]; global_mean: number[]; tolerance: { abs: number; rel: number } }

/** A CMIP6 `tas` file of the demo data (as seen in the sandbox) and the oracle of its first time step. */
export function demoTasFile(stateDir: string): { file: string; oracle: { value: number; tolerance: number } } {
  const expected = JSON.parse(readFileSync(path.join(stateDir, 'data', 'expected.json'), 'utf8')) as { datasets: Record<string, DatasetOracle> };
  const ds = Object.values(expected.datasets).find((d) => d.project === 'CMIP6' && d.variable_id === 'tas' && d.latest);
  if (!ds) throw new Error('no CMIP6 tas data set in expected.json');
  const value = ds.global_mean[0]!;
  return { file: path.posix.join('/data', ds.files[0]!), oracle: { value, tolerance: ds.tolerance.abs + ds.tolerance.rel * Math.abs(value) } };
}

/**
 * The contract every `Spawner` (implementations and fakes) must pass, as `node:test`
 * cases, plus the small HTTP/polling helpers spawner tests share. Usage in a test file:
 *
 *   spawnerContract('ProcessSpawner', async () => ({ spawner, fresh, spec, cleanup }));
 *
 * The spec's command must run `fixtures/echo-server.py` (see {@link ECHO_SERVER_PATH}).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isAppError } from '@eucp/core';
import type { ServerName, UserName } from '@eucp/core';
import type { SpawnProgress, SpawnSpec, Spawner, SpawnerState } from '@eucp/hub/spawners/spawner';
import { findFreePort } from '@eucp/hub/spawners/local-sandbox/process-info';
/** Host path of the test server started by spawner tests (run it with `/usr/bin/python3`). */
export const ECHO_SERVER_PATH = fileURLToPath(new URL('./fixtures/echo-server.py', import.meta.url));

/** A GET response: status and body text. */
export interface HttpAnswer {
  status: number;
  body: string;
}

/** One GET to `url` (no keep-alive); rejects on connection errors or after `timeoutMs`. */
export function httpGet(url: string, timeoutMs = 5000): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, headers: { connection: 'close' }, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** GET `url` and parse the body as JSON; rejects unless the status is 200. */
export async function getJson<T = Record<string, unknown>>(url: string, timeoutMs = 5000): Promise<T> {
  const answer = await httpGet(url, timeoutMs);
  if (answer.status !== 200) throw new Error(`GET ${url} answered ${answer.status}: ${answer.body.slice(0, 200)}`);
  return JSON.parse(answer.body) as T;
}

/** True if `url` answers at all (any status) within `timeoutMs`. */
export async function answers(url: string, timeoutMs = 1000): Promise<boolean> {
  try {
    await httpGet(url, timeoutMs);
    return true;
  } catch {
    return false;
  }
}

/**
 * Polls `check` every `intervalMs` until it returns a value other than `undefined`/`false`
 * and returns that value; throws `Error("timed out waiting for <what>")` after `timeoutMs`.
 */
export async function waitUntil<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 20_000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Waits until `url` answers with a status below 500 (as the hub's readiness check does) and returns the answer. */
export function waitForHttp(url: string, timeoutMs = 20_000): Promise<HttpAnswer> {
  return waitUntil(`${url} to answer`, async () => {
    const a = await httpGet(url, 2000);
    return a.status < 500 ? a : undefined;
  }, timeoutMs);
}

/**
 * Processes whose environment contains `NAME=value` (`marker`), as `"<pid> <command>"`.
 * Reads every /proc/<pid>/environ it may (all of them as root).
 */
export async function processesWithEnv(marker: string): Promise<string[]> {
  const found: string[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const environ = await readFile(`/proc/${name}/environ`, 'latin1');
      if (!environ.split('\0').includes(marker)) continue;
      const stat = await readFile(`/proc/${name}/stat`, 'latin1');
      if (/\) Z /.test(stat)) continue; // a zombie is already dead
      const cmd = (await readFile(`/proc/${name}/cmdline`, 'latin1')).split('\0').join(' ').trim();
      found.push(`${name} ${cmd}`);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

/** What a test file provides to {@link spawnerContract}. */
export interface SpawnerFixture {
  spawner: Spawner;
  /**
   * A spec whose command runs the echo server. The contract always passes `user`,
   * `server`, `prefix` and `env` overrides (fresh user names, an env marker).
   */
  spec: (overrides?: Partial<SpawnSpec>) => SpawnSpec;
  /** A new spawner configured like `spawner`, as a restarted hub would build it. */
  fresh: () => Spawner;
  /** Implementation-specific resources left behind (cgroups, …), described; `[]` = clean. */
  leftovers?: () => Promise<string[]>;
  /** Removes everything the fixture created. */
  cleanup(): Promise<void>;
}

/**
 * Registers the spawner contract as a `describe` block named after `name`. `make` is
 * called once for the block; each case uses its own user names.
 */
export function spawnerContract(name: string, make: () => Promise<SpawnerFixture>): void {
  describe(`Spawner contract: ${name}`, { concurrency: false }, () => {
    let fx: SpawnerFixture;
    let n = 0;
    const started: Array<{ spawner: Spawner; state: SpawnerState }> = [];

    before(async () => {
      fx = await make();
    });
    after(async () => {
      // Stop whatever a failed case left running, then let the fixture clean up.
      for (const s of started) await s.spawner.stop(s.state, { timeoutMs: 1000 }).catch(() => undefined);
      await fx?.cleanup();
    });

    /** A spec for a fresh user, marked with an environment variable. */
    const specFor = (overrides: Partial<SpawnSpec> = {}): { spec: SpawnSpec; mark: string } => {
      const user = `cu${++n}${randomBytes(2).toString('hex')}` as UserName;
      const mark = `EUCP_CONTRACT_MARK=${randomBytes(8).toString('hex')}`;
      const base = fx.spec({ user, server: '' as ServerName, prefix: `/user/${user}/` });
      const [k, v] = mark.split('=') as [string, string];
      return { spec: { ...base, ...overrides, env: { ...base.env, ...overrides.env, [k]: v } }, mark };
    };
    const start = async (spec: SpawnSpec, onProgress?: (p: SpawnProgress) => void, spawner = fx.spawner) => {
      const result = await spawner.start(spec, onProgress);
      started.push({ spawner, state: result.state });
      return result;
    };
    const assertClean = async (mark: string): Promise<void> => {
      assert.deepEqual(await waitUntil('marked processes to end', async () => {
        const left = await processesWithEnv(mark);
        return left.length === 0 ? left : undefined;
      }, 5000), []);
      if (fx.leftovers) assert.deepEqual(await fx.leftovers(), []);
    };

    it('start resolves with a URL that answers HTTP under the prefix; progress is monotonic', async () => {
      const { spec, mark } = specFor();
      const progress: SpawnProgress[] = [];
      const { url, state } = await start(spec, (p) => progress.push(p));
      assert.match(url, /^https?:\/\/[^/]+$/, 'url is scheme://host:port without a path');
      assert.ok(progress.length > 0, 'progress was reported');
      for (const [i, p] of progress.entries()) {
        assert.ok(p.progress >= 0 && p.progress <= 100, `progress ${p.progress} within 0..100`);
        assert.equal(typeof p.message, 'string');
        if (i > 0) assert.ok(p.progress >= progress[i - 1]!.progress, 'progress never goes back');
      }
      const answer = await waitForHttp(`${url}${spec.prefix}`);
      assert.equal(answer.status, 200);
      const body = JSON.parse(answer.body) as { env: Record<string, string> };
      assert.equal(body.env.JUPYTERHUB_SERVICE_URL, `${url}${spec.prefix}`, 'the server got JUPYTERHUB_SERVICE_URL');
      assert.equal(`EUCP_CONTRACT_MARK=${body.env.EUCP_CONTRACT_MARK}`, mark, 'the server got spec.env');
      assert.doesNotThrow(() => JSON.parse(JSON.stringify(state)), 'state is JSON');
      await fx.spawner.stop(state);
      await assertClean(mark);
    });

    it('poll says running while the server runs (state survives a JSON round trip)', async () => {
      const { spec, mark } = specFor();
      const { url, state } = await start(spec);
      const stored = JSON.parse(JSON.stringify(state)) as SpawnerState;
      await waitForHttp(`${url}${spec.prefix}`);
      assert.deepEqual(await fx.spawner.poll(stored), { running: true });
      await fx.spawner.stop(stored);
      await assertClean(mark);
    });

    it('stop ends the server and its children, is idempotent, and leaves nothing', async () => {
      const { spec, mark } = specFor();
      const { url, state } = await start(spec);
      await waitForHttp(`${url}${spec.prefix}`);
      const childPort = await findFreePort();
      await getJson(`${url}${spec.prefix}fork?port=${childPort}`);
      await waitForHttp(`http://127.0.0.1:${childPort}/`);
      await fx.spawner.stop(state, { timeoutMs: 5000 });
      assert.equal(await answers(`${url}${spec.prefix}`), false, 'the server no longer answers');
      assert.equal(await answers(`http://127.0.0.1:${childPort}/`), false, 'its child no longer answers');
      const status = await fx.spawner.poll(state);
      assert.equal(status.running, false);
      await fx.spawner.stop(state);
      await fx.spawner.stop(state, { timeoutMs: 0 });
      await assertClean(mark);
    });

    it('a server that exits by itself is reported by poll with its exit code', async () => {
      const { spec, mark } = specFor();
      const { url, state } = await start(spec);
      await waitForHttp(`${url}${spec.prefix}`);
      await getJson(`${url}${spec.prefix}exit?code=7`);
      const status = await waitUntil('poll to report the exit', async () => {
        const s = await fx.spawner.poll(state);
        return s.running ? undefined : s;
      });
      assert.equal(status.running, false);
      if (!status.running) {
        assert.equal(status.reason, 'exited');
        assert.equal(status.exitCode, 7);
        assert.ok(status.message.length > 0);
      }
      await fx.spawner.stop(state);
      await assertClean(mark);
    });

    it('the server outlives the spawner object; a new instance polls and stops it from state', async () => {
      const { spec, mark } = specFor();
      const first = fx.fresh();
      const { url, state } = await start(spec, undefined, first);
      const stored = JSON.stringify(state);
      await waitForHttp(`${url}${spec.prefix}`);
      const second = fx.fresh();
      started.push({ spawner: second, state });
      assert.deepEqual(await second.poll(JSON.parse(stored) as SpawnerState), { running: true });
      assert.equal((await getJson(`${url}${spec.prefix}`)).ok, true);
      await second.stop(JSON.parse(stored) as SpawnerState);
      assert.equal((await second.poll(JSON.parse(stored) as SpawnerState)).running, false);
      assert.equal(await answers(`${url}${spec.prefix}`), false);
      await assertClean(mark);
    });

    it('a crashing command fails start with SPAWN_FAILED (log lines in the detail) and leaves nothing', async () => {
      const { spec, mark } = specFor({
        cmd: ['/usr/bin/python3', '-c', 'import sys; print("contract-crash-output", flush=True); sys.exit(3)'],
        args: [],
      });
      await assert.rejects(start(spec), (err: unknown) => {
        assert.ok(isAppError(err), `AppError expected, got ${String(err)}`);
        assert.equal(err.code, 'SPAWN_FAILED');
        assert.match(err.detail ?? '', /contract-crash-output/);
        return true;
      });
      await assertClean(mark);
    });

    it('a command that cannot be executed fails start with SPAWN_FAILED and leaves nothing', async () => {
      const { spec, mark } = specFor({ cmd: ['/nonexistent/eucp-server'], args: [] });
      await assert.rejects(start(spec), (err: unknown) => isAppError(err) && err.code === 'SPAWN_FAILED');
      await assertClean(mark);
    });
  });
}

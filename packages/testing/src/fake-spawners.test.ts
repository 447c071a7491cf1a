import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { isAppError, type ServerName, type UserName } from '@eucp/core';
import type { SpawnProgress, SpawnSpec } from '@eucp/hub/spawners/spawner';
import { CrashingSpawner, FailingSpawner, ProcessSpawner, SlowSpawner } from './fake-spawners.js';
import { ECHO_SERVER_PATH, spawnerContract, waitForHttp, waitUntil } from './spawner-contract.js';

function echoSpec(overrides: Partial<SpawnSpec> = {}): SpawnSpec {
  const user = (overrides.user ?? 'fake') as UserName;
  return {
    user,
    groups: [],
    server: '' as ServerName,
    prefix: `/user/${user}/`,
    env: {},
    cmd: ['/usr/bin/python3', ECHO_SERVER_PATH],
    args: [],
    limits: { memoryLimitBytes: null, cpuLimitCores: null },
    ...overrides,
  };
}

async function processFixture(wrap: (inner: ProcessSpawner) => import('@eucp/hub/spawners/spawner').Spawner) {
  const logDir = await mkdtemp(path.join(tmpdir(), 'eucp-fake-spawner-'));
  const make = () => wrap(new ProcessSpawner({ logDir, cwd: logDir }));
  return {
    spawner: make(),
    fresh: make,
    spec: echoSpec,
    cleanup: () => rm(logDir, { recursive: true, force: true }),
  };
}

spawnerContract('ProcessSpawner', () => processFixture((p) => p));
spawnerContract('SlowSpawner(ProcessSpawner, 300 ms)', () => processFixture((inner) => new SlowSpawner({ inner, delayMs: 300 })));

describe('SlowSpawner', () => {
  it('reports progress during the delay before the inner start begins', async () => {
    const fx = await processFixture((inner) => new SlowSpawner({ inner, delayMs: 200 }));
    try {
      const progress: SpawnProgress[] = [];
      const t0 = Date.now();
      const { state } = await fx.spawner.start(echoSpec({ user: 'slow' as UserName, prefix: '/user/slow/' }), (p) => progress.push(p));
      assert.ok(Date.now() - t0 >= 200, 'start took at least the delay');
      assert.ok(progress.filter((p) => p.progress < 50).length >= 5, 'progress during the delay');
      assert.equal(progress.at(-1)?.progress, 100);
      await fx.spawner.stop(state);
    } finally {
      await fx.cleanup();
    }
  });
});

describe('CrashingSpawner', () => {
  it('the server stops N ms after it first answers; poll then reports exited with the exit code', async () => {
    const fx = await processFixture((inner) => new CrashingSpawner({ inner, crashAfterMs: 100, exitCode: 3 }));
    try {
      const spec = echoSpec({ user: 'crash' as UserName, prefix: '/user/crash/' });
      const { url, state } = await fx.spawner.start(spec);
      await waitForHttp(`${url}${spec.prefix}`);
      const status = await waitUntil('the crash', async () => {
        const s = await fx.spawner.poll(state);
        return s.running ? undefined : s;
      });
      assert.deepEqual({ ...status, message: undefined }, { running: false, reason: 'exited', exitCode: 3, message: undefined });
      await fx.spawner.stop(state);
    } finally {
      await fx.cleanup();
    }
  });

  it('stopping before the crash cancels it', async () => {
    const fx = await processFixture((inner) => new CrashingSpawner({ inner, crashAfterMs: 60_000 }));
    try {
      const spec = echoSpec({ user: 'nocrash' as UserName, prefix: '/user/nocrash/' });
      const { url, state } = await fx.spawner.start(spec);
      await waitForHttp(`${url}${spec.prefix}`);
      await fx.spawner.stop(state);
      assert.equal((await fx.spawner.poll(state)).running, false);
    } finally {
      await fx.cleanup();
    }
  });
});

describe('FailingSpawner', () => {
  it('start throws SPAWN_FAILED after reporting progress; poll says gone; stop is a no-op', async () => {
    const spawner = new FailingSpawner({ detail: 'no capacity' });
    const progress: SpawnProgress[] = [];
    await assert.rejects(spawner.start(echoSpec(), (p) => progress.push(p)), (err: unknown) => {
      assert.ok(isAppError(err));
      assert.equal(err.code, 'SPAWN_FAILED');
      assert.equal(err.detail, 'no capacity');
      return true;
    });
    assert.ok(progress.length > 0);
    assert.equal((await spawner.poll({})).running, false);
    await spawner.stop({});
  });
});

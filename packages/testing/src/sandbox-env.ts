import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, copyFile, mkdir, mkdtemp, readFile, readdir, rm, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import type { ServerName, UserName } from '@eucp/core';
import type { SpawnSpec } from '@eucp/hub/spawners/spawner';
import { CONTROLLERS } from '@eucp/hub/spawners/local-sandbox/cgroup-limits';
import { LocalSandboxSpawner, type LocalSandboxSpawnerOptions } from '@eucp/hub/spawners/local-sandbox/local-sandbox-spawner';
import { listPids, pollUntil, trySignal } from '@eucp/hub/spawners/local-sandbox/process-info';

const execFileAsync = promisify(execFile);

/**
 * Test support for the local-sandbox tests (used only by `*.test.ts`): a throw-away
 * machine setup with a random account prefix (`et<6 hex>-`), its own parent cgroup and
 * staging directory, and a hub-like state directory (mode 0700, as `eucp start` creates
 * it) holding a secret, the homes, the logs and the data (with the echo server in it).
 * `cleanup` removes exactly what it created: processes of its accounts, its cgroups, its
 * accounts (`userdel -r`) and its directories.
 */
export interface SandboxTestEnv {
  unixUserPrefix: string;
  /** Stands for the hub's state directory (holds a secret file, the homes and the logs). */
  stateDir: string;
  homeRoot: string;
  dataDir: string;
  logDir: string;
  cgroupRoot: string;
  cgroupName: string;
  stageDir: string;
  /** A spawner on this setup (a new instance per call, as a restarted hub would build). */
  make(overrides?: Partial<LocalSandboxSpawnerOptions>): LocalSandboxSpawner;
  /** A spec running the echo server from `/data`, 512 MiB and 1 core unless overridden. */
  spec(overrides?: Partial<SpawnSpec>): SpawnSpec;
  /** Server cgroups still present and processes of this setup's accounts, described. */
  leftovers(): Promise<string[]>;
  cleanup(): Promise<void>;
}

/** Creates a {@link SandboxTestEnv}; `echoServerPath` is copied to `<dataDir>/echo-server.py`. */
export async function createSandboxTestEnv(echoServerPath: string): Promise<SandboxTestEnv> {
  const hex = randomBytes(3).toString('hex');
  const unixUserPrefix = `et${hex}-`;
  const cgroupRoot = '/sys/fs/cgroup';
  const cgroupName = `eucp-test-${hex}`;
  const base = await mkdtemp('/tmp/eucp-sandbox-test-');
  // Like `eucp start`: a 0700 state dir holding a secret, the homes, the logs and the data.
  const stateDir = path.join(base, 'state');
  await mkdir(stateDir, { mode: 0o700 });
  await writeFile(path.join(stateDir, 'secret.txt'), 'hub secret\n', { mode: 0o600 });
  const homeRoot = path.join(stateDir, 'home');
  const logDir = path.join(stateDir, 'logs');
  const dataDir = path.join(stateDir, 'data');
  await mkdir(path.join(dataDir, 'cmip6'), { recursive: true, mode: 0o755 });
  await chmod(dataDir, 0o755);
  // The staging directory must be reachable by the accounts, so not inside `base`.
  const stageDir = `/tmp/eucp-sandbox-stage-${hex}`;
  await copyFile(echoServerPath, path.join(dataDir, 'echo-server.py'));
  await writeFile(path.join(dataDir, 'cmip6', 'tas.txt'), 'near-surface air temperature\n', { mode: 0o644 });
  const logger = pino({ level: process.env.EUCP_TEST_LOG_LEVEL ?? 'silent' });

  const accountUids = async (): Promise<Map<string, number>> => {
    const out = new Map<string, number>();
    for (const line of (await readFile('/etc/passwd', 'utf8')).split('\n')) {
      const [name, , uid] = line.split(':');
      if (name?.startsWith(unixUserPrefix) && uid) out.set(name, Number(uid));
    }
    return out;
  };
  const processesOf = async (uids: Set<number>): Promise<string[]> => {
    const found: string[] = [];
    for (const pid of await listPids()) {
      try {
        const status = await readFile(`/proc/${pid}/status`, 'utf8');
        const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
        if (uids.has(uid) && !/^State:\s+Z/m.test(status)) found.push(`${pid} (uid ${uid})`);
      } catch {
        // gone
      }
    }
    return found;
  };
  const serverCgroups = async (): Promise<string[]> => {
    const found: string[] = [];
    for (const c of CONTROLLERS) {
      const parent = path.join(cgroupRoot, c, cgroupName);
      const entries = await readdir(parent, { withFileTypes: true }).catch(() => []);
      for (const e of entries) if (e.isDirectory()) found.push(path.join(parent, e.name));
    }
    return found;
  };

  return {
    unixUserPrefix,
    stateDir,
    homeRoot,
    dataDir,
    logDir,
    cgroupRoot,
    cgroupName,
    stageDir,
    make: (overrides = {}) =>
      new LocalSandboxSpawner({ homeRoot, dataDir, logDir, unixUserPrefix, logger, cgroupRoot, cgroupName, stageDir, ...overrides }),
    spec: (overrides = {}) => {
      const user = (overrides.user ?? 'alice') as UserName;
      return {
        user,
        groups: [],
        server: '' as ServerName,
        prefix: `/user/${user}/`,
        env: {},
        cmd: ['/usr/bin/python3', '/data/echo-server.py'],
        args: [],
        limits: { memoryLimitBytes: 512 * 1024 ** 2, cpuLimitCores: 1 },
        ...overrides,
      };
    },
    async leftovers() {
      const uids = new Set((await accountUids()).values());
      return [...(await serverCgroups()).map((d) => `cgroup ${d}`), ...(await processesOf(uids)).map((p) => `process ${p}`)];
    },
    async cleanup() {
      const accounts = await accountUids();
      const uids = new Set(accounts.values());
      await pollUntil(async () => {
        const left = await processesOf(uids);
        for (const p of left) trySignal(Number(p.split(' ')[0]), 'SIGKILL');
        return left.length === 0;
      }, 10_000);
      for (const dir of (await serverCgroups()).reverse()) await rmdir(dir).catch(() => undefined);
      for (const c of CONTROLLERS) await rmdir(path.join(cgroupRoot, c, cgroupName)).catch(() => undefined);
      for (const name of accounts.keys()) {
        // Only names with this run's random prefix, so never anyone else's account.
        await execFileAsync('/usr/sbin/userdel', ['--remove', name]).catch(() => undefined);
      }
      await rm(base, { recursive: true, force: true });
      await rm(stageDir, { recursive: true, force: true });
    },
  };
}

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { removeWorkspaceGroups, unmountTestStorage } from './btrfs-pool.js';
import { releaseShareMounts } from './share-mounts.js';

const run = promisify(execFile);

/** Repository root (this file is packages/testing/src/hub-process.ts). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const CLI = path.join(REPO_ROOT, 'packages/cli/src/main.ts');
const NODE_ARGS = ['--conditions=source', '--import', 'tsx', CLI];

export interface HubProcessOptions {
  /** Extra TOML appended to the generated config file. */
  toml?: string;
  /** Use this state directory (e.g. to restart a hub on the same state). */
  stateDir?: string;
  /** Unix account prefix; random by default so test accounts never clash. */
  unixUserPrefix?: string;
  /** Data cache; default: the tiny EUCP-SYN profile generated into the state dir. */
  dataDir?: string;
  env?: Record<string, string>;
  /** `spawner.server`: the single-user server users get (the hub's default, `lab`, when omitted). */
  server?: 'lab' | 'singleuser';
}

/**
 * A real hub in a child process (`eucp start --port 0`), as an operator runs it: for
 * integration tests that kill it, restart it and reach it over real sockets.
 */
export class HubProcess {
  url = '';
  adminPassword: string | null = null;
  private output = '';
  private constructor(
    readonly stateDir: string,
    readonly configFile: string,
    readonly unixUserPrefix: string,
    private child: ChildProcess,
    private readonly env: Record<string, string>,
  ) {}

  /** Starts a hub and waits until it prints its URL. */
  static async start(opts: HubProcessOptions = {}): Promise<HubProcess> {
    const stateDir = opts.stateDir ?? mkdtempSync(path.join(tmpdir(), 'eucp-hub-'));
    const prefix = opts.unixUserPrefix ?? `et${randomBytes(3).toString('hex')}-`;
    const configFile = path.join(stateDir, 'test-hub.toml');
    const dataDir = opts.dataDir ?? path.join(stateDir, 'data');
    if (!opts.stateDir) {
      writeFileSync(configFile, [
        'port = 0',
        `dataDir = ${JSON.stringify(dataDir)}`,
        '[log]',
        'level = "warn"',
        '[spawner]',
        `unixUserPrefix = ${JSON.stringify(prefix)}`,
        opts.server ? `server = ${JSON.stringify(opts.server)}` : '',
        opts.toml ?? '',
        // Test hubs keep plain directories unless a test asks for a btrfs pool (`[storage]` in its toml).
        /^\[storage\]/m.test(opts.toml ?? '') ? '' : '[storage]\nbackend = "plain"',
      ].join('\n'));
      if (!opts.dataDir) await cli(['data', 'generate', '--profile', 'tiny', '--out', dataDir], { EUCP_STATE_DIR: stateDir });
    }
    const env = { ...process.env, EUCP_STATE_DIR: stateDir, ...(opts.env ?? {}) } as Record<string, string>;
    const hub = new HubProcess(stateDir, configFile, prefix, HubProcess.spawnChild(configFile, env), env);
    await hub.waitForUrl();
    return hub;
  }

  private static spawnChild(configFile: string, env: Record<string, string>): ChildProcess {
    return spawn(process.execPath, [...NODE_ARGS, 'start', '--config', configFile], {
      cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'],
    });
  }

  private waitForUrl(timeoutMs = 30_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`hub did not start:\n${this.output}`)), timeoutMs);
      const onData = (chunk: Buffer): void => {
        this.output += chunk.toString();
        const m = /running at (http:\/\/\S+?)\/?\s/.exec(this.output);
        const pw = /one-time password "([^"]+)"/.exec(this.output);
        if (pw) this.adminPassword = pw[1]!;
        if (m) { clearTimeout(timer); this.url = m[1]!; resolve(); }
      };
      this.child.stdout!.on('data', onData);
      this.child.stderr!.on('data', (c: Buffer) => { this.output += c.toString(); });
      this.child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`hub exited with ${code}:\n${this.output}`)); });
    });
  }

  get pid(): number { return this.child.pid!; }
  get log(): string { return this.output; }

  /** Kills the hub process (SIGKILL simulates a crash) and waits for it to exit. */
  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill(signal);
    await exited;
  }

  /** Stops the hub with `signal` (SIGKILL = a crash) and starts a new one on the same state. */
  async restart(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.kill(signal);
    this.output = '';
    this.child = HubProcess.spawnChild(this.configFile, this.env);
    await this.waitForUrl();
  }

  /** Runs an `eucp` command against this hub's state; resolves stdout. */
  cli(args: string[], stdin?: string): Promise<string> {
    return cli(args, { EUCP_STATE_DIR: this.stateDir }, stdin);
  }

  /** An admin API token (issued through the CLI). */
  async adminToken(): Promise<string> {
    return (await this.cli(['token', 'issue', 'admin'])).trim();
  }

  /** Stops every server through the API, kills the hub, removes Unix accounts and the state dir. */
  async destroy(): Promise<void> {
    try {
      if (this.child.exitCode === null && this.child.signalCode === null) {
        const token = await this.adminToken();
        const users = (await (await fetch(`${this.url}/hub/api/users`, { headers: { authorization: `token ${token}` } })).json()) as Array<{ name: string }>;
        await Promise.all(users.map((u) => fetch(`${this.url}/hub/api/users/${u.name}/server`, { method: 'DELETE', headers: { authorization: `token ${token}` } })));
      }
    } finally {
      await this.kill('SIGTERM');
      await removeUnixAccounts(this.unixUserPrefix);
      await removeWorkspaceGroups(this.unixUserPrefix);
      await releaseShareMounts(this.stateDir);
      await unmountTestStorage(this.stateDir);
      rmSync(this.stateDir, { recursive: true, force: true });
    }
  }
}

async function cli(args: string[], env: Record<string, string>, stdin?: string): Promise<string> {
  const child = execFile(process.execPath, [...NODE_ARGS, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env } });
  if (stdin !== undefined) child.stdin!.end(stdin); else child.stdin!.end();
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr!.on('data', (c: Buffer) => { err += c.toString(); });
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  if (code !== 0) throw new Error(`eucp ${args.join(' ')} exited with ${code}: ${err}`);
  return out;
}

/** Deletes the Unix accounts (and their groups) whose names start with `prefix`. */
export async function removeUnixAccounts(prefix: string): Promise<void> {
  if (!/^et[0-9a-f]{6}-$/.test(prefix) && !prefix.startsWith('etest')) return; // never touch real accounts
  const names = readFileSync('/etc/passwd', 'utf8').split('\n').map((l) => l.split(':')[0]!).filter((n) => n.startsWith(prefix));
  for (const name of names) {
    await run('/usr/sbin/userdel', [name]).catch(() => {});
    await run('/usr/sbin/groupdel', [name]).catch(() => {});
  }
}

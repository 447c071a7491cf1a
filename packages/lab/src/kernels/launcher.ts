/**
 * Launching a kernel process from a kernelspec (jupyter-server-api.md d.1, d.8): free
 * ports, the connection file, argv and environment, a detached process group, and the
 * process helpers (signals to the group, liveness) the manager needs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { connectionInfoSchema, type ConnectionInfo } from './connection.js';
import type { KernelSpec } from './types.js';

/**
 * `n` distinct free TCP ports on `host`, found by binding port 0. All listeners stay open
 * until every port is chosen so the same port is never handed out twice.
 */
export async function pickPorts(n: number, host = '127.0.0.1'): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => {
      const server = createServer();
      return new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, host, () => resolve(server));
      });
    }),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/** A new connection (TCP on `ip`, 5 free ports, random key, HMAC-SHA256). */
export async function newConnectionInfo(kernelName: string, ip = '127.0.0.1'): Promise<ConnectionInfo> {
  const [shell, iopub, stdin, control, hb] = (await pickPorts(5, ip)) as [number, number, number, number, number];
  return {
    shell_port: shell,
    iopub_port: iopub,
    stdin_port: stdin,
    control_port: control,
    hb_port: hb,
    ip,
    key: randomUUID(),
    transport: 'tcp',
    signature_scheme: 'hmac-sha256',
    kernel_name: kernelName,
  };
}

/**
 * Writes `data` as JSON atomically (temp file + fsync + rename) with mode 0600, creating
 * the directory (mode 0700) if needed.
 */
export async function writePrivateJson(file: string, data: unknown): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(JSON.stringify(data, null, 1));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
}

/**
 * Reads and validates a connection file.
 * @throws Error if unreadable, not JSON or not a connection file.
 */
export async function readConnectionFile(file: string): Promise<ConnectionInfo> {
  return connectionInfoSchema.parse(JSON.parse(await readFile(file, 'utf8')));
}

/** Deletes a file if it exists. */
export async function removeFile(file: string): Promise<void> {
  await unlink(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

/**
 * Replaces `{name}` in every argv element for each key of `vars` (`connection_file`,
 * `resource_dir`, …); unknown `{x}` are left as they are, as jupyter_client does.
 */
export function expandArgv(argv: readonly string[], vars: Record<string, string>): string[] {
  return argv.map((arg) => arg.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (m, k: string) => vars[k] ?? m));
}

/**
 * Python `string.Template.safe_substitute`: `$NAME` and `${NAME}` from `from`, `$$` → `$`,
 * unknown names left untouched.
 */
export function substituteEnvRefs(value: string, from: NodeJS.ProcessEnv): string {
  return value.replace(/\$(?:(\$)|([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)\})/g, (m, dollar, bare, braced) => {
    if (dollar) return '$';
    const v = from[(bare ?? braced) as string];
    return v === undefined ? m : v;
  });
}

/**
 * The kernel's environment (d.8 step 4): `base` + kernelspec `env` (with `${VAR}` taken
 * from `base`) + `extra`, without `PYTHONEXECUTABLE`.
 */
export function kernelEnv(
  base: NodeJS.ProcessEnv,
  specEnv: Record<string, string> | undefined,
  extra: Record<string, string> = {},
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined) env[k] = v;
  for (const [k, v] of Object.entries(specEnv ?? {})) env[k] = substituteEnvRefs(v, base);
  Object.assign(env, extra);
  delete env.PYTHONEXECUTABLE;
  return env;
}

/** What {@link launchKernel} needs. */
export interface LaunchOptions {
  spec: KernelSpec;
  /** Absolute path of the (already written) connection file. */
  connectionFile: string;
  /** Absolute working directory; must exist. */
  cwd: string;
  /** Complete environment (see {@link kernelEnv}). */
  env: Record<string, string>;
  /** stdout and stderr of the kernel are appended here (created 0600). */
  logFile: string;
}

/**
 * Spawns the kernel: argv array (never a shell), `cwd`, `env`, stdin closed, output to
 * the log file, in a new session/process group (detached) so signals can target the whole
 * group and the kernel can outlive this process. Resolves once the process exists.
 * @throws Error if `cwd` is not a directory or the command cannot be executed.
 */
export async function launchKernel(opts: LaunchOptions): Promise<ChildProcess> {
  const info = await stat(opts.cwd).catch(() => null);
  if (!info?.isDirectory()) throw new Error(`working directory ${opts.cwd} does not exist`);
  const argv = expandArgv(opts.spec.spec.argv, {
    connection_file: opts.connectionFile,
    resource_dir: opts.spec.resourceDir,
  });
  await mkdir(dirname(opts.logFile), { recursive: true, mode: 0o700 });
  const fd = openSync(opts.logFile, 'a', 0o600);
  try {
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: opts.cwd,
      env: opts.env,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (err) => reject(new Error(`cannot run ${argv[0]}: ${err.message}`)));
    });
    return child;
  } finally {
    closeSync(fd);
  }
}

/**
 * Sends `signal` to the process group led by `pid` (kernels are launched as group
 * leaders). Returns false if the group no longer exists.
 */
export function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  // kill(-1) would signal every process we may signal, kill(-0) our own group.
  if (!Number.isInteger(pid) || pid <= 1) throw new Error(`refusing to signal process group ${pid}`);
  try {
    process.kill(-pid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

/** The `/proc/<pid>/stat` fields after the command name, or null (no such process / no /proc). */
function procStat(pid: number): string[] | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** True if `pid` is running (zombies, which only wait to be reaped, count as gone). */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 1) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return procStat(pid)?.[0] !== 'Z';
}

/**
 * The process start time in clock ticks since boot (`/proc/<pid>/stat` field 22), which
 * with the pid identifies a process even after pid reuse; null where there is no /proc.
 */
export function processStartTicks(pid: number): string | null {
  return procStat(pid)?.[19] ?? null;
}

/** The last `maxBytes` of a file as text ('' if it does not exist). */
export async function tailFile(file: string, maxBytes = 4000): Promise<string> {
  try {
    const fh = await open(file, 'r');
    try {
      const { size } = await fh.stat();
      const start = Math.max(0, size - maxBytes);
      const buf = Buffer.alloc(size - start);
      await fh.read(buf, 0, buf.length, start);
      return buf.toString('utf8');
    } finally {
      await fh.close();
    }
  } catch {
    return '';
  }
}

/** Where a kernel's files live under the lab server's state directory. */
export function kernelPaths(stateDir: string, id: string): { connectionFile: string; logFile: string; record: string } {
  return {
    connectionFile: join(stateDir, 'runtime', `kernel-${id}.json`),
    logFile: join(stateDir, 'logs', `kernel-${id}.log`),
    record: join(stateDir, 'kernels', `${id}.json`),
  };
}

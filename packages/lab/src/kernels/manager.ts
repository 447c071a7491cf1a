/**
 * `ZmqKernelManager`: the lab server's {@link KernelManager}, launching kernels from
 * kernelspecs and speaking to them over ZeroMQ. Each kernel is recorded in
 * `<stateDir>/kernels/<id>.json` so a restarted lab server can {@link ZmqKernelManager.adopt}
 * the kernels the previous one left running ({@link ZmqKernelManager.detachAll}).
 */
import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import type { Logger } from 'pino';
import { JupyterError } from '../http/errors.js';
import { defaultKernelName, findKernelSpecs, kernelSpecDirs } from './kernelspecs.js';
import { isAlive, kernelEnv, kernelPaths, newConnectionInfo, processStartTicks, readConnectionFile, removeFile, writePrivateJson } from './launcher.js';
import type { Kernel, KernelManager, KernelSpec, StartKernelOptions } from './types.js';
import { kernelRecordSchema, ZmqKernel, type KernelRecord, type KernelRuntime } from './zmq-kernel.js';

/** Settings of a {@link ZmqKernelManager}. */
export interface ZmqKernelManagerOptions {
  /** The lab server's state directory: connection files, kernel logs and records live under it. */
  stateDir: string;
  log: Logger;
  /** `kernels` directories to search, in priority order; the standard Jupyter paths by default. */
  specPaths?: string[];
  /** Interpreter for a synthesized `python3` spec when none is installed; null disables. Default `/usr/bin/python3`. */
  python?: string | null;
  /** How long a kernel may take to answer its first `kernel_info_request`. Default 60 000. */
  startTimeoutMs?: number;
  /** Wait after `shutdown_request`, and again after SIGTERM, before escalating. Default 2 500. */
  shutdownGraceMs?: number;
  /** Heartbeat period. Default 3 000. */
  heartbeatIntervalMs?: number;
  /** Consecutive missed heartbeats before liveness is checked (and reported). Default 3. */
  heartbeatMisses?: number;
  /**
   * Set `JPY_PARENT_PID` so that ipykernel exits when the lab server does. Off by default:
   * it would defeat re-adoption across lab server restarts.
   */
  exitWithServer?: boolean;
  /** Base environment of kernels. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

/** {@link KernelManager} over ZeroMQ. See the module comment. */
export class ZmqKernelManager implements KernelManager {
  private readonly kernels = new Map<string, ZmqKernel>();
  private readonly listeners = new Set<(k: Kernel) => void>();
  private readonly log: Logger;
  private readonly rt: KernelRuntime;

  constructor(private readonly opts: ZmqKernelManagerOptions) {
    this.log = opts.log.child({ component: 'kernels' });
    const base = opts.env ?? process.env;
    const hbInterval = opts.heartbeatIntervalMs ?? 3000;
    this.rt = {
      log: this.log,
      resolveSpec: (name) => this.spec(name),
      envFor: (spec, extra) =>
        kernelEnv(base, spec.spec.env, { ...extra, ...(opts.exitWithServer ? { JPY_PARENT_PID: String(process.pid) } : {}) }),
      recordFile: (id) => kernelPaths(opts.stateDir, id).record,
      startTimeoutMs: opts.startTimeoutMs ?? 60_000,
      shutdownGraceMs: opts.shutdownGraceMs ?? 2500,
      heartbeat: { intervalMs: hbInterval, timeoutMs: hbInterval, misses: opts.heartbeatMisses ?? 3 },
    };
  }

  async specs(): Promise<{ default: string; kernelspecs: Record<string, KernelSpec> }> {
    const kernelspecs = await findKernelSpecs({
      dirs: this.opts.specPaths ?? kernelSpecDirs(this.opts.env ?? process.env),
      log: this.log,
      python: this.opts.python,
    });
    return { default: defaultKernelName(kernelspecs), kernelspecs };
  }

  /** One kernelspec. @throws JupyterError 404 if there is none of that name. */
  async spec(name: string): Promise<KernelSpec> {
    const { kernelspecs } = await this.specs();
    const spec = kernelspecs[name.toLowerCase()];
    if (!spec) throw new JupyterError(404, `No such kernel named ${name}`);
    return spec;
  }

  list(): Kernel[] {
    return [...this.kernels.values()];
  }

  get(id: string): Kernel | undefined {
    return this.kernels.get(id);
  }

  /**
   * @throws JupyterError 404 for an unknown kernelspec, 400 for a relative `cwd`, 500 when
   *   the kernel cannot be run, dies during start (message ends with its log) or stays silent.
   */
  async start(opts: StartKernelOptions): Promise<Kernel> {
    if (!isAbsolute(opts.cwd)) throw new JupyterError(400, `Kernel working directory must be absolute: ${opts.cwd}`);
    const name = opts.name ?? (await this.specs()).default;
    await this.spec(name);
    const id = randomUUID();
    const paths = kernelPaths(this.opts.stateDir, id);
    const info = await newConnectionInfo(name.toLowerCase());
    await writePrivateJson(paths.connectionFile, info);
    const record = { id, name: name.toLowerCase(), connectionFile: paths.connectionFile, cwd: opts.cwd, logFile: paths.logFile, env: opts.env ?? {} };
    const kernel = await ZmqKernel.launch(record, info, this.rt);
    this.add(kernel);
    return kernel;
  }

  async shutdown(id: string): Promise<void> {
    const kernel = this.kernels.get(id);
    if (!kernel) return;
    try {
      await kernel.shutdown();
    } finally {
      this.kernels.delete(id);
    }
  }

  async shutdownAll(): Promise<void> {
    await Promise.all([...this.kernels.keys()].map((id) => this.shutdown(id)));
  }

  /**
   * Closes every kernel's sockets without stopping the processes, and forgets them; their
   * records stay so the next lab server can {@link adopt} them.
   */
  detachAll(): void {
    for (const kernel of this.kernels.values()) kernel.detach();
    this.kernels.clear();
  }

  onKernel(listener: (k: Kernel) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Reconnects to every recorded kernel whose process is still alive (same pid and start
   * time) and answers `kernel_info_request` within `timeoutMs`; deletes the records and
   * connection files of kernels that are gone. Records of kernels that are alive but do
   * not answer are kept for a later attempt. Already managed kernels are skipped.
   * @returns the newly adopted kernels (each also announced to {@link onKernel} listeners).
   */
  async adopt(timeoutMs = 10_000): Promise<Kernel[]> {
    const dir = join(this.opts.stateDir, 'kernels');
    const files = await readdir(dir).catch(() => [] as string[]);
    const adopted = await Promise.all(files.filter((f) => f.endsWith('.json')).map((f) => this.adoptOne(join(dir, f), timeoutMs)));
    return adopted.filter((k): k is ZmqKernel => k !== null);
  }

  private async adoptOne(file: string, timeoutMs: number): Promise<ZmqKernel | null> {
    let record: KernelRecord;
    try {
      record = kernelRecordSchema.parse(JSON.parse(await readFile(file, 'utf8')));
    } catch (err) {
      this.log.warn({ file, err: String(err) }, 'removing unreadable kernel record');
      await removeFile(file);
      return null;
    }
    if (this.kernels.has(record.id)) return null;
    const sameProcess = isAlive(record.pid) && (record.startTicks === null || processStartTicks(record.pid) === record.startTicks);
    const info = sameProcess ? await readConnectionFile(record.connectionFile).catch(() => null) : null;
    if (!sameProcess || !info) {
      this.log.info({ kernel: record.id, pid: record.pid }, 'forgetting recorded kernel that is gone');
      await removeFile(record.connectionFile);
      await removeFile(record.logFile);
      await removeFile(file);
      return null;
    }
    const kernel = await ZmqKernel.adopt(record, info, this.rt, timeoutMs);
    if (kernel) this.add(kernel);
    return kernel;
  }

  private add(kernel: ZmqKernel): void {
    this.kernels.set(kernel.id, kernel);
    for (const listener of this.listeners) {
      try {
        listener(kernel);
      } catch (err) {
        this.log.error({ err }, 'onKernel listener threw');
      }
    }
  }
}

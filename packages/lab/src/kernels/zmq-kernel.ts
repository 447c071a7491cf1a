/**
 * One kernel process and its ZeroMQ connection: the {@link Kernel} the rest of the lab
 * server uses. Created by `ZmqKernelManager` (launched or re-adopted); owns the process
 * lifecycle (ready check, interrupt, restart on the same ports, shutdown, death).
 */
import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { z } from 'zod';
import { JupyterError } from '../http/errors.js';
import { KernelConnection, type ConnectionInfo } from './connection.js';
import { isAlive, launchKernel, processStartTicks, removeFile, signalGroup, tailFile, writePrivateJson } from './launcher.js';
import { newMessage } from './wire.js';
import type { ExecutionState, Kernel, KernelMessage, KernelModel, KernelSpec, KernelStatusEvent } from './types.js';

/** What `<stateDir>/kernels/<id>.json` holds, so a restarted lab server can re-adopt the kernel. */
export const kernelRecordSchema = z.object({
  id: z.string(),
  name: z.string(),
  pid: z.number().int().positive(),
  connectionFile: z.string(),
  cwd: z.string(),
  logFile: z.string(),
  /** Extra environment the kernel was started with (re-applied on restart). */
  env: z.record(z.string(), z.string()).default({}),
  /** `/proc` start time of `pid`, to tell a reused pid apart. */
  startTicks: z.string().nullable().default(null),
});
export type KernelRecord = z.infer<typeof kernelRecordSchema>;

/** What a kernel needs from its manager. */
export interface KernelRuntime {
  log: Logger;
  /** Kernelspec by name (re-read for each launch). @throws JupyterError 404. */
  resolveSpec(name: string): Promise<KernelSpec>;
  /** Full environment of a launch from the spec and the extra environment. */
  envFor(spec: KernelSpec, extra: Record<string, string>): Record<string, string>;
  /** Path of the record file of kernel `id`. */
  recordFile(id: string): string;
  startTimeoutMs: number;
  shutdownGraceMs: number;
  heartbeat: { intervalMs: number; timeoutMs: number; misses: number };
}

/** Lifecycle of the process behind a kernel (execution_state is separate). */
type Phase = 'starting' | 'running' | 'restarting' | 'dead' | 'stopping' | 'stopped' | 'detached';

/** Status messages caused by these requests do not change the tracked execution state. */
const UNTRACKED = new Set(
  ['kernel_info', 'comm_info', 'debug', 'interrupt', 'shutdown', 'usage', 'create_subshell', 'delete_subshell', 'list_subshell'].map((t) => `${t}_request`),
);

type Exit = { code: number | null; signal: string | null };

/** A kernel spoken to directly over ZeroMQ. See {@link Kernel} for the contract. */
export class ZmqKernel implements Kernel {
  connections = 0;
  private phase: Phase = 'starting';
  private state: ExecutionState = 'starting';
  private lastActivity = new Date();
  private child: ChildProcess | null = null;
  private exited: Promise<Exit> = new Promise(() => {});
  private conn: KernelConnection;
  private readonly messageListeners = new Set<(msg: KernelMessage) => void>();
  private readonly statusListeners = new Set<(ev: KernelStatusEvent) => void>();
  private iopubSeen = 0;
  private pidWatch: NodeJS.Timeout | null = null;
  private hbWarned = false;
  private interruptMode: 'signal' | 'message' | null = null;
  private restarting: Promise<void> | null = null;
  private stopping: Promise<void> | null = null;
  private readonly log: Logger;

  /** Use {@link ZmqKernel.launch} or {@link ZmqKernel.adopt}. */
  private constructor(
    private record: KernelRecord,
    private readonly info: ConnectionInfo,
    private readonly rt: KernelRuntime,
  ) {
    this.log = rt.log.child({ kernel: record.id, kernelName: record.name });
    this.conn = this.connect();
  }

  /**
   * Launches a new kernel process on an already written connection file and waits until
   * it answers `kernel_info_request` (and IOPub delivers).
   * @throws JupyterError 500 if it cannot be run, dies or stays silent (with its log's tail).
   */
  static async launch(record: Omit<KernelRecord, 'pid' | 'startTicks'>, info: ConnectionInfo, rt: KernelRuntime): Promise<ZmqKernel> {
    // pid 0 = no process yet: alive() is false and nothing can be signalled.
    const k = new ZmqKernel({ ...record, pid: 0, startTicks: null }, info, rt);
    try {
      await k.spawn();
      await k.waitReady('start');
      k.phase = 'running';
    } catch (err) {
      await k.abandon();
      throw err;
    }
    return k;
  }

  /**
   * Reconnects to a kernel launched by an earlier lab server. Resolves null (after
   * closing the sockets) if it does not answer `kernel_info_request` in time.
   */
  static async adopt(record: KernelRecord, info: ConnectionInfo, rt: KernelRuntime, timeoutMs: number): Promise<ZmqKernel | null> {
    const k = new ZmqKernel(record, info, rt);
    k.watchPid();
    try {
      // Control answers even while a cell runs (ipykernel); shell tells whether one does.
      const shell = k.conn.request('shell', 'kernel_info_request', {}, timeoutMs);
      shell.catch(() => {});
      await k.waitReady('adoption', 'control', timeoutMs);
      const idle = await Promise.race([shell.then(() => true, () => false), sleep(Math.min(1000, timeoutMs)).then(() => false)]);
      k.phase = 'running';
      k.state = idle ? 'idle' : 'busy';
      k.log.info({ pid: record.pid, state: k.state }, 're-adopted kernel');
      return k;
    } catch {
      k.log.warn({ pid: record.pid }, 'recorded kernel is alive but does not answer kernel_info; not adopted');
      k.phase = 'detached';
      k.stopWatches();
      k.conn.close();
      return null;
    }
  }

  get id(): string {
    return this.record.id;
  }
  get name(): string {
    return this.record.name;
  }
  /** Pid of the kernel process (group leader). */
  get pid(): number {
    return this.record.pid;
  }
  /** Absolute path of the connection file. */
  get connectionFile(): string {
    return this.record.connectionFile;
  }

  model(): KernelModel {
    return {
      id: this.id,
      name: this.name,
      last_activity: this.lastActivity.toISOString(),
      execution_state: this.state,
      connections: this.connections,
    };
  }

  send(msg: KernelMessage): void {
    if (this.phase !== 'running' && this.phase !== 'restarting' && this.phase !== 'starting') return;
    this.touch();
    this.conn.send(msg);
  }

  onMessage(listener: (msg: KernelMessage) => void): () => void {
    this.messageListeners.add(listener);
    return () => this.messageListeners.delete(listener);
  }

  onStatus(listener: (ev: KernelStatusEvent) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  touch(): void {
    this.lastActivity = new Date();
  }

  async interrupt(): Promise<void> {
    this.assertUsable('interrupt');
    this.interruptMode ??= (await this.rt.resolveSpec(this.name).catch(() => null))?.spec.interrupt_mode ?? 'signal';
    if (this.interruptMode === 'message') {
      await this.conn.request('control', 'interrupt_request', {}, 5000).catch((err: unknown) => {
        throw new JupyterError(500, `Kernel did not acknowledge the interrupt: ${String(err)}`);
      });
    } else if (!signalGroup(this.pid, 'SIGINT')) {
      throw new JupyterError(409, `Kernel ${this.id} is not running`);
    }
  }

  /**
   * Restarts on the same connection file. Also brings back a kernel that died on its own;
   * rejects (409) once it was shut down. Concurrent calls share one restart.
   */
  restart(): Promise<void> {
    if (this.phase === 'stopping' || this.phase === 'stopped' || this.phase === 'detached') {
      return Promise.reject(new JupyterError(409, `Kernel ${this.id} was shut down and cannot be restarted`));
    }
    this.restarting ??= this.doRestart().finally(() => {
      this.restarting = null;
    });
    return this.restarting;
  }

  shutdown(): Promise<void> {
    this.stopping ??= this.doShutdown();
    return this.stopping;
  }

  /** Closes the sockets and lets go of the process without stopping it (lab server restart). */
  detach(): void {
    if (this.phase === 'stopped' || this.phase === 'detached') return;
    this.phase = 'detached';
    this.stopWatches();
    this.conn.close();
    this.child?.unref();
  }

  private connect(): KernelConnection {
    const conn = new KernelConnection(this.info, { log: this.log });
    conn.onMessage((msg) => this.dispatch(msg));
    const { intervalMs, timeoutMs, misses } = this.rt.heartbeat;
    conn.startHeartbeat({ intervalMs, timeoutMs, onBeat: (missed) => this.onBeat(missed, misses) });
    return conn;
  }

  private dispatch(msg: KernelMessage): void {
    this.lastActivity = new Date();
    if (msg.channel === 'iopub') {
      this.iopubSeen++;
      if (msg.header.msg_type === 'status') this.trackStatus(msg);
    } else if (msg.parent_header.session === this.conn.session) {
      return; // a reply to our own kernel_info/shutdown/interrupt request
    }
    for (const listener of this.messageListeners) {
      try {
        listener(msg);
      } catch (err) {
        this.log.error({ err }, 'kernel message listener threw');
      }
    }
  }

  private trackStatus(msg: KernelMessage): void {
    const state = msg.content.execution_state;
    if (this.phase !== 'running' || typeof state !== 'string') return;
    if (UNTRACKED.has(String(msg.parent_header.msg_type))) return;
    if (state === 'busy' || state === 'idle' || state === 'starting') this.setState(state);
  }

  private setState(state: ExecutionState, exit?: Exit): void {
    if (state === this.state && !exit) return;
    this.state = state;
    const ev: KernelStatusEvent = exit ? { state, exit } : { state };
    for (const listener of this.statusListeners) {
      try {
        listener(ev);
      } catch (err) {
        this.log.error({ err }, 'kernel status listener threw');
      }
    }
  }

  private onBeat(missed: number, limit: number): void {
    if (missed === 0) {
      this.hbWarned = false;
      return;
    }
    if (missed < limit || this.phase !== 'running') return;
    if (!this.child && !this.alive()) return this.died({ code: null, signal: null });
    if (!this.hbWarned) this.log.warn({ missed }, 'kernel does not answer the heartbeat (busy, or hung?)');
    this.hbWarned = true;
  }

  private alive(): boolean {
    if (this.child) return this.child.exitCode === null && this.child.signalCode === null;
    return isAlive(this.pid) && (this.record.startTicks === null || processStartTicks(this.pid) === this.record.startTicks);
  }

  /** For adopted kernels, whose exit we cannot observe: poll the pid. */
  private watchPid(): void {
    let resolveExit!: (e: Exit) => void;
    this.exited = new Promise((resolve) => (resolveExit = resolve));
    this.pidWatch = setInterval(() => {
      if (this.alive()) return;
      this.stopWatches();
      resolveExit({ code: null, signal: null });
      if (this.phase === 'running') this.died({ code: null, signal: null });
    }, 200);
    this.pidWatch.unref();
  }

  private stopWatches(): void {
    if (this.pidWatch) clearInterval(this.pidWatch);
    this.pidWatch = null;
  }

  private died(exit: Exit): void {
    this.phase = 'dead';
    this.stopWatches();
    this.conn.close();
    this.log.warn({ exit }, 'kernel died');
    this.setState('dead', exit);
  }

  private async spawn(): Promise<void> {
    const spec = await this.rt.resolveSpec(this.name);
    const child = await launchKernel({
      spec,
      connectionFile: this.record.connectionFile,
      cwd: this.record.cwd,
      env: this.rt.envFor(spec, this.record.env),
      logFile: this.record.logFile,
    }).catch((err: Error) => {
      throw new JupyterError(500, `Kernel ${this.name} could not be started: ${err.message}`);
    });
    this.stopWatches();
    this.interruptMode = spec.spec.interrupt_mode ?? 'signal';
    this.child = child;
    this.record = { ...this.record, pid: child.pid!, startTicks: processStartTicks(child.pid!) };
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        const exit = { code, signal };
        resolve(exit);
        if (this.child === child && this.phase === 'running') this.died(exit);
      });
    });
    await writePrivateJson(this.rt.recordFile(this.id), this.record);
  }

  /** Sends kernel_info until it is answered and IOPub delivers; fails fast if the process exits. */
  private async waitReady(what: 'start' | 'restart' | 'adoption', channel: 'shell' | 'control' = 'shell', timeoutMs = this.rt.startTimeoutMs): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let exit: Exit | null = null;
    const exited = this.exited.then((e) => {
      exit = e;
      return 'exited' as const;
    });
    while (Date.now() < deadline && !exit) {
      const seen = this.iopubSeen;
      const request = this.conn.request(channel, 'kernel_info_request', {}, Math.max(1, Math.min(1000, deadline - Date.now())));
      const r = await Promise.race([request.then(() => 'reply' as const, () => 'timeout' as const), exited]);
      // The kernel publishes status busy/idle around the reply; wait briefly for it, which
      // proves our IOPub subscription is live (else the first outputs could be lost).
      if (r === 'reply' && this.iopubSeen === seen) await Promise.race([sleep(100), exited]);
      if (r === 'reply' && this.iopubSeen > seen) {
        if (what === 'adoption') return;
        this.log.info({ pid: this.pid }, `kernel ${what === 'start' ? 'started' : 'restarted'}`);
        this.setState('idle');
        return;
      }
    }
    const tail = (await tailFile(this.record.logFile, 2000)).trim();
    const e = exit as Exit | null;
    const why = e
      ? `exited during ${what} (${e.signal ? `signal ${e.signal}` : `exit code ${e.code}`})`
      : `did not answer within ${Math.round(timeoutMs / 1000)} s`;
    throw new JupyterError(500, `Kernel ${this.name} ${why}.${tail ? `\nKernel log:\n${tail}` : ''}`);
  }

  private async doRestart(): Promise<void> {
    const wasDead = this.phase === 'dead';
    this.phase = 'restarting';
    this.setState('restarting');
    if (wasDead) {
      this.conn = this.connect();
    } else {
      if (this.alive()) this.conn.send(newMessage('control', 'shutdown_request', this.conn.session, { restart: true }));
      await this.stopProcess();
    }
    try {
      await this.spawn();
      this.setState('starting');
      await this.waitReady('restart');
      this.phase = 'running';
    } catch (err) {
      if (this.alive()) await this.stopProcess();
      this.died({ code: this.child?.exitCode ?? null, signal: this.child?.signalCode ?? null });
      throw err;
    }
  }

  private async doShutdown(): Promise<void> {
    await this.restarting?.catch(() => {});
    if (this.phase === 'stopped' || this.phase === 'detached') return;
    const wasRunning = this.phase === 'running';
    this.phase = 'stopping';
    if (wasRunning && this.alive()) this.conn.send(newMessage('control', 'shutdown_request', this.conn.session, { restart: false }));
    const exit = await this.stopProcess();
    await this.abandon();
    await removeFile(this.record.logFile);
    this.log.info({ exit }, 'kernel shut down');
    if (this.state !== 'dead') this.setState('dead', exit);
  }

  /** Waits for the exit, then SIGTERM and SIGKILL to the process group, a grace period apart. */
  private async stopProcess(): Promise<Exit> {
    if (this.alive() && !this.child && !this.pidWatch) this.watchPid();
    const gone = async (ms: number): Promise<boolean> => {
      if (this.alive()) await within(this.exited, ms);
      return !this.alive();
    };
    if (!(await gone(this.rt.shutdownGraceMs))) {
      this.log.warn('kernel did not exit after shutdown_request; sending SIGTERM');
      signalGroup(this.pid, 'SIGTERM');
      if (!(await gone(this.rt.shutdownGraceMs))) {
        this.log.warn('kernel ignored SIGTERM; sending SIGKILL');
        signalGroup(this.pid, 'SIGKILL');
        await gone(this.rt.shutdownGraceMs);
      }
    }
    const unknown: Exit = { code: null, signal: null };
    return this.pid === 0 ? unknown : ((await within(this.exited, 200)) ?? unknown);
  }

  /** Stops everything and deletes the kernel's files (after shutdown or a failed start). */
  private async abandon(): Promise<void> {
    if (this.alive()) {
      signalGroup(this.pid, 'SIGKILL');
      await within(this.exited, this.rt.shutdownGraceMs);
    }
    this.phase = 'stopped';
    this.stopWatches();
    this.conn.close();
    await removeFile(this.record.connectionFile);
    await removeFile(this.rt.recordFile(this.id));
  }

  private assertUsable(action: string): void {
    if (this.phase === 'running' || this.phase === 'restarting' || this.phase === 'starting') return;
    throw new JupyterError(409, `Cannot ${action} kernel ${this.id}: it is ${this.phase === 'dead' ? 'dead' : 'shut down'}`);
  }
}

/** `p`'s value, or undefined after `ms` (the timer is cleared either way). */
async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([p, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

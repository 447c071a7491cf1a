import http from 'node:http';
import { parseTimestamp, serverPrefix, type ServerName, type UserName } from '@eucp/core';
import type { Logger } from '../log/index.js';
import type { ServerCredentials, ServerManager } from './manager.js';

export interface CullerOptions {
  timeoutMs: number;
  everyMs: number;
  now(): number;
  /** Writes activity buffered elsewhere (the proxy's) before each pass. */
  flushActivity?: () => Promise<void>;
}

/** Passes in a row without an answer about kernels before an idle server is culled anyway. */
const UNKNOWN_PASSES_BEFORE_CULL = 3;

interface KernelModel { execution_state?: unknown; last_activity?: unknown }

/**
 * Whether a server's kernels (its `GET api/kernels` answer) keep it from being culled.
 * `busy` (or restarting) spares it. `starting` means the server has not yet seen a status
 * message from the kernel — the Notebook server's own watcher can miss the first ones, and
 * then reports `starting` through a whole silent computation — so it spares the server
 * while the kernel's last activity is younger than the idle timeout. Anything that is not
 * a kernel list is `unknown`.
 */
export function kernelsVerdict(kernels: unknown, now: number, timeoutMs: number): 'busy' | 'idle' | 'unknown' {
  if (!Array.isArray(kernels)) return 'unknown';
  for (const k of kernels as KernelModel[]) {
    const state = k.execution_state;
    if (state === 'busy' || state === 'restarting' || state === 'autorestarting') return 'busy';
    if (state === 'starting') {
      const last = parseTimestamp(k.last_activity);
      if (last === null || now - last < timeoutMs) return 'busy';
    }
  }
  return 'idle';
}

/**
 * The verdict on a server that the hub thinks idle, from its kernels and its own
 * `GET api/status`: a busy kernel spares it (see {@link kernelsVerdict}), and so does a
 * `last_activity` the server reports younger than the timeout — activity the hub has not
 * heard about yet, such as a program running in a terminal (the lab server counts that as
 * activity until it ends).
 */
export function serverVerdict(kernels: unknown, status: unknown, now: number, timeoutMs: number): 'busy' | 'idle' | 'unknown' {
  const verdict = kernelsVerdict(kernels, now, timeoutMs);
  if (verdict === 'busy') return 'busy';
  const last = typeof status === 'object' && status !== null ? parseTimestamp((status as { last_activity?: unknown }).last_activity) : null;
  if (last !== null && now - last < timeoutMs) return 'busy';
  return verdict;
}

/** GETs JSON from a single-user server with a token; null on any failure. */
function getJson(url: string, token: string): Promise<unknown> {
  return new Promise((resolve) => {
    const req = http.get(url, { headers: { authorization: `token ${token}` }, timeout: 15_000, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        if (res.statusCode !== 200) return resolve(null);
        try { resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))); } catch { resolve(null); }
      });
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
  });
}

/**
 * Stops servers idle for longer than `timeoutMs` — except a server with a busy kernel or
 * a running terminal program: a long computation that prints nothing is work, not
 * idleness. Busy-ness is asked of the server itself (`GET <prefix>api/kernels` and
 * `api/status`) with a short-lived token of the owner.
 */
export class IdleCuller {
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  /** Consecutive passes in which a server could not say whether its kernels are busy. */
  private readonly unknown = new Map<string, number>();

  constructor(
    private readonly servers: ServerManager,
    private readonly credentials: ServerCredentials,
    private readonly log: Logger,
    private readonly opts: CullerOptions,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      if (this.running) return; // a slow pass is still asking servers; never overlap two
      this.running = true;
      this.cullOnce().catch((err) => this.log.error({ err }, 'culler failed')).finally(() => { this.running = false; });
    }, this.opts.everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** One pass; returns the `user/server` names it stopped. */
  async cullOnce(): Promise<string[]> {
    const culled: string[] = [];
    await this.opts.flushActivity?.();
    const now = this.opts.now();
    for (const row of await this.servers.listRunning()) {
      const user = row.user_name as UserName;
      const server = row.name as ServerName;
      const last = row.last_activity ?? row.started_at ?? now;
      const k = `${user}/${server}`;
      if (now - last < this.opts.timeoutMs || !row.target) { this.unknown.delete(k); continue; }
      const kernels = await this.kernelState(row.user_id, user, server, row.target);
      if (kernels === 'busy') {
        this.log.info({ user, server }, 'idle but a kernel is busy: not culled');
        this.unknown.delete(k);
        await this.servers.touch(user, server, now);
        continue;
      }
      if (kernels === 'unknown') {
        // A loaded machine can make the server slow to answer: losing a computation is
        // worse than keeping an idle server a little longer. Give up after three passes.
        const n = (this.unknown.get(k) ?? 0) + 1;
        this.unknown.set(k, n);
        if (n < UNKNOWN_PASSES_BEFORE_CULL) {
          this.log.warn({ user, server, attempt: n }, 'idle, but the server did not say whether a kernel is busy: not culled yet');
          continue;
        }
      }
      this.unknown.delete(k);
      this.log.info({ user, server, idleMs: now - last, kernels }, 'culling idle server');
      await this.servers.stop(user, server);
      culled.push(`${user}/${server}`);
    }
    return culled;
  }

  private async kernelState(userId: number, user: UserName, server: ServerName, target: string): Promise<'busy' | 'idle' | 'unknown'> {
    const { id, token } = await this.credentials.issueToken({
      userId, scopes: [`access:servers!server=${user}/${server}`], note: 'idle culler check',
    });
    try {
      const base = `${target}${serverPrefix(user, server)}api`;
      // The culler's own request must not count as activity on the server (api/status never does).
      const [kernels, status] = await Promise.all([getJson(`${base}/kernels?no_track_activity=1`, token), getJson(`${base}/status`, token)]);
      return serverVerdict(kernels, status, this.opts.now(), this.opts.timeoutMs);
    } finally {
      await this.credentials.revokeToken(id);
    }
  }
}

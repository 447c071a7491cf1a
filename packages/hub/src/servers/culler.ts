import http from 'node:http';
import { serverPrefix, type ServerName, type UserName } from '@eucp/core';
import type { Logger } from '../log/index.js';
import type { ServerCredentials, ServerManager } from './manager.js';

export interface CullerOptions {
  timeoutMs: number;
  everyMs: number;
  now(): number;
  /** Writes activity buffered elsewhere (the proxy's) before each pass. */
  flushActivity?: () => Promise<void>;
}

/** GETs JSON from a single-user server with a token; null on any failure. */
function getJson(url: string, token: string): Promise<unknown> {
  return new Promise((resolve) => {
    const req = http.get(url, { headers: { authorization: `token ${token}` }, timeout: 5000, agent: false }, (res) => {
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
 * Stops servers idle for longer than `timeoutMs` — except a server with a busy kernel:
 * a long computation that prints nothing is work, not idleness. Busy-ness is asked of the
 * server itself (`GET <prefix>api/kernels`) with a short-lived token of the owner.
 */
export class IdleCuller {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly servers: ServerManager,
    private readonly credentials: ServerCredentials,
    private readonly log: Logger,
    private readonly opts: CullerOptions,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.cullOnce().catch((err) => this.log.error({ err }, 'culler failed'));
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
      if (now - last < this.opts.timeoutMs || !row.target) continue;
      if (await this.kernelBusy(row.user_id, user, server, row.target)) {
        this.log.info({ user, server }, 'idle but a kernel is busy: not culled');
        await this.servers.touch(user, server, now);
        continue;
      }
      this.log.info({ user, server, idleMs: now - last }, 'culling idle server');
      await this.servers.stop(user, server);
      culled.push(`${user}/${server}`);
    }
    return culled;
  }

  private async kernelBusy(userId: number, user: UserName, server: ServerName, target: string): Promise<boolean> {
    const { id, token } = await this.credentials.issueToken({
      userId, scopes: [`access:servers!server=${user}/${server}`], note: 'idle culler check',
    });
    try {
      const kernels = await getJson(`${target}${serverPrefix(user, server)}api/kernels`, token);
      if (!Array.isArray(kernels)) return false;
      return kernels.some((k) => (k as { execution_state?: string }).execution_state === 'busy');
    } finally {
      await this.credentials.revokeToken(id);
    }
  }
}

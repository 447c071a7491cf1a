import type { Logger } from 'pino';
import { isoformat } from '@eucp/core';
import type { Activity } from '../context.js';
import type { KernelManager } from '../kernels/types.js';
import type { TerminalManager } from '../terminals/types.js';

/**
 * The server's last activity (jupyter-server-api.md §0.4): the latest user request, and
 * "now" for as long as a kernel is busy or a terminal runs a program, so that the hub's
 * idle culler never stops a server in the middle of a computation.
 */
export class ServerActivity implements Activity {
  private latest: number;

  constructor(
    private readonly kernels: () => KernelManager,
    private readonly terminals: () => TerminalManager,
    private readonly now: () => number = Date.now,
  ) {
    this.latest = now();
  }

  touch(): void {
    this.latest = this.now();
  }

  last(): number {
    const busy = this.kernels().list().some((k) => {
      const s = k.model().execution_state;
      return s === 'busy' || s === 'starting' || s === 'restarting';
    });
    if (busy || this.terminals().busy()) this.latest = this.now();
    for (const k of this.kernels().list()) {
      const t = Date.parse(k.model().last_activity);
      if (t > this.latest) this.latest = t;
    }
    return this.latest;
  }
}

export interface ActivityReporterOptions {
  activityUrl: string;
  apiToken: string;
  serverName: string;
  intervalMs: number;
  log: Logger;
}

/**
 * Posts the server's last activity to the hub (contract §c.2) every interval, when it is
 * newer than what was last sent. Failures are logged and retried on the next tick.
 */
export class ActivityReporter {
  private timer: NodeJS.Timeout | undefined;
  private sent = 0;

  constructor(private readonly activity: Activity, private readonly opts: ActivityReporterOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.report(), this.opts.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Sends now if there is news; resolves true when the hub accepted it. */
  async report(): Promise<boolean> {
    const last = this.activity.last();
    if (last <= this.sent) return false;
    const ts = isoformat(last);
    try {
      const res = await fetch(this.opts.activityUrl, {
        method: 'POST',
        headers: { authorization: `token ${this.opts.apiToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ servers: { [this.opts.serverName]: { last_activity: ts } }, last_activity: ts }),
      });
      if (!res.ok) {
        this.opts.log.warn({ status: res.status }, 'hub refused the activity report');
        return false;
      }
      this.sent = last;
      return true;
    } catch (err) {
      this.opts.log.warn({ err: (err as Error).message }, 'could not report activity to the hub');
      return false;
    }
  }
}

/**
 * Sliding-window failure counter for log-in rate limiting. In memory: a restarted hub
 * forgets failures (acceptable for one machine; a replicated hub moves this to the DB).
 */
export interface FailureWindowOptions {
  /** Failures allowed within `windowMs`; the next attempt is refused. */
  maxFailures: number;
  /** Length of the sliding window, in milliseconds. */
  windowMs: number;
  /** Clock in milliseconds since the epoch. */
  now: () => number;
  /** Bound on tracked keys (memory); the oldest keys are forgotten beyond it. */
  maxKeys?: number;
}

export type WindowCheck = { allowed: true } | { allowed: false; retryAfterMs: number };

/**
 * Counts failures per key (an account name or a client address). A failure at time `t`
 * counts while `now < t + windowMs`. With `maxFailures` counted failures, further
 * attempts are refused until the oldest of the last `maxFailures` failures expires.
 */
export class FailureWindow {
  private readonly failures = new Map<string, number[]>();
  private readonly maxKeys: number;

  constructor(private readonly opts: FailureWindowOptions) {
    this.maxKeys = opts.maxKeys ?? 100_000;
  }

  private live(key: string, now: number): number[] {
    const list = this.failures.get(key);
    if (!list) return [];
    const kept = list.filter((t) => now < t + this.opts.windowMs);
    if (kept.length === 0) this.failures.delete(key);
    else if (kept.length !== list.length) this.failures.set(key, kept);
    return kept;
  }

  /** Whether an attempt for `key` may proceed now; if not, how long until it may (ms, > 0). */
  check(key: string): WindowCheck {
    const now = this.opts.now();
    const list = this.live(key, now);
    if (list.length < this.opts.maxFailures) return { allowed: true };
    // The attempt is allowed again once all but maxFailures-1 failures have expired.
    const pivot = list[list.length - this.opts.maxFailures]!;
    return { allowed: false, retryAfterMs: Math.max(1, pivot + this.opts.windowMs - now) };
  }

  /** Records one failure for `key`. */
  fail(key: string): void {
    const now = this.opts.now();
    const list = this.live(key, now);
    list.push(now);
    this.failures.delete(key); // re-insert: Map order = least recently failed first
    this.failures.set(key, list.slice(-this.opts.maxFailures));
    if (this.failures.size > this.maxKeys) this.evict(now);
  }

  /** Forgets the failures of `key` (after a successful log-in). */
  reset(key: string): void {
    this.failures.delete(key);
  }

  /** Number of failures currently counted for `key`. */
  count(key: string): number {
    return this.live(key, this.opts.now()).length;
  }

  private evict(now: number): void {
    for (const key of [...this.failures.keys()]) this.live(key, now);
    for (const key of this.failures.keys()) {
      if (this.failures.size <= this.maxKeys) break;
      this.failures.delete(key);
    }
  }
}

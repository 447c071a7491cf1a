import http from 'node:http';

/** One GET without following redirects; resolves the status, or 599 on connection errors. */
export function probe(url: string, timeoutMs = 2000): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: timeoutMs, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 599);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(599));
  });
}

/**
 * Waits until `url` answers with a status below 500 (JupyterHub's readiness rule, §a.6).
 * Between probes it calls `alive()`, so a server process that died is noticed at once
 * instead of after the timeout. Resolves true when ready, false on timeout or death.
 */
export async function waitForHttp(
  url: string,
  opts: { timeoutMs: number; alive: () => Promise<boolean>; isCancelled?: () => boolean },
): Promise<'ready' | 'timeout' | 'died' | 'cancelled'> {
  const deadline = Date.now() + opts.timeoutMs;
  let delay = 20;
  while (Date.now() < deadline) {
    if (opts.isCancelled?.()) return 'cancelled';
    const status = await probe(url, Math.min(2000, Math.max(100, deadline - Date.now())));
    if (status < 500) return 'ready';
    if (!(await opts.alive())) return 'died';
    await new Promise((r) => setTimeout(r, delay));
    // A probe is one loopback GET; polling at most every 100 ms keeps the wait after the
    // server is up short without costing anything measurable.
    delay = Math.min(delay * 1.5, 100);
  }
  return 'timeout';
}

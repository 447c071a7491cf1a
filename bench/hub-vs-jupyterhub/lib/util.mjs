// Small helpers shared by the driver and both hub adapters: statistics, formatting,
// a loopback-only HTTP client, free ports, a bounded worker pool.
import http from 'node:http';
import net from 'node:net';
import crypto from 'node:crypto';
import { performance } from 'node:perf_hooks';

export { setTimeout as sleep } from 'node:timers/promises';

/** Progress goes to stderr; the table goes to stdout. */
export function log(...parts) {
  console.error(`[hvj ${new Date().toISOString().slice(11, 23)}]`, ...parts);
}

/** Percentiles with linear interpolation; nulls are ignored. */
export function summarize(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return { n: 0 };
  const at = (p) => {
    const pos = (v.length - 1) * p;
    const lo = Math.floor(pos);
    const hi = Math.ceil(pos);
    return v[lo] + (v[hi] - v[lo]) * (pos - lo);
  };
  const mean = v.reduce((s, x) => s + x, 0) / v.length;
  return { n: v.length, min: v[0], p50: at(0.5), p90: at(0.9), p95: at(0.95), p99: at(0.99), max: v[v.length - 1], mean };
}

export const round = (x, digits = 1) => (typeof x === 'number' && Number.isFinite(x) ? Math.round(x * 10 ** digits) / 10 ** digits : null);

/** Milliseconds with a sensible number of digits. */
export function ms(x) {
  if (typeof x !== 'number' || !Number.isFinite(x)) return 'n/a';
  if (x < 10) return x.toFixed(2);
  if (x < 1000) return x.toFixed(1);
  return x.toFixed(0);
}

export const kibToMiB = (kib) => (typeof kib === 'number' ? round(kib / 1024, 1) : null);

/** Counts of each distinct value, e.g. HTTP statuses. */
export function tally(values) {
  const out = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}

function assertLoopback(url) {
  const u = new URL(url);
  if (u.hostname !== '127.0.0.1') throw new Error(`refusing to talk to ${u.hostname}: this benchmark only uses 127.0.0.1`);
  return u;
}

export const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 64 });

/**
 * One HTTP request to 127.0.0.1. Resolves with status, headers, body text and the time
 * from sending to the end of the body; redirects are not followed. Rejects on network
 * errors and after `timeoutMs`.
 */
export function request(method, url, { headers = {}, json, form, agent = keepAlive, timeoutMs = 120_000 } = {}) {
  return new Promise((resolve, reject) => {
    let u;
    try { u = assertLoopback(url); } catch (e) { reject(e); return; }
    const h = { ...headers };
    let body;
    if (json !== undefined) { body = JSON.stringify(json); h['content-type'] = 'application/json'; }
    if (form !== undefined) { body = new URLSearchParams(form).toString(); h['content-type'] = 'application/x-www-form-urlencoded'; }
    if (body !== undefined) h['content-length'] = Buffer.byteLength(body);
    const t0 = performance.now();
    const req = http.request(
      { method, host: '127.0.0.1', port: u.port, path: u.pathname + u.search, headers: h, agent, timeout: timeoutMs },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const buf = Buffer.concat(chunks);
          const text = buf.toString('utf8');
          resolve({
            status: res.statusCode, headers: res.headers, bytes: buf.length, text, ms: performance.now() - t0,
            json() { return JSON.parse(text); },
          });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs} ms: ${method} ${url}`)));
    req.on('error', reject);
    req.end(body);
  });
}

function portIsFree(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host: '127.0.0.1', port }, () => srv.close(() => resolve(true)));
  });
}

/** A free TCP port on 127.0.0.1 in 20000-31999 (below the ephemeral range), not in `taken`. */
export async function freePort(taken = new Set()) {
  for (;;) {
    const port = 20000 + crypto.randomInt(12000);
    if (taken.has(port)) continue;
    if (await portIsFree(port)) { taken.add(port); return port; }
  }
}

/** Runs `fn` over `items` with at most `width` calls in flight; results keep the input order. */
export async function pool(items, width, fn) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(width, items.length)) }, worker));
  return out;
}

/** Resolves with the value of `promise`, or rejects after `timeoutMs`. */
export function withTimeout(promise, timeoutMs, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no answer after ${timeoutMs} ms`)), timeoutMs); }),
  ]);
}

export const randomHex = (bytes) => crypto.randomBytes(bytes).toString('hex');

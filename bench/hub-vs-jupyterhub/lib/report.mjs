// The side-by-side table (stdout) and the ratios ours/JupyterHub against the targets.
import { ms, round } from './util.mjs';

const get = (obj, path) => path.split('.').reduce((o, k) => (o == null ? undefined : o[k]), obj);

/**
 * Metric definitions: where the value sits in a hub's result, its unit, and the target for
 * ours/JupyterHub ('<=' 1.0, '>=' 5, or null when the ratio is informative only).
 */
export const METRICS = [
  { id: 'startup', label: 'hub start-up (exec -> GET /hub/api/ 200)', path: 'lifecycle.start.startupMs', unit: 'ms', target: null },
  { id: 'spawnSeqP50', label: 'spawn, sequential p50', path: 'spawn.sequential.readyMs.p50', unit: 'ms', target: ['<=', 1.0] },
  { id: 'spawnSeqP95', label: 'spawn, sequential p95', path: 'spawn.sequential.readyMs.p95', unit: 'ms', target: ['<=', 1.0] },
  { id: 'spawnConcP50', label: 'spawn, concurrent p50', path: 'spawn.concurrent.readyMs.p50', unit: 'ms', target: ['<=', 1.0] },
  { id: 'spawnConcP95', label: 'spawn, concurrent p95', path: 'spawn.concurrent.readyMs.p95', unit: 'ms', target: ['<=', 1.0] },
  { id: 'spawnConcWall', label: 'spawn all, concurrent: wall', path: 'spawn.concurrent.wallMs', unit: 'ms', target: null },
  { id: 'spawnSeqHubCpu', label: 'hub(+CHP) CPU during sequential spawns', path: 'spawn.sequential.hubCpuS', extra: 'spawn.sequential.proxyCpuS', unit: 's', target: null },
  { id: 'spawnConcHubCpu', label: 'hub(+CHP) CPU during concurrent spawns', path: 'spawn.concurrent.hubCpuS', extra: 'spawn.concurrent.proxyCpuS', unit: 's', target: null },
  { id: 'statusProxyP50', label: 'GET /user/x/api/status via proxy p50', path: 'proxy.viaProxyMs.p50', unit: 'ms', target: null },
  { id: 'statusDirectP50', label: 'GET /user/x/api/status direct p50', path: 'proxy.directMs.p50', unit: 'ms', target: null },
  // p50 overhead: difference of the medians. p99 overhead: the 99th percentile of the
  // per-pair difference (request i via the proxy minus request i direct); the difference
  // of the two p99s is shown too but compares two noisy tails and can even be negative.
  { id: 'proxyOverheadP50', label: 'proxy overhead p50 (p50 proxy - p50 direct)', path: 'proxy.overheadP50Ms', unit: 'ms', target: ['<=', 1.0] },
  { id: 'pairedOverheadP99', label: 'proxy overhead p99 (per-pair difference)', path: 'proxy.pairedOverheadMs.p99', unit: 'ms', target: ['<=', 1.0] },
  { id: 'pairedOverheadP50', label: 'proxy overhead p50 (per-pair difference)', path: 'proxy.pairedOverheadMs.p50', unit: 'ms', target: null },
  { id: 'proxyOverheadP99', label: 'p99 proxy - p99 direct', path: 'proxy.overheadP99Ms', unit: 'ms', target: null },
  { id: 'kernelP50', label: 'execute 1+1 via proxied ws p50', path: 'kernel.viaProxy.executeReplyMs.p50', unit: 'ms', target: null },
  { id: 'kernelP99', label: 'execute 1+1 via proxied ws p99', path: 'kernel.viaProxy.executeReplyMs.p99', unit: 'ms', target: null },
  { id: 'kernelDirectP50', label: 'execute 1+1 direct ws p50', path: 'kernel.direct.executeReplyMs.p50', unit: 'ms', target: null },
  { id: 'apiRps', label: 'GET /hub/api/users req/s (wrk)', path: 'api.throughput.wrk.rps', unit: 'req/s', target: ['>=', 5] },
  { id: 'apiP50', label: 'GET /hub/api/users latency p50 (wrk)', path: 'api.throughput.wrk.latencyP50Ms', unit: 'ms', target: null },
  { id: 'apiRpsNode', label: 'GET /hub/api/users req/s (node loop)', path: 'api.throughput.nodeLoop.rps', unit: 'req/s', target: null },
  { id: 'memIdleRss', label: 'hub+proxy RSS idle', path: 'memory.idle.total.rssMiB', unit: 'MiB', target: ['<=', 1.0] },
  { id: 'memServersRss', label: 'hub+proxy RSS, all servers up', path: 'memory.withServers.total.rssMiB', unit: 'MiB', target: null },
  { id: 'memLoadRss', label: 'hub+proxy RSS after API load', path: 'memory.afterLoad.total.rssMiB', unit: 'MiB', target: ['<=', 1.0] },
  { id: 'memIdlePss', label: 'hub+proxy PSS idle', path: 'memory.idle.total.pssMiB', unit: 'MiB', target: ['<=', 1.0] },
  { id: 'memLoadPss', label: 'hub+proxy PSS after API load', path: 'memory.afterLoad.total.pssMiB', unit: 'MiB', target: ['<=', 1.0] },
  { id: 'serversRss', label: 'all idle single-user servers, RSS sum', path: 'memory.singleUserServers.totalRssMiB', unit: 'MiB', target: null },
  { id: 'stopOneP50', label: 'stop one server (sequential DELETE) p50', path: 'stop.sequential.deleteMs.p50', unit: 'ms', target: null },
  { id: 'stopAllWall', label: 'stop all servers at once: wall', path: 'stop.concurrent.wallMs', unit: 'ms', target: null },
];

function fmt(v, unit) {
  if (typeof v !== 'number') return 'n/a';
  if (unit === 'ms') return `${ms(v)} ms`;
  if (unit === 's') return `${v.toFixed(2)} s`;
  return `${round(v, 1)} ${unit}`;
}

/** Ratio ours/JupyterHub per metric and whether it meets its target. */
export function compare(ours, theirs) {
  const value = (r, m) => {
    if (!r) return undefined;
    const v = get(r, m.path);
    const extra = m.extra ? get(r, m.extra) : undefined; // e.g. CHP's share, added to the hub's
    return typeof v === 'number' && typeof extra === 'number' ? v + extra : v;
  };
  return METRICS.map((m) => {
    const a = value(ours, m);
    const b = value(theirs, m);
    // a ratio of differences means nothing once JupyterHub's value is not positive
    const ratio = typeof a === 'number' && typeof b === 'number' && b > 0 ? a / b : null;
    let meets = null;
    if (m.target && ratio !== null) meets = m.target[0] === '<=' ? ratio <= m.target[1] : ratio >= m.target[1];
    return { id: m.id, label: m.label, unit: m.unit, ours: a ?? null, jupyterhub: b ?? null, ratio: round(ratio, 3),
      target: m.target ? `${m.target[0]} ${m.target[1]}` : 'informative', meets };
  });
}

/** A fixed-width text table (also valid Markdown with `markdown`). */
export function renderTable(rows, { markdown = false } = {}) {
  const cells = rows.map((r) => [
    r.label, fmt(r.jupyterhub, r.unit), fmt(r.ours, r.unit),
    r.ratio === null ? 'n/a' : r.ratio.toFixed(r.ratio < 10 ? 2 : 1),
    r.target, r.meets === null ? '' : r.meets ? 'yes' : 'NO',
  ]);
  const head = ['metric', 'JupyterHub 3.0', 'ours', 'ours/JH', 'target', 'met'];
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c) => (markdown ? `| ${c.map((x, i) => x.padEnd(w[i])).join(' | ')} |` : c.map((x, i) => x.padEnd(w[i])).join(' | '));
  const sep = markdown ? `|${w.map((x) => '-'.repeat(x + 2)).join('|')}|` : w.map((x) => '-'.repeat(x)).join('-|-');
  return [line(head), sep, ...cells.map(line)].join('\n');
}

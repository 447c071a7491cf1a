// The side-by-side table (stdout): jupyter_server, ours, the ratio ours/reference and the
// target. The reference is jupyter_server except in the rows against raw ZeroMQ.
import { ms, round } from '../../hub-vs-jupyterhub/lib/util.mjs';

const get = (obj, path) => path.split('.').reduce((o, k) => (o == null ? undefined : o[k]), obj);

/**
 * Metric definitions. `target`: ['<=', x] or ['>=', x] for the ratio ours/reference, or
 * null (informative). `ref` names another reference than jupyter_server: `raw` (raw
 * ZeroMQ) or `jupyterNoLimit` (jupyter_server with limit_rate=False). `all: true` rows have no ratio: they are met when both values (or
 * `oursOnly`: ours) equal the expected count at `expect`; `count: true` rows show counts
 * without a ratio or target.
 */
export const METRICS = [
  { id: 'kernelStart', label: 'kernel start p50 (POST api/kernels → ws open → kernel_info_reply)', path: 'kernelStart.totalMs.p50', unit: 'ms', target: ['<=', 1.0] },
  { id: 'kernelPost', label: 'kernel start: POST api/kernels answered, p50', path: 'kernelStart.postMs.p50', unit: 'ms', target: null },
  { id: 'kernelDelete', label: 'DELETE api/kernels/{id} p50', path: 'kernelStart.deleteMs.p50', unit: 'ms', target: null },
  { id: 'rtP50', label: '1+1 round trip, JSON ws, p50 (→ execute_reply + idle)', path: 'roundTrip.json.doneMs.p50', unit: 'ms', target: ['<=', 0.2] },
  { id: 'rtP99', label: '1+1 round trip, JSON ws, p99', path: 'roundTrip.json.doneMs.p99', unit: 'ms', target: ['<=', 0.2] },
  { id: 'rtRawP50', label: '1+1 p50: ours (JSON ws) vs raw ZeroMQ', path: 'roundTrip.json.doneMs.p50', refPath: 'roundTrip.doneMs.p50', ref: 'raw', unit: 'ms', target: ['<=', 1.5] },
  { id: 'rtRawP99', label: '1+1 p99: ours (JSON ws) vs raw ZeroMQ', path: 'roundTrip.json.doneMs.p99', refPath: 'roundTrip.doneMs.p99', ref: 'raw', unit: 'ms', target: null },
  { id: 'rtV1P50', label: '1+1 round trip, v1 binary ws, p50', path: 'roundTrip.v1.doneMs.p50', unit: 'ms', target: null },
  { id: 'rtV1P99', label: '1+1 round trip, v1 binary ws, p99', path: 'roundTrip.v1.doneMs.p99', unit: 'ms', target: null },
  { id: 'rtCpu', label: 'server CPU per JSON round trip (whole loop ÷ n)', path: 'roundTrip.json.serverCpuMsPerExec', unit: 'ms', target: null },
  { id: 'tputRate', label: 'output throughput, lines/s (p50 time; higher is better)', path: 'throughput.linesPerS', unit: 'lines/s', target: ['>=', 1.0] },
  { id: 'tputMs', label: 'output: execute_request → all lines + idle, p50', path: 'throughput.doneMs.p50', unit: 'ms', target: null },
  { id: 'tputRawMs', label: 'output p50: ours vs raw ZeroMQ', path: 'throughput.doneMs.p50', refPath: 'throughput.doneMs.p50', ref: 'raw', unit: 'ms', target: null },
  { id: 'tputLines', label: 'output lines received in order, worst repetition', path: 'throughput.worstLinesReceived', unit: 'lines', all: true, expect: 'throughput.lines' },
  { id: 'tputCpu', label: 'server CPU per output run, p50', path: 'throughput.serverCpuS.p50', unit: 's', target: null },
  { id: 'flushMs', label: 'flushed output (one message per line): all lines + idle, p50', path: 'throughputFlushed.doneMs.p50', unit: 'ms', target: null },
  { id: 'flushFreeMs', label: 'flushed output p50: ours vs jupyter_server with limit_rate=False', path: 'throughputFlushed.doneMs.p50', refPath: 'throughputFlushed.doneMs.p50', ref: 'jupyterNoLimit', unit: 'ms', target: null },
  { id: 'flushFreeLines', label: 'flushed output, limit_rate=False: lines received, worst', path: 'throughputFlushed.worstLinesReceived', refPath: 'throughputFlushed.worstLinesReceived', ref: 'jupyterNoLimit', unit: 'lines', target: null, count: true },
  { id: 'flushFreeCpu', label: 'server CPU per flushed output run, limit_rate=False, p50', path: 'throughputFlushed.serverCpuS.p50', refPath: 'throughputFlushed.serverCpuS.p50', ref: 'jupyterNoLimit', unit: 's', target: null },
  { id: 'flushRawMs', label: 'flushed output p50: ours vs raw ZeroMQ', path: 'throughputFlushed.doneMs.p50', refPath: 'throughputFlushed.doneMs.p50', ref: 'raw', unit: 'ms', target: null },
  { id: 'flushLines', label: 'flushed output: lines received in order, worst repetition', path: 'throughputFlushed.worstLinesReceived', expect: 'throughputFlushed.lines', unit: 'lines', target: null, count: true },
  { id: 'flushCpu', label: 'server CPU per flushed output run, p50', path: 'throughputFlushed.serverCpuS.p50', unit: 's', target: null },
  { id: 'saveP50', label: 'save notebook (PUT api/contents) p50', path: 'contents.saveMs.p50', unit: 'ms', target: ['<=', 1.0] },
  { id: 'loadP50', label: 'load notebook (GET api/contents) p50', path: 'contents.loadMs.p50', unit: 'ms', target: ['<=', 1.0] },
  { id: 'saveCpu', label: 'server CPU per save / load, p50', path: 'contents.saveCpuS.p50', extraPath: 'contents.loadCpuS.p50', unit: 's', target: null },
  { id: 'memIdleRss', label: 'server RSS, idle after start', path: 'memory.idle.rssMiB', unit: 'MiB', target: ['<=', 1.0] },
  { id: 'memIdlePss', label: 'server PSS, idle after start', path: 'memory.idle.pssMiB', unit: 'MiB', target: ['<=', 1.0] },
  { id: 'memAfterRss', label: 'server RSS after the runs (one idle kernel open)', path: 'memory.afterRuns.rssMiB', unit: 'MiB', target: ['<=', 1.0] },
  { id: 'memAfterPss', label: 'server PSS after the runs (one idle kernel open)', path: 'memory.afterRuns.pssMiB', unit: 'MiB', target: ['<=', 1.0] },
  { id: 'memIdleUss', label: 'server USS (private memory), idle after start', path: 'memory.idle.ussMiB', unit: 'MiB', target: null },
  { id: 'memAfterUss', label: 'server USS after the runs (one idle kernel open)', path: 'memory.afterRuns.ussMiB', unit: 'MiB', target: null },
  { id: 'memFlushedRss', label: 'server RSS after the flushed-output runs too', path: 'memory.afterFlushed.rssMiB', unit: 'MiB', target: null },
  { id: 'memFlushedUss', label: 'server USS after the flushed-output runs too', path: 'memory.afterFlushed.ussMiB', unit: 'MiB', target: null },
  { id: 'memNoKernelRss', label: 'server RSS at the end, kernels shut down', path: 'memory.afterShutdown.rssMiB', unit: 'MiB', target: null },
  { id: 'captureLines', label: 'browser closed after sending a cell: lines in the stored notebook', path: 'capture.linesInFile', unit: 'lines', all: true, oursOnly: true, expect: 'capture.lines' },
  { id: 'captureDelay', label: 'browser closed: stored notebook complete, after idle', path: 'capture.fileCompleteAfterIdleMs', unit: 'ms', target: null, oursOnly: true },
  { id: 'startup', label: 'server start-up (exec → GET api/status 200)', path: 'startup.startupMs', unit: 'ms', target: null },
];

const REF_NAMES = { jupyter: 'jupyter_server', raw: 'raw ZeroMQ', jupyterNoLimit: 'jupyter_server, limit_rate=False' };
const REF_TAGS = { 'raw ZeroMQ': ' (raw ZMQ)', 'jupyter_server, limit_rate=False': ' (no limit)' };

function fmt(v, unit) {
  if (typeof v !== 'number') return 'n/a';
  if (unit === 'ms') return `${ms(v)} ms`;
  if (unit === 's') return `${v.toFixed(2)} s`;
  if (unit === 'lines/s' || unit === 'lines') return `${Math.round(v).toLocaleString('en-US')} ${unit}`;
  return `${round(v, 1)} ${unit}`;
}

/** One row per metric: values, ratio ours/reference, target and whether it is met. */
export function compare(results) {
  const ours = results.lab;
  return METRICS.map((m) => {
    const refSide = m.ref ? results[m.ref] : results.jupyter;
    const a = get(ours, m.path);
    const b = get(refSide, m.refPath ?? m.path);
    const aX = m.extraPath ? get(ours, m.extraPath) : undefined;
    const bX = m.extraPath ? get(refSide, m.extraPath) : undefined;
    let ratio = typeof a === 'number' && typeof b === 'number' && b > 0 && !m.count ? a / b : null;
    let meets = null;
    let target = m.target ? `${m.target[0]} ${m.target[1]}` : 'informative';
    if (m.all) {
      const expect = get(ours, m.expect) ?? get(refSide, m.expect);
      ratio = null;
      target = m.oursOnly ? `ours = ${expect}` : `= ${expect} (both)`;
      meets = typeof a === 'number' && a === expect && (m.oursOnly || b === expect);
    } else if (m.target && ratio !== null) meets = m.target[0] === '<=' ? ratio <= m.target[1] : ratio >= m.target[1];
    return { id: m.id, label: m.label, unit: m.unit, ref: REF_NAMES[m.ref ?? 'jupyter'],
      ours: a ?? null, reference: b ?? null, oursExtra: aX ?? null, referenceExtra: bX ?? null, ratio: round(ratio, 3), target, meets };
  });
}

/** A fixed-width text table (also valid Markdown with `markdown`). */
export function renderTable(rows, { markdown = false } = {}) {
  const val = (v, x, unit, tag = '') => `${x !== null && x !== undefined ? `${fmt(v, unit)} / ${fmt(x, unit)}` : fmt(v, unit)}${tag}`;
  const cells = rows.map((r) => [
    r.label, val(r.reference, r.referenceExtra, r.unit, REF_TAGS[r.ref]), val(r.ours, r.oursExtra, r.unit),
    r.ratio === null ? (r.target.startsWith('inf') || r.target.includes('=') ? '' : 'n/a') : r.ratio.toFixed(r.ratio < 10 ? 2 : 1),
    r.target, r.meets === null ? '' : r.meets ? 'yes' : 'NO',
  ]);
  const head = ['metric', 'jupyter_server 1.23', 'ours', 'ours/ref', 'target', 'met'];
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c) => (markdown ? `| ${c.map((x, i) => x.padEnd(w[i])).join(' | ')} |` : c.map((x, i) => x.padEnd(w[i])).join(' | '));
  const sep = markdown ? `|${w.map((x) => '-'.repeat(x + 2)).join('|')}|` : w.map((x) => '-'.repeat(x)).join('-|-');
  return [line(head), sep, ...cells.map(line)].join('\n');
}

// The client side: the same code measures both servers through the Jupyter Server REST and
// kernel WebSocket API. Where it matters the servers take turns sample by sample (the order
// flips every round), so drift on the machine hits both alike.
import crypto from 'node:crypto';
import { fork } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { CLK_TCK, memoryOf, procStat } from '../../hub-vs-jupyterhub/lib/procs.mjs';
import { ms, request, round, sleep, summarize, withTimeout } from '../../hub-vs-jupyterhub/lib/util.mjs';
import { KernelChannel, LineCounter } from './kernel-ws.mjs';
import { bigNotebook, captureNotebook, cellStdout } from './notebook.mjs';
import { log } from './log.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const now = () => performance.now();
/** Round i visits the servers in order, round i+1 in reverse. */
const turn = (list, i) => (i % 2 ? [...list].reverse() : list);
const api = (s, method, p, json) => request(method, `${s.url}/api/${p}`, { headers: s.headers, json, timeoutMs: 300_000 });
const wsUrl = (s, kernelId, sessionId = crypto.randomUUID()) => `${s.url.replace('http:', 'ws:')}/api/kernels/${kernelId}/channels?session_id=${sessionId}`;
const pick = (xs, k) => summarize(xs.map((x) => x[k]));

/** CPU seconds `pid` used since the call. */
function cpuMeter(pid) {
  const t = () => procStat(pid)?.ticks ?? 0;
  const c0 = t();
  return () => round((t() - c0) / CLK_TCK, 2);
}

/** The server process alone (kernels are its children and are not counted). */
export function serverMemory(s) {
  const m = memoryOf(s.pid);
  return m && { rssMiB: m.rssMiB, pssMiB: m.pssMiB, ussMiB: m.ussMiB };
}

/** POST api/kernels → WebSocket open → kernel_info_reply, timed in parts. */
export async function openKernel(s, { protocol = 'json' } = {}) {
  const t0 = now();
  const r = await api(s, 'POST', 'kernels', { name: 'python3' });
  if (r.status !== 201) throw new Error(`${s.label}: POST api/kernels: ${r.status} ${r.text.slice(0, 300)}`);
  const postMs = now() - t0;
  const id = r.json().id;
  const ch = new KernelChannel(wsUrl(s, id), s.token, { protocol });
  await ch.open();
  const wsMs = now() - t0;
  const ready = await ch.waitReady();
  s.trackAll();
  return { id, ch, postMs: round(postMs, 2), wsMs: round(wsMs, 2), readyMs: round(now() - t0, 2), infoTries: ready.tries };
}

/** DELETE api/kernels/{id}; resolves with the time it took (ms). */
export async function deleteKernel(s, id) {
  const r = await api(s, 'DELETE', `kernels/${id}`);
  if (r.status !== 204) throw new Error(`${s.label}: DELETE api/kernels/${id}: ${r.status} ${r.text.slice(0, 200)}`);
  return r.ms;
}

/** The raw ZeroMQ reference (zmq-raw.mjs) as a child process answering one execution per message. */
export class RawZmq {
  constructor({ registry, env, runDir }) { Object.assign(this, { registry, env, runDir }); this.next = 0; this.pending = new Map(); }

  async start() {
    this.child = fork(path.join(HERE, '..', 'zmq-raw.mjs'), ['--dir', this.runDir], { env: this.env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.registry.track(this.child.pid, 'raw');
    const ready = await withTimeout(new Promise((resolve, reject) => {
      this.child.once('exit', (code) => reject(new Error(`zmq-raw.mjs exited (${code}) before its kernel was ready`)));
      this.child.on('message', (m) => {
        if (m.ready) { resolve(m); return; }
        this.pending.get(m.id)?.(m);
        this.pending.delete(m.id);
      });
    }), 90_000, 'zmq-raw.mjs start');
    this.registry.trackTree(this.child.pid, 'raw');
    return { kernelStartMs: round(ready.startMs, 1) };
  }

  execute(code, { countLines = false } = {}) {
    const id = ++this.next;
    return withTimeout(new Promise((resolve) => { this.pending.set(id, resolve); this.child.send({ cmd: 'exec', id, code, countLines }); }), 300_000, 'raw ZMQ execute');
  }

  async stop() {
    if (!this.child || this.child.exitCode !== null) return;
    const id = ++this.next;
    await withTimeout(new Promise((resolve) => { this.pending.set(id, resolve); this.child.send({ cmd: 'stop', id }); }), 15_000, 'raw ZMQ stop').catch(() => null);
    await this.registry.terminate('raw', [], 2000);
  }
}

/** 1. Kernel start, the servers taking turns; every kernel is deleted again (timed too). */
export async function kernelStarts(servers, R, opts, check) {
  for (const s of servers) { const k = await openKernel(s); await k.ch.close(); await deleteKernel(s, k.id); } // warm-up, not counted
  const samples = Object.fromEntries(servers.map((s) => [s.key, []]));
  for (let i = 0; i < opts.kernelStarts; i++) {
    for (const s of turn(servers, i)) {
      check();
      const k = await openKernel(s);
      await k.ch.close();
      const delMs = await deleteKernel(s, k.id);
      samples[s.key].push({ totalMs: k.readyMs, postMs: k.postMs, wsMs: k.wsMs, infoTries: k.infoTries, deleteMs: round(delMs, 1) });
    }
  }
  for (const s of servers) {
    const xs = samples[s.key];
    R[s.key].kernelStart = { n: xs.length, totalMs: pick(xs, 'totalMs'), postMs: pick(xs, 'postMs'), wsOpenMs: pick(xs, 'wsMs'), deleteMs: pick(xs, 'deleteMs'), samples: xs };
    log(`${s.label}: kernel start p50 ${ms(R[s.key].kernelStart.totalMs.p50)} ms (POST ${ms(R[s.key].kernelStart.postMs.p50)} ms)`);
  }
}

/**
 * 2. `1+1` round trips: ours, jupyter_server and raw ZeroMQ take turns execution by
 * execution, over one long-lived kernel each.
 */
export async function roundTrips(servers, kernels, raw, R, opts, check, protocol) {
  const paths = [...servers.map((s) => ({ key: s.key, exec: () => kernels[s.key].ch.execute('1+1'), pid: s.pid })), ...(raw ? [{ key: 'raw', exec: () => raw.execute('1+1') }] : [])];
  for (let i = 0; i < opts.warmup; i++) for (const p of paths) await p.exec();
  const xs = Object.fromEntries(paths.map((p) => [p.key, []]));
  // CPU over the whole loop: a server idles while the other paths run, and 10 ms clock
  // ticks are too coarse to meter single executions.
  const meters = Object.fromEntries(servers.map((s) => [s.key, cpuMeter(s.pid)]));
  for (let i = 0; i < opts.iters; i++) {
    for (const p of turn(paths, i)) {
      check();
      xs[p.key].push(await p.exec());
    }
  }
  const cpu = Object.fromEntries(servers.map((s) => [s.key, meters[s.key]()]));
  for (const p of paths) {
    const v = xs[p.key];
    const out = { protocol, n: v.length, doneMs: pick(v, 'doneMs'), replyMs: pick(v, 'replyMs'), idleMs: pick(v, 'idleMs'),
      errors: v.filter((x) => x.status !== 'ok').length, wrongResults: v.filter((x) => x.result !== '2').length,
      serverCpuS: p.key in cpu ? cpu[p.key] : null, serverCpuMsPerExec: p.key in cpu ? round((cpu[p.key] * 1000) / v.length, 2) : null };
    if (p.key === 'raw') R.raw.roundTrip = out;
    else (R[p.key].roundTrip ??= {})[protocol] = out;
    if (out.errors || out.wrongResults) R.problems.push(`${p.key} ${protocol}: ${out.errors} errors, ${out.wrongResults} results other than 2`);
    log(`${p.key} (${protocol}): 1+1 p50 ${ms(out.doneMs.p50)} ms, p99 ${ms(out.doneMs.p99)} ms`);
  }
}

/**
 * 3. Output throughput: `for i in range(N): print(i)` (`flush`: one IOPub message per line),
 * the servers (and raw ZeroMQ) taking turns; results go to `R[server][key]`.
 */
export async function throughput(servers, kernels, raw, R, { lines, reps, flush = false, key = 'throughput' }, check) {
  const code = `for i in range(${lines}): print(i${flush ? ', flush=True' : ''})`;
  // A server that drops the final status (ZeroMQ queues overflow when it cannot keep up)
  // never completes the execution: such a sample counts as timed out, with what arrived.
  const timeoutMs = 30_000 + lines * (flush ? 2 : 0.2);
  const viaWs = (s) => async () => {
    try { return await kernels[s.key].ch.execute(code, { countLines: true, timeoutMs }); } catch (e) {
      if (!e.partial) throw e;
      return { ...e.partial, doneMs: null, timedOut: true };
    }
  };
  const paths = [...servers.map((s) => ({ key: s.key, pid: s.pid, exec: viaWs(s) })),
    ...(raw ? [{ key: 'raw', exec: () => raw.execute(code, { countLines: true }) }] : [])];
  const xs = Object.fromEntries(paths.map((p) => [p.key, []]));
  for (let i = 0; i < reps; i++) {
    for (const p of turn(paths, i)) {
      check();
      const meter = p.pid ? cpuMeter(p.pid) : null;
      const r = await p.exec();
      const c = r.stdout ?? r; // the WebSocket client returns a LineCounter, raw ZMQ plain counts
      xs[p.key].push({ doneMs: round(r.doneMs, 1), timedOut: Boolean(r.timedOut), lines: c.lines, inOrder: c.inOrder, outOfOrder: c.outOfOrder, bytes: c.bytes, iopubMessages: r.iopubMessages ?? null,
        serverCpuS: meter ? meter() : null, stderr: r.stderr ? r.stderr.slice(0, 300) : '' });
    }
  }
  for (const p of paths) {
    const v = xs[p.key];
    const s = pick(v, 'doneMs');
    const out = { code, lines, reps: v.length, doneMs: s, linesPerS: round(lines / (s.p50 / 1000), 0),
      worstLinesReceived: Math.min(...v.map((x) => x.inOrder)), lostLines: Math.max(...v.map((x) => lines - x.inOrder)),
      timedOut: v.filter((x) => x.timedOut).length, timeoutMs,
      iopubMessages: pick(v, 'iopubMessages'), serverCpuS: p.pid ? pick(v, 'serverCpuS') : null, samples: v };
    (p.key === 'raw' ? R.raw : R[p.key])[key] = out;
    if (out.timedOut) R.problems.push(`${p.key}: ${key}: ${out.timedOut} of ${v.length} executions never finished (no execute_reply + idle within ${timeoutMs} ms)`);
    if (out.lostLines) R.problems.push(`${p.key}: ${key}: lost up to ${out.lostLines} of ${lines} lines (${v.find((x) => x.stderr)?.stderr.trim() || 'no message'})`);
    log(`${p.key}: ${lines} lines${flush ? ' (flushed)' : ''} p50 ${ms(s.p50)} ms, ${out.worstLinesReceived} lines in order at worst${out.timedOut ? `, ${out.timedOut} timed out` : ''}`);
  }
}

/** 4. Save and load a large notebook (PUT / GET api/contents), the servers taking turns. */
export async function contents(servers, R, opts, check) {
  const t0 = now();
  const big = bigNotebook(opts.notebookMb * 2 ** 20);
  log(`notebook: ${big.cells} cells, ${big.images} images, ${(big.jsonBytes / 2 ** 20).toFixed(1)} MiB of JSON (built in ${ms(now() - t0)} ms)`);
  const body = { type: 'notebook', format: 'json', content: big.nb };
  const probe = big.nb.cells[big.nb.cells.length - 1];
  const xs = Object.fromEntries(servers.map((s) => [s.key, []]));
  for (let i = 0; i < opts.contentsReps; i++) {
    for (const s of turn(servers, i)) {
      check();
      const cpuSave = cpuMeter(s.pid);
      const put = await api(s, 'PUT', 'contents/big.ipynb', body);
      const saveCpu = cpuSave();
      if (put.status !== 200 && put.status !== 201) throw new Error(`${s.label}: PUT api/contents/big.ipynb: ${put.status} ${put.text.slice(0, 300)}`);
      const cpuLoad = cpuMeter(s.pid);
      const get = await api(s, 'GET', 'contents/big.ipynb?content=1');
      const loadCpu = cpuLoad();
      if (get.status !== 200) throw new Error(`${s.label}: GET api/contents/big.ipynb: ${get.status} ${get.text.slice(0, 300)}`);
      const sample = { saveMs: round(put.ms, 1), loadMs: round(get.ms, 1), saveCpuS: saveCpu, loadCpuS: loadCpu, responseBytes: get.bytes };
      if (i === 0) { // the notebook came back whole (checked once, outside the timing)
        const back = get.json().content;
        const last = back?.cells?.find((c) => c.id === probe.id);
        const img = (o) => (Array.isArray(o) ? o.join('') : o);
        sample.roundTripOk = back?.cells?.length === big.cells && img(last?.outputs?.[1]?.data?.['image/png']) === probe.outputs[1].data['image/png'];
        if (!sample.roundTripOk) R.problems.push(`${s.label}: the loaded notebook differs from the saved one`);
      }
      xs[s.key].push(sample);
    }
  }
  for (const s of servers) {
    const v = xs[s.key];
    R[s.key].contents = { notebook: { cells: big.cells, images: big.images, requestBytes: big.jsonBytes }, reps: v.length,
      saveMs: pick(v, 'saveMs'), loadMs: pick(v, 'loadMs'), saveCpuS: pick(v, 'saveCpuS'), loadCpuS: pick(v, 'loadCpuS'),
      responseBytes: v[0]?.responseBytes, roundTripOk: v[0]?.roundTripOk, samples: v };
    log(`${s.label}: save p50 ${ms(R[s.key].contents.saveMs.p50)} ms, load p50 ${ms(R[s.key].contents.loadMs.p50)} ms`);
  }
}

/**
 * 5. The browser closes right after sending a cell (JupyterLab's execute_request with
 * metadata.cellId); what does the stored notebook hold once the kernel is idle?
 */
export async function capture(s, R, opts, check) {
  const file = 'capture.ipynb';
  const cellId = 'capture-cell-0001';
  const n = opts.captureLines;
  const out = { lines: n, sleepS: opts.captureSleep };
  const put = await api(s, 'PUT', `contents/${file}`, { type: 'notebook', format: 'json', content: captureNotebook(cellId, n, opts.captureSleep) });
  if (put.status !== 200 && put.status !== 201) throw new Error(`${s.label}: PUT ${file}: ${put.status}`);
  const sess = await api(s, 'POST', 'sessions', { path: file, name: file, type: 'notebook', kernel: { name: 'python3' } });
  if (sess.status !== 201) throw new Error(`${s.label}: POST api/sessions: ${sess.status} ${sess.text.slice(0, 300)}`);
  const session = sess.json();
  const kid = session.kernel.id;
  s.trackAll();
  try {
    const ch = new KernelChannel(wsUrl(s, kid), s.token);
    await ch.open();
    await ch.waitReady(); // JupyterLab sends kernel_info_request on every connect
    const code = captureNotebook(cellId, n, opts.captureSleep).cells[0].source;
    ch.send('shell', 'execute_request', { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: true, stop_on_error: true },
      { cellId, deletedCells: [], recordTiming: false });
    const closed = ch.close(); // right away: the frame above goes out first, then the close frame
    const t0 = now();
    await closed;
    // busy, then idle (GET api/kernels/{id} every 50 ms)
    const states = [];
    let idleAt = null;
    const limit = t0 + (n * opts.captureSleep * 5 + 60) * 1000;
    while (now() < limit) {
      check();
      const k = await api(s, 'GET', `kernels/${kid}`);
      const st = k.status === 200 ? k.json().execution_state : `HTTP ${k.status}`;
      if (states.at(-1) !== st) states.push(st);
      if (st === 'idle' && states.includes('busy')) { idleAt = now(); break; }
      if (!states.includes('busy') && now() - t0 > 15_000) break; // never started
      await sleep(50);
    }
    out.kernelStates = states;
    out.runMs = idleAt === null ? null : round(idleAt - t0, 0);
    if (idleAt === null) {
      out.neverStarted = !states.includes('busy');
      R.problems.push(`${s.label}: capture: ${out.neverStarted ? 'the cell never ran: the execute_request sent just before the close did not reach the kernel' : 'the cell did not finish'} (kernel states ${states.join(' → ')})`);
    }
    // what the stored notebook holds: read until complete or --capture-wait-s after idle
    const waitUntil = (idleAt ?? now()) + opts.captureWaitS * 1000;
    let last = null;
    for (;;) {
      const g = await api(s, 'GET', `contents/${file}?content=1`);
      const cell = g.status === 200 ? cellStdout(g.json().content, cellId) : { found: false, text: '', outputs: 0, executionCount: null };
      const c = new LineCounter();
      c.push(cell.text);
      last = { lines: c.lines, inOrder: c.inOrder, outputs: cell.outputs, executionCount: cell.executionCount, at: now() };
      if (c.inOrder >= n || now() > waitUntil) break;
      await sleep(100);
    }
    Object.assign(out, { linesInFile: last.inOrder, linesLost: n - last.inOrder, outputsInCell: last.outputs, executionCount: last.executionCount,
      fileCompleteAfterIdleMs: last.inOrder >= n && idleAt !== null ? round(Math.max(0, last.at - idleAt), 0) : null });
    log(`${s.label}: browser closed after sending the cell: ${out.linesInFile} of ${n} lines in the stored notebook (states ${states.join(' → ')})`);
  } finally {
    const d = await api(s, 'DELETE', `sessions/${session.id}`);
    if (d.status !== 204) R.problems.push(`${s.label}: DELETE api/sessions/${session.id}: ${d.status}`);
  }
  R[s.key].capture = out;
}

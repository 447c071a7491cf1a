#!/usr/bin/env node
// The floor under both servers: `1+1` straight over ZeroMQ with the lab server's own kernel
// manager (packages/lab/dist/kernels/manager.js, ZmqKernelManager), no HTTP, no WebSocket.
// Times execute_request → execute_reply and status idle, like the WebSocket client does.
//
//   node zmq-raw.mjs [--iters 200] [--warmup 20] [--dir /tmp]   # alone: prints a JSON summary
//   (forked by bench.mjs with an IPC channel: answers {cmd:'exec', code} with one sample,
//    so that its samples interleave with the two servers')
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import { LineCounter } from './lib/kernel-ws.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');
const require = createRequire(import.meta.url);
const { pino } = require('pino');
const { ZmqKernelManager } = await import(pathToFileURL(path.join(REPO, 'packages/lab/dist/kernels/manager.js')).href);

const dirArg = process.argv.indexOf('--dir');
const dir = fs.mkdtempSync(path.join(dirArg > 0 ? process.argv[dirArg + 1] : os.tmpdir(), 'lvj-zmq-'));
const manager = new ZmqKernelManager({ stateDir: path.join(dir, 'state'), log: pino({ level: 'warn' }), shutdownGraceMs: 2000 });
const session = crypto.randomUUID();
let kernel;

/** One execution: resolves with {replyMs, idleMs, doneMs, result} and, with `countLines`, the stdout line count. */
function execute(code, countLines = false) {
  return new Promise((resolve) => {
    const id = crypto.randomUUID();
    const r = { replyMs: null, idleMs: null, result: null, status: null };
    const counter = countLines ? new LineCounter() : null;
    const t0 = performance.now();
    const off = kernel.onMessage((msg) => {
      if (msg.parent_header.msg_id !== id) return;
      const at = performance.now();
      const type = msg.header.msg_type;
      if (type === 'execute_reply') { r.replyMs = at - t0; r.status = msg.content.status; }
      else if (type === 'execute_result') r.result = msg.content.data?.['text/plain'] ?? null;
      else if (type === 'stream' && msg.content.name === 'stdout') counter?.push(msg.content.text);
      else if (type === 'status' && msg.content.execution_state === 'idle') r.idleMs = at - t0;
      if (r.replyMs !== null && r.idleMs !== null) {
        off();
        r.doneMs = Math.max(r.replyMs, r.idleMs);
        if (counter) Object.assign(r, { lines: counter.lines, inOrder: counter.inOrder, outOfOrder: counter.outOfOrder, bytes: counter.bytes });
        resolve(r);
      }
    });
    kernel.send({
      channel: 'shell',
      header: { msg_id: id, msg_type: 'execute_request', session, username: '', date: new Date().toISOString(), version: '5.3' },
      parent_header: {}, metadata: {},
      content: { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true },
      buffers: [],
    });
  });
}

async function stop() {
  try { await manager.shutdownAll(); } finally { fs.rmSync(dir, { recursive: true, force: true }); }
}

const t0 = performance.now();
kernel = await manager.start({ cwd: dir });
const startMs = performance.now() - t0;

if (process.send) {
  // Driven by bench.mjs: one sample per request, so the three paths interleave.
  process.on('message', async (m) => {
    if (m?.cmd === 'exec') process.send({ id: m.id, ...(await execute(m.code, m.countLines)) });
    else if (m?.cmd === 'stop') { await stop(); process.send({ id: m.id, stopped: true }); process.disconnect(); }
  });
  process.on('disconnect', () => { stop().finally(() => process.exit(0)); });
  process.send({ ready: true, pid: process.pid, kernelPid: kernel.pid ?? null, startMs });
} else {
  const arg = (name, dflt) => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? Number(process.argv[i + 1]) : dflt; };
  const iters = arg('iters', 200), warmup = arg('warmup', 20);
  try {
    for (let i = 0; i < warmup; i++) await execute('1+1');
    const xs = [];
    for (let i = 0; i < iters; i++) xs.push((await execute('1+1')).doneMs);
    xs.sort((a, b) => a - b);
    const q = (p) => xs[Math.min(xs.length - 1, Math.round((xs.length - 1) * p))];
    console.log(JSON.stringify({ kernelStartMs: Math.round(startMs), iters, p50Ms: q(0.5), p99Ms: q(0.99), minMs: xs[0], maxMs: xs.at(-1) }));
  } finally {
    await stop();
  }
}

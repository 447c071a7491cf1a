// A minimal Jupyter kernel WebSocket client for `api/kernels/{id}/channels`, the same code
// for both servers: the JSON ("legacy") form by default, or `v1.kernel.websocket.jupyter.org`
// (jupyter-server-api.md c.3, c.4). Enough to wait for a kernel, time executions, and count
// the stdout lines an execution produced.
import crypto from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createRequire } from 'node:module';

// `ws` 8 comes from the repository's node_modules (bench/ lies inside the repo).
const require = createRequire(import.meta.url);
const WebSocket = require('ws');
export const wsVersion = require('ws/package.json').version;
export const V1 = 'v1.kernel.websocket.jupyter.org';

/** One v1 frame: uint64-LE offset table, then channel, header, parent, metadata, content. */
function encodeV1(msg) {
  const parts = [msg.channel, msg.header, msg.parent_header, msg.metadata, msg.content].map((p, i) =>
    Buffer.from(i === 0 ? p : JSON.stringify(p), 'utf8'));
  const n = parts.length + 1; // offsets: start of each part plus the end
  const head = Buffer.alloc(8 * (n + 1));
  head.writeBigUInt64LE(BigInt(n), 0);
  let at = head.length;
  for (let i = 0; i < parts.length; i++) { head.writeBigUInt64LE(BigInt(at), 8 * (i + 1)); at += parts[i].length; }
  head.writeBigUInt64LE(BigInt(at), 8 * n);
  return Buffer.concat([head, ...parts]);
}

function decodeV1(buf) {
  const n = Number(buf.readBigUInt64LE(0));
  const off = Array.from({ length: n }, (_, i) => Number(buf.readBigUInt64LE(8 * (i + 1))));
  const part = (i) => buf.subarray(off[i], off[i + 1]).toString('utf8');
  return { channel: part(0), header: JSON.parse(part(1)), parent_header: JSON.parse(part(2)), metadata: JSON.parse(part(3)), content: JSON.parse(part(4)) };
}

/**
 * Follows the stdout of one execution line by line and checks that the lines are
 * `0, 1, 2, …` (what `for i in range(n): print(i)` writes); keeps no text beyond one
 * partial line.
 */
export class LineCounter {
  constructor() { this.partial = ''; this.lines = 0; this.inOrder = 0; this.outOfOrder = 0; this.bytes = 0; }
  push(text) {
    this.bytes += Buffer.byteLength(text);
    const pieces = (this.partial + text).split('\n');
    this.partial = pieces.pop();
    for (const line of pieces) {
      // `print(i, flush=True); time.sleep(…)` may be written as `i` or `i <something>`
      const first = line.split(' ', 1)[0];
      if (first === String(this.inOrder)) this.inOrder++;
      else this.outOfOrder++;
      this.lines++;
    }
  }
}

export class KernelChannel {
  /** @param {{ protocol?: 'json'|'v1' }} [o] */
  constructor(url, token, { protocol = 'json' } = {}) {
    if (new URL(url).hostname !== '127.0.0.1') throw new Error(`refusing non-loopback websocket ${url}`);
    this.url = url;
    this.token = token;
    this.protocol = protocol;
    this.session = crypto.randomUUID();
    this.waiting = new Map(); // parent msg_id -> handler(msg, receivedAt)
    this.framesIn = 0;
    this.unparsed = 0;
  }

  /** Opens the socket; resolves with the time the upgrade took (ms). */
  open(timeoutMs = 60_000) {
    return new Promise((resolve, reject) => {
      const t0 = performance.now();
      const protocols = this.protocol === 'v1' ? [V1] : [];
      this.ws = new WebSocket(this.url, protocols, { headers: { authorization: `token ${this.token}` }, perMessageDeflate: false, handshakeTimeout: timeoutMs });
      this.ws.on('message', (data, isBinary) => {
        const at = performance.now();
        this.framesIn++;
        let msg;
        try {
          if (this.ws.protocol === V1) msg = decodeV1(Buffer.isBuffer(data) ? data : Buffer.concat(data));
          else if (!isBinary) msg = JSON.parse(data.toString('utf8'));
          else { this.unparsed++; return; } // JSON form with buffers: unused here
        } catch { this.unparsed++; return; }
        this.waiting.get(msg.parent_header?.msg_id)?.(msg, at);
      });
      this.ws.once('open', () => {
        if (this.protocol === 'v1' && this.ws.protocol !== V1) { reject(new Error(`server did not select ${V1}`)); return; }
        resolve(performance.now() - t0);
      });
      this.ws.once('error', reject);
      this.ws.once('unexpected-response', (_req, res) => reject(new Error(`websocket upgrade refused: HTTP ${res.statusCode}`)));
    });
  }

  /** Sends one message; returns its msg_id. JupyterLab's header (c.7), version 5.2. */
  send(channel, type, content, metadata = {}) {
    const msg = {
      header: { msg_id: crypto.randomUUID(), msg_type: type, username: '', session: this.session, date: new Date().toISOString(), version: '5.2', subshell_id: null },
      parent_header: {}, metadata, content, channel,
    };
    if (this.ws.protocol === V1) this.ws.send(encodeV1(msg), { binary: true });
    else this.ws.send(JSON.stringify({ ...msg, buffers: [] }));
    return msg.header.msg_id;
  }

  /** kernel_info_request, repeated every second until answered; resolves with the wait (ms) and the tries. */
  async waitReady(timeoutMs = 60_000) {
    const t0 = performance.now();
    for (let tries = 1; performance.now() - t0 < timeoutMs; tries++) {
      const reply = await new Promise((resolve) => {
        const id = this.send('shell', 'kernel_info_request', {});
        const timer = setTimeout(() => { this.waiting.delete(id); resolve(null); }, 1000);
        this.waiting.set(id, (msg) => {
          if (msg.header.msg_type !== 'kernel_info_reply') return;
          clearTimeout(timer); this.waiting.delete(id); resolve(msg);
        });
      });
      if (reply) return { ms: performance.now() - t0, tries, info: reply.content };
    }
    throw new Error(`kernel did not answer kernel_info_request within ${timeoutMs} ms`);
  }

  /**
   * Runs `code` as JupyterLab would (store_history, cell metadata); resolves once both
   * execute_reply (shell) and status idle (iopub) arrived, with the times to each (ms from
   * just before the send) and, with `countLines`, a {@link LineCounter} over stdout.
   * `stderr` collects stderr text (e.g. jupyter_server's "IOPub message rate exceeded").
   * On timeout the error carries what had arrived as `partial`.
   */
  execute(code, { metadata = {}, countLines = false, timeoutMs = 300_000 } = {}) {
    return new Promise((resolve, reject) => {
      const r = { replyMs: null, idleMs: null, lastOutputMs: null, status: null, result: null, error: null, iopubMessages: 0, stdout: countLines ? new LineCounter() : null, stderr: '' };
      const t0 = performance.now();
      const id = this.send('shell', 'execute_request', { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true }, metadata);
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(Object.assign(new Error(`execute timed out after ${timeoutMs} ms: ${code.slice(0, 60)}`), { partial: r }));
      }, timeoutMs);
      this.waiting.set(id, (msg, at) => {
        const type = msg.header.msg_type;
        if (msg.channel === 'iopub') r.iopubMessages++;
        if (type === 'execute_reply') {
          r.replyMs = at - t0;
          r.status = msg.content.status;
          if (r.status !== 'ok') r.error = `${msg.content.ename}: ${msg.content.evalue}`;
        } else if (type === 'execute_result') {
          r.result = msg.content.data?.['text/plain'] ?? null;
        } else if (type === 'stream') {
          r.lastOutputMs = at - t0;
          if (msg.content.name === 'stdout') r.stdout?.push(msg.content.text);
          else if (r.stderr.length < 10_000) r.stderr += msg.content.text;
        } else if (type === 'status' && msg.content.execution_state === 'idle') {
          r.idleMs = at - t0;
        }
        if (r.replyMs !== null && r.idleMs !== null) {
          clearTimeout(timer); this.waiting.delete(id);
          r.doneMs = Math.max(r.replyMs, r.idleMs);
          resolve(r);
        }
      });
    });
  }

  /** Resolves when the socket is closed. */
  close() {
    return new Promise((resolve) => {
      if (!this.ws || this.ws.readyState === WebSocket.CLOSED) { resolve(); return; }
      this.ws.once('close', () => resolve());
      try { this.ws.close(); } catch { resolve(); }
    });
  }
}

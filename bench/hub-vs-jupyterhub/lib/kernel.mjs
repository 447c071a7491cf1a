// A minimal Jupyter kernel WebSocket client (the JSON "channels" protocol, v5.3 messages):
// enough to wait for a kernel and time execute requests.
import crypto from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createRequire } from 'node:module';

// `ws` 8 comes from the repository's node_modules (bench/ lies inside the repo).
const require = createRequire(import.meta.url);
const WebSocket = require('ws');
export const wsVersion = require('ws/package.json').version;

export class KernelChannel {
  constructor(url, token) {
    if (new URL(url).hostname !== '127.0.0.1') throw new Error(`refusing non-loopback websocket ${url}`);
    this.url = url;
    this.token = token;
    this.session = crypto.randomUUID();
    this.waiting = new Map(); // msg_id -> handler(msg, receivedAt)
  }

  /** Opens the socket; resolves with the time the upgrade took (ms). */
  open(timeoutMs = 30_000) {
    return new Promise((resolve, reject) => {
      const t0 = performance.now();
      this.ws = new WebSocket(this.url, { headers: { authorization: `token ${this.token}` }, perMessageDeflate: false, handshakeTimeout: timeoutMs });
      this.ws.on('message', (data, isBinary) => {
        const at = performance.now();
        if (isBinary) return; // only buffers travel in binary frames; unused here
        let msg;
        try { msg = JSON.parse(data.toString('utf8')); } catch { return; }
        this.waiting.get(msg.parent_header?.msg_id)?.(msg, at);
      });
      this.ws.once('open', () => resolve(performance.now() - t0));
      this.ws.once('error', reject);
      this.ws.once('unexpected-response', (_req, res) => reject(new Error(`websocket upgrade refused: HTTP ${res.statusCode}`)));
    });
  }

  send(channel, type, content) {
    const id = crypto.randomUUID();
    this.ws.send(JSON.stringify({
      header: { msg_id: id, msg_type: type, username: 'bench', session: this.session, date: new Date().toISOString(), version: '5.3' },
      parent_header: {}, metadata: {}, content, channel, buffers: [],
    }));
    return id;
  }

  /** Repeats kernel_info_request every second until answered; resolves with the wait (ms). */
  async waitReady(timeoutMs = 60_000) {
    const t0 = performance.now();
    while (performance.now() - t0 < timeoutMs) {
      const reply = await new Promise((resolve) => {
        const id = this.send('shell', 'kernel_info_request', {});
        const timer = setTimeout(() => { this.waiting.delete(id); resolve(null); }, 1000);
        this.waiting.set(id, (msg) => {
          if (msg.header.msg_type !== 'kernel_info_reply') return;
          clearTimeout(timer); this.waiting.delete(id); resolve(msg);
        });
      });
      if (reply) return { ms: performance.now() - t0, info: reply.content };
    }
    throw new Error(`kernel did not answer kernel_info_request within ${timeoutMs} ms`);
  }

  /**
   * Runs `code`; resolves when both execute_reply (shell) and status idle (iopub) arrived,
   * with the time to each and to execute_result.
   */
  execute(code, timeoutMs = 120_000) {
    return new Promise((resolve, reject) => {
      const r = { replyMs: null, resultMs: null, idleMs: null, status: null, result: null, error: null };
      const t0 = performance.now();
      const id = this.send('shell', 'execute_request', { code, silent: false, store_history: false, user_expressions: {}, allow_stdin: false, stop_on_error: true });
      const timer = setTimeout(() => { this.waiting.delete(id); reject(new Error(`execute timed out: ${code}`)); }, timeoutMs);
      this.waiting.set(id, (msg, at) => {
        const type = msg.header.msg_type;
        if (type === 'execute_reply') {
          r.replyMs = at - t0;
          r.status = msg.content.status;
          if (r.status !== 'ok') r.error = `${msg.content.ename}: ${msg.content.evalue}`;
        } else if (type === 'execute_result') {
          r.resultMs = at - t0;
          r.result = msg.content.data?.['text/plain'] ?? null;
        } else if (type === 'status' && msg.content.execution_state === 'idle') {
          r.idleMs = at - t0;
        }
        if (r.replyMs !== null && r.idleMs !== null) { clearTimeout(timer); this.waiting.delete(id); resolve(r); }
      });
    });
  }

  close() { try { this.ws?.close(); } catch { /* already closed */ } }
}

import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';

/** What one cell produced. */
export interface ExecutionResult {
  status: 'ok' | 'error' | 'aborted';
  stdout: string;
  stderr: string;
  /** `text/plain` of the execute_result, if any. */
  result: string | null;
  error: { ename: string; evalue: string } | null;
}

interface Msg {
  header: { msg_id: string; msg_type: string };
  parent_header: { msg_id?: string };
  content: Record<string, unknown>;
  channel: string;
}

/**
 * A Jupyter kernel spoken to over the server's WebSocket (JSON protocol), as the classic
 * Notebook and JupyterLab do. For tests and benchmarks.
 */
export class KernelClient {
  private readonly waiters = new Map<string, (m: Msg) => void>();
  private readonly session = randomUUID();

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as Msg;
      const id = msg.parent_header?.msg_id;
      if (id) this.waiters.get(id)?.(msg);
    });
  }

  /** Opens `ws(s)://…/api/kernels/<id>/channels` with the given headers (cookies, token). */
  static connect(url: string, headers: Record<string, string> = {}, timeoutMs = 30_000): Promise<KernelClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers, perMessageDeflate: false });
      const timer = setTimeout(() => { ws.terminate(); reject(new Error(`WebSocket ${url} did not open`)); }, timeoutMs);
      ws.once('open', () => { clearTimeout(timer); resolve(new KernelClient(ws)); });
      ws.once('unexpected-response', (_req, res) => { clearTimeout(timer); reject(new Error(`WebSocket refused: HTTP ${res.statusCode}`)); });
      ws.once('error', (err) => { clearTimeout(timer); reject(err); });
    });
  }

  private send(channel: string, msgType: string, content: Record<string, unknown>): string {
    const msgId = randomUUID();
    this.ws.send(JSON.stringify({
      header: { msg_id: msgId, msg_type: msgType, username: 'test', session: this.session, date: new Date().toISOString(), version: '5.3' },
      parent_header: {}, metadata: {}, content, channel, buffers: [],
    }));
    return msgId;
  }

  /** Sends kernel_info_request until answered (the kernel may still be starting). */
  async waitReady(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const id = this.send('shell', 'kernel_info_request', {});
      const ok = await new Promise<boolean>((resolve) => {
        const t = setTimeout(() => { this.waiters.delete(id); resolve(false); }, 1000);
        this.waiters.set(id, (m) => { if (m.header.msg_type === 'kernel_info_reply') { clearTimeout(t); this.waiters.delete(id); resolve(true); } });
      });
      if (ok) return;
    }
    throw new Error('kernel did not answer kernel_info_request');
  }

  /** Runs `code` and collects its output until the kernel is idle again. */
  execute(code: string, timeoutMs = 120_000): Promise<ExecutionResult> {
    const out: ExecutionResult = { status: 'ok', stdout: '', stderr: '', result: null, error: null };
    return new Promise((resolve, reject) => {
      const id = this.send('shell', 'execute_request', { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true });
      let replied = false;
      let idle = false;
      const onClose = (): void => { clearTimeout(timer); this.waiters.delete(id); reject(new Error('the kernel connection closed during execution')); };
      const timer = setTimeout(() => { this.ws.off('close', onClose); this.waiters.delete(id); reject(new Error(`execution timed out: ${code.slice(0, 80)}`)); }, timeoutMs);
      this.ws.once('close', onClose);
      const done = (): void => { if (replied && idle) { clearTimeout(timer); this.ws.off('close', onClose); this.waiters.delete(id); resolve(out); } };
      this.waiters.set(id, (m) => {
        const c = m.content;
        switch (m.header.msg_type) {
          case 'stream': if (c.name === 'stderr') out.stderr += String(c.text); else out.stdout += String(c.text); break;
          case 'execute_result': out.result = String((c.data as Record<string, unknown>)['text/plain'] ?? ''); break;
          case 'error': out.error = { ename: String(c.ename), evalue: String(c.evalue) }; break;
          case 'execute_reply': replied = true; out.status = c.status as ExecutionResult['status']; break;
          case 'status': if (c.execution_state === 'idle') idle = true; break;
        }
        done();
      });
    });
  }

  close(): void {
    this.ws.close();
  }
}

/**
 * Test helpers for the kernel tests (not shipped code): a capturing logger, a temp state
 * dir and `execute()` that collects what one execute_request produced.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { Kernel, KernelMessage } from '../src/kernels/types.js';
import { newMessage } from '../src/kernels/wire.js';

/** A pino logger whose records land in `lines`; `waitFor` resolves on the first matching record. */
export function captureLog(): {
  log: pino.Logger;
  lines: Array<Record<string, unknown>>;
  waitFor(pred: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
} {
  const lines: Array<Record<string, unknown>> = [];
  const waiters: Array<{ pred: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }> = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      const line = JSON.parse(String(chunk)) as Record<string, unknown>;
      lines.push(line);
      for (const w of waiters.splice(0)) (w.pred(line) ? w.resolve(line) : waiters.push(w));
      cb();
    },
  });
  return {
    log: pino({ level: 'debug' }, stream),
    lines,
    waitFor: (pred) => {
      const found = lines.find(pred);
      return found ? Promise.resolve(found) : new Promise((resolve) => waiters.push({ pred, resolve }));
    },
  };
}

/** A fresh temp directory and its remover. */
export function tempDir(prefix = 'eucp-kernels-'): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** What one execute_request produced. */
export interface Executed {
  reply: KernelMessage;
  /** IOPub messages whose parent is the request, up to its `status: idle`. */
  iopub: KernelMessage[];
  result(): string | undefined;
  stdout(): string;
}

/**
 * Sends `code` as an execute_request from session `session` and resolves once both the
 * execute_reply and the IOPub `idle` for it have arrived.
 */
export function execute(kernel: Kernel, code: string, session = 'test-client'): Promise<Executed> {
  const msg = newMessage('shell', 'execute_request', session, {
    code,
    silent: false,
    store_history: true,
    user_expressions: {},
    allow_stdin: false,
    stop_on_error: true,
  });
  return new Promise((resolve) => {
    const iopub: KernelMessage[] = [];
    let reply: KernelMessage | null = null;
    let idle = false;
    const off = kernel.onMessage((m) => {
      if (m.parent_header.msg_id !== msg.header.msg_id) return;
      if (m.channel === 'iopub') {
        iopub.push(m);
        if (m.header.msg_type === 'status' && m.content.execution_state === 'idle') idle = true;
      } else if (m.header.msg_type === 'execute_reply') reply = m;
      if (reply && idle) {
        off();
        const r = reply;
        resolve({
          reply: r,
          iopub,
          result: () => {
            // IRkernel shows values as display_data, ipykernel as execute_result.
            const res = iopub.find((x) => x.header.msg_type === 'execute_result' || x.header.msg_type === 'display_data');
            return (res?.content.data as Record<string, string> | undefined)?.['text/plain'];
          },
          stdout: () =>
            iopub
              .filter((x) => x.header.msg_type === 'stream' && x.content.name === 'stdout')
              .map((x) => String(x.content.text))
              .join(''),
        });
      }
    });
    kernel.send(msg);
  });
}

/** Resolves with the first message `pred` accepts. */
export function nextMessage(kernel: Kernel, pred: (m: KernelMessage) => boolean): Promise<KernelMessage> {
  return new Promise((resolve) => {
    const off = kernel.onMessage((m) => {
      if (pred(m)) {
        off();
        resolve(m);
      }
    });
  });
}

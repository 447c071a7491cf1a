import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { AppError, type ErrorCode } from '@eucp/core';
import type { Logger } from '../log/index.js';
import type { RenderOptions } from './render.js';

interface Pending { resolve(chunks: string[]): void; reject(err: Error): void }
type Reply = { id: number; chunks: string[] } | { id: number; error: { code: string; detail: string | undefined; fields: Record<string, unknown> } };

/** The worker's module next to this one: `.ts` when run from source (tests, through tsx), `.js` when built. */
const WORKER_URL = new URL(`./render-worker${path.extname(fileURLToPath(import.meta.url))}`, import.meta.url);

/** Package export conditions of this process (`--conditions=source` in tests), for the worker's imports. */
function conditionFlags(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (/^(--conditions|-C)=/.test(a)) out.push(a);
    else if ((a === '--conditions' || a === '-C') && i + 1 < argv.length) out.push(a, argv[++i]!);
  }
  return out;
}

/** A worker running render-worker; from source its TypeScript is loaded through tsx's loader, registered in the worker. */
function startWorker(): Worker {
  const execArgv = conditionFlags(process.execArgv);
  if (!WORKER_URL.pathname.endsWith('.ts')) return new Worker(WORKER_URL, { execArgv });
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(WORKER_URL.href)}); });`;
  return new Worker(boot, { eval: true, execArgv });
}

/**
 * Renders notebooks in one worker thread, so a large notebook (about 0.1 s for 20 MB, up to
 * a second at the 100 MB cap) never holds up the hub's event loop, which proxies every
 * user's traffic. Requests are served in order. The worker starts at the first request
 * and does not keep the process alive; if it dies, the requests in flight fail with
 * `INTERNAL` and the next request starts a new one. Errors of the renderer (e.g.
 * `NOTEBOOK_INVALID`) come back as the same `AppError`.
 */
export class RenderPool {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  constructor(private readonly log?: Logger) {}

  /** The HTML document of a `.ipynb` file as chunks to write in order (see `NotebookRenderer.renderFile`). */
  renderFile(bytes: Buffer, opts: RenderOptions): Promise<string[]> {
    const worker = this.start();
    const id = this.nextId++;
    // The worker gets its own copy: the caller's buffer may share memory with others (Buffer pool).
    const copy = new Uint8Array(bytes.byteLength);
    copy.set(bytes);
    return new Promise<string[]>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.pending.size === 1) worker.ref();
      worker.postMessage({ id, bytes: copy, opts }, [copy.buffer]);
    });
  }

  /** Stops the worker (requests in flight fail). */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const w = startWorker();
    w.unref();
    w.on('message', (m: Reply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) w.unref();
      if ('chunks' in m) p.resolve(m.chunks);
      else p.reject(new AppError(m.error.code as ErrorCode, m.error.detail, m.error.fields));
    });
    const fail = (why: string): void => {
      if (this.worker === w) this.worker = null;
      for (const p of this.pending.values()) p.reject(new AppError('INTERNAL', `The notebook renderer stopped (${why}).`));
      this.pending.clear();
    };
    w.on('error', (err) => {
      this.log?.error({ err }, 'viewer: the render worker failed');
      fail(err.message);
    });
    w.on('exit', (code) => fail(`exit code ${code}`));
    this.worker = w;
    return w;
  }
}

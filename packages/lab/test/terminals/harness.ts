/** Test harness for terminals: a minimal lab app around a real LocalTerminalManager. */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, watch } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fastify, { type FastifyInstance } from 'fastify';
import websocket from '@fastify/websocket';
import { pino } from 'pino';
import { WebSocket } from 'ws';
import type { LabContext } from '../../src/context.js';
import { installErrorHandler } from '../../src/http/errors.js';
import { LocalTerminalManager } from '../../src/terminals/manager.js';
import { pidAlive } from '../../src/terminals/procfs.js';
import { terminalRoutes } from '../../src/terminals/routes.js';

/** Every holder and shell PID a test saw, killed at the end whatever happened. */
const seenPids = new Set<number>();

export function rememberPids(manager: LocalTerminalManager, name: string): { holder: number; shell: number } {
  const pids = manager.pids(name);
  if (!pids) throw new Error(`no terminal ${name}`);
  seenPids.add(pids.holder);
  seenPids.add(pids.shell);
  return pids;
}

export function killLeftovers(): void {
  for (const pid of seenPids) {
    if (pidAlive(pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone meanwhile.
      }
    }
  }
}

export interface Dirs {
  root: string;
  stateDir: string;
  remove(): void;
}

export function tempDirs(): Dirs {
  const base = mkdtempSync(join(tmpdir(), 'eucp-term-'));
  const root = join(base, 'root');
  const stateDir = join(base, 'state');
  mkdirSync(root);
  mkdirSync(stateDir);
  return { root, stateDir, remove: () => rmSync(base, { recursive: true, force: true }) };
}

export interface Lab {
  manager: LocalTerminalManager;
  app: FastifyInstance;
  url: string;
  ws(name: string): TermSocket;
  close(): Promise<void>;
}

export const silentLog = pino({ level: 'silent' });

/** A new manager over `dirs` (reattached) behind a minimal app listening on 127.0.0.1:0. */
export async function startLab(dirs: Dirs): Promise<Lab> {
  const manager = new LocalTerminalManager({ stateDir: dirs.stateDir, rootDir: dirs.root, log: silentLog, env: { SHELL: '/bin/bash' } });
  await manager.reattach();
  const ctx = {
    config: { baseUrl: '/', rootDir: dirs.root, stateDir: dirs.stateDir, uiDir: null, defaultUrl: 'lab' },
    log: silentLog,
    terminals: manager,
    activity: { touch: () => undefined, last: () => Date.now() },
  } as unknown as LabContext;
  const app = fastify({ loggerInstance: silentLog }) as unknown as FastifyInstance;
  installErrorHandler(app);
  await app.register(websocket);
  terminalRoutes(app, ctx);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  return {
    manager,
    app,
    url,
    ws: (name) => new TermSocket(`ws://127.0.0.1:${port}/terminals/websocket/${name}`),
    close: () => app.close(),
  };
}

/** A terminado client: keeps every frame and the text of all `stdout` frames. */
export class TermSocket {
  readonly socket: WebSocket;
  readonly frames: unknown[][] = [];
  text = '';
  readonly opened: Promise<void>;
  readonly closed: Promise<number>;
  private waiters: (() => void)[] = [];

  constructor(url: string) {
    this.socket = new WebSocket(url);
    this.opened = new Promise((resolve, reject) => {
      this.socket.once('open', () => resolve());
      this.socket.once('error', reject);
    });
    this.closed = new Promise((resolve) => this.socket.once('close', (code) => resolve(code)));
    this.socket.on('message', (raw) => {
      const frame = JSON.parse(raw.toString()) as unknown[];
      this.frames.push(frame);
      if (frame[0] === 'stdout') this.text += String(frame[1]);
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.socket.on('close', () => {
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  /** Resolves once `test` holds for what was received; rejects if the socket closes first. */
  until(test: (self: TermSocket) => boolean, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (test(this)) resolve();
        else if (this.socket.readyState >= WebSocket.CLOSING) reject(new Error(`closed before ${what}; got ${JSON.stringify(this.text.slice(-500))}`));
        else this.waiters.push(check);
      };
      check();
    });
  }

  /** Resolves once the terminal output contains `text`. */
  waitFor(text: string): Promise<void> {
    return this.until((s) => s.text.includes(text), JSON.stringify(text));
  }

  /** Sends once open (frames keep their order). */
  send(frame: unknown[]): void {
    void this.opened.then(() => this.socket.send(JSON.stringify(frame)));
  }

  type(keys: string): void {
    this.send(['stdin', keys]);
  }

  async close(): Promise<void> {
    this.socket.close();
    await this.closed;
  }
}

/** The HTTP status a WebSocket upgrade to `url` is refused with. */
export function refusedStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.on('error', () => undefined); // terminate() below reports the aborted handshake
    socket.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      socket.terminate();
    });
    socket.once('open', () => {
      socket.close();
      reject(new Error('the upgrade was accepted'));
    });
  });
}

/** Resolves once the file at `path` exists and `test` holds for its text (fs.watch driven). */
export function fileUntil(dir: string, path: string, test: (text: string) => boolean): Promise<string> {
  return new Promise((resolve) => {
    const watcher = watch(dir);
    const check = (): void => {
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch {
        return;
      }
      if (test(text)) {
        watcher.close();
        resolve(text);
      }
    };
    watcher.on('change', check);
    check();
  });
}

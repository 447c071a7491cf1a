import type { FastifyInstance } from 'fastify';
import { AppError } from '@eucp/core';
import type { HubConfig } from '../config/schema.js';
import { homeRootOf } from '../config/load.js';
import type { Logger } from '../log/index.js';
import type { Accounts } from '../accounts/accounts.js';
import { parseListen } from './config.js';
import { HomeNotebookFiles } from './files.js';
import { OwnerOnlyReadAccess, type NotebookReadAccess, type NotebookReader } from './read-access.js';
import { NotebookRenderer } from './render.js';
import { RenderPool } from './render-pool.js';
import { TicketSigner } from './ticket.js';
import { buildViewerApp } from './viewer-server.js';

export interface NotebookViewerDeps {
  config: HubConfig;
  log: Logger;
  now(): number;
  accounts: Pick<Accounts, 'getUserById' | 'groupsOf'>;
  /** Who may read what; default: owners only ({@link OwnerOnlyReadAccess}). */
  access?: NotebookReadAccess;
}

/**
 * The notebook viewer: its ticket signer, safe file reader, renderer and its own HTTP
 * listener (the viewer origin, `viewer.listen`). The hub page (hub-page.ts) issues
 * tickets; the viewer app (viewer-server.ts) redeems them.
 */
export class NotebookViewer {
  readonly tickets: TicketSigner;
  readonly files: HomeNotebookFiles;
  readonly access: NotebookReadAccess;
  readonly renderer = new NotebookRenderer();
  /** Where notebooks are rendered: a worker thread, off the hub's event loop. */
  private readonly pool: RenderPool;
  private app: FastifyInstance | null = null;
  private base: string | null = null;

  constructor(private readonly deps: NotebookViewerDeps) {
    this.tickets = new TicketSigner(deps.now);
    this.files = new HomeNotebookFiles(() => homeRootOf(deps.config), deps.config.viewer.maxNotebookBytes);
    this.access = deps.access ?? new OwnerOnlyReadAccess();
    this.pool = new RenderPool(deps.log);
  }

  /**
   * Starts the viewer origin's listener (idempotent) and resolves its public base URL
   * (ending in `/`), or null when `viewer.enabled` is false.
   * @throws AppError `CONFIG_INVALID` naming `viewer.listen` if it cannot listen there.
   */
  async listen(): Promise<string | null> {
    const { config } = this.deps;
    if (!config.viewer.enabled) return null;
    if (this.base) return this.base;
    const { host, port } = parseListen(config.viewer.listen);
    const app = await buildViewerApp({
      log: this.deps.log, tickets: this.tickets, files: this.files, access: this.access, renderer: this.renderer,
      renderFile: (bytes, opts) => this.pool.renderFile(bytes, opts),
      reader: (id) => this.reader(id), origin: () => new URL(this.baseUrl()).origin,
    });
    try {
      await app.listen({ host, port });
    } catch (err) {
      await app.close();
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      throw new AppError('CONFIG_INVALID', `The notebook viewer cannot listen on ${config.viewer.listen} (${code}): choose another viewer.listen.`, { key: 'viewer.listen' });
    }
    const addr = app.server.address();
    const boundPort = typeof addr === 'object' && addr ? addr.port : port;
    const connectHost = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
    this.app = app;
    this.base = config.viewer.publicUrl
      ? config.viewer.publicUrl.replace(/\/*$/, '/')
      : `http://${connectHost}:${boundPort}/`;
    this.deps.log.info({ url: this.base }, 'notebook viewer listening');
    const loopback = (h: string): boolean => h === 'localhost' || h === '::1' || h.startsWith('127.');
    if (!config.viewer.publicUrl && loopback(host) && !loopback(config.ip)) {
      this.deps.log.warn({ viewerListen: config.viewer.listen, hubIp: config.ip },
        'the hub is reachable from other machines but the notebook viewer only on loopback: remote browsers cannot show notebooks; set viewer.listen and viewer.publicUrl');
    }
    return this.base;
  }

  /** Public base URL of the viewer origin, ending in `/`. @throws AppError `VIEWER_UNAVAILABLE` before {@link listen}. */
  baseUrl(): string {
    if (!this.base) throw new AppError('VIEWER_UNAVAILABLE');
    return this.base;
  }

  /** Stops the listener and the render worker (idempotent). */
  async close(): Promise<void> {
    const app = this.app;
    this.app = null;
    this.base = null;
    await app?.close();
    await this.pool.close();
  }

  private async reader(id: number): Promise<NotebookReader | null> {
    const user = await this.deps.accounts.getUserById(id);
    if (!user) return null;
    return { id: user.id, name: user.name, admin: user.admin, groups: await this.deps.accounts.groupsOf(user.id) };
  }
}

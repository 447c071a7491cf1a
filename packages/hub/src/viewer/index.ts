import type { FastifyInstance } from 'fastify';
import type { HubContext } from '../context.js';
import { registerViewPage } from './hub-page.js';
import { OwnerOnlyReadAccess, SharedNotebookReadAccess, type NotebookReadAccess } from './read-access.js';
import { NotebookViewer } from './viewer.js';

export { NotebookViewer } from './viewer.js';
export { viewUrl, parseViewPath, VIEW_PREFIX } from './hub-page.js';
export { OwnerOnlyReadAccess, SharedNotebookReadAccess, type NotebookReadAccess, type NotebookReader, type ShareLookup } from './read-access.js';
export { NotebookRenderer, type RenderOptions } from './render.js';
export { normalizeNotebookPath, HomeNotebookFiles, type FileIdentity } from './files.js';
export { TicketSigner, type TicketClaims } from './ticket.js';
export { viewerSectionSchema, type ViewerConfig } from './config.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The notebook viewer (its own origin); `createHub` starts it with `listen()`. */
    notebookViewer: NotebookViewer;
  }
}

/**
 * Adds the notebook viewer to the hub app: the page `GET /hub/view/<owner>/<path>` (when
 * `viewer.enabled`) and `app.notebookViewer`, whose `listen()` opens the viewer origin
 * (the app's `onClose` closes it). `access` defaults to the owner plus whoever a share
 * grants (`ctx.sharing`), or owners only where sharing is absent.
 */
export async function registerNotebookViewer(
  app: FastifyInstance, ctx: HubContext, opts: { access?: NotebookReadAccess } = {},
): Promise<NotebookViewer> {
  const access = opts.access ?? (ctx.sharing ? new SharedNotebookReadAccess(ctx.sharing) : new OwnerOnlyReadAccess());
  const viewer = new NotebookViewer({
    config: ctx.config, log: ctx.log.child({ component: 'viewer' }), now: () => ctx.now(), accounts: ctx.accounts, access,
  });
  app.decorate('notebookViewer', viewer);
  if (ctx.config.viewer.enabled) await registerViewPage(app, ctx, viewer);
  app.addHook('onClose', async () => viewer.close());
  return viewer;
}

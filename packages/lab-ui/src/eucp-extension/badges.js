// Plugin 2 (notebook-designs.md D4): trust badges. A toolbar item per notebook shows
// "Out of order" and/or "Stale: N cells" (nothing when clean), from `POST
// api/eucp/notebooks/badges` with the model's current cells, refreshed (debounced) after
// executions, cell content changes and kernel restarts. Flagged cells get the CSS classes
// `eucp-stale` / `eucp-out-of-order` (style.css draws a marker).
import { NotebookActions } from '@jupyterlab/notebook';
import { Widget } from '@lumino/widgets';
import { debounce } from './apply.js';
import { summarizeBadges } from './texts.js';
import { postBadges } from './api.js';

/**
 * @typedef {import('@jupyterlab/notebook').NotebookPanel} NotebookPanel
 * @typedef {import('@jupyterlab/services').ServerConnection.ISettings} Settings
 * @typedef {import('./live.js').LiveOutputs} LiveOutputs
 * @typedef {import('./texts.js').NotebookBadges} NotebookBadges
 */

export const BADGES_DEBOUNCE_MS = 300;
const STALE_CLASS = 'eucp-stale';
const OUT_OF_ORDER_CLASS = 'eucp-out-of-order';

/** The toolbar item: `data-eucp-badges` and its text hold the summary ("" when clean). */
export class BadgesWidget extends Widget {
  constructor() {
    super();
    this.addClass('eucp-badges');
    this.addClass('jp-Toolbar-item');
    this.node.setAttribute('data-eucp-badges', '');
    this.node.setAttribute('aria-live', 'polite');
  }

  /** @param {ReturnType<typeof summarizeBadges>} summary @param {NotebookBadges} badges */
  display(summary, badges) {
    this.node.textContent = summary.text;
    this.node.setAttribute('data-eucp-badges', summary.text);
    this.node.title = summary.title;
    this.toggleClass('eucp-badges-out-of-order', !!badges.outOfOrder);
    this.toggleClass('eucp-badges-stale', summary.stale.size > 0);
  }
}

/** Keeps the badges of one notebook panel up to date. */
export class BadgesController {
  /** @param {Settings} settings @param {NotebookPanel} panel @param {LiveOutputs} live */
  constructor(settings, panel, live) {
    this._settings = settings;
    this._panel = panel;
    this._live = live;
    this.widget = new BadgesWidget();
    this._disposed = false;
    this._force = true;
    this._inFlight = false;
    this._again = false;
    /** @type {string | null} */
    this._lastPayload = null;
    this._refresh = debounce(() => void this._fetch(), BADGES_DEBOUNCE_MS);

    const context = panel.context;
    NotebookActions.executed.connect(this._onExecuted, this);
    context.model.contentChanged.connect(this._onContent, this);
    context.sessionContext.statusChanged.connect(this._onStatus, this);
    context.sessionContext.kernelChanged.connect(this.refresh, this);
    live.activity.connect(this.refresh, this);
    panel.disposed.connect(this.dispose, this);
    void context.ready.then(() => this.refresh());
  }

  /** Refreshes (debounced) even if no cell changed. */
  refresh() {
    this._force = true;
    this._refresh.schedule();
  }

  dispose() {
    if (this._disposed) return;
    this._disposed = true;
    this._refresh.cancel();
    NotebookActions.executed.disconnect(this._onExecuted, this);
    const context = this._panel.context;
    if (!context.isDisposed) {
      context.model.contentChanged.disconnect(this._onContent, this);
      context.sessionContext.statusChanged.disconnect(this._onStatus, this);
      context.sessionContext.kernelChanged.disconnect(this.refresh, this);
    }
    this._live.activity.disconnect(this.refresh, this);
    this.widget.dispose();
  }

  /** @param {unknown} _sender @param {{ notebook: unknown }} args */
  _onExecuted(_sender, args) {
    if (args.notebook === this._panel.content) this.refresh();
  }

  _onContent() {
    // Output changes come here too; _fetch skips them when no cell id, type or source changed.
    this._refresh.schedule();
  }

  /** @param {unknown} _sender @param {string} status */
  _onStatus(_sender, status) {
    if (status === 'restarting' || status === 'autorestarting' || status === 'starting') this.refresh();
  }

  async _fetch() {
    const context = this._panel.context;
    if (this._disposed || context.isDisposed || !context.isReady) return;
    if (this._inFlight) {
      this._again = true;
      return;
    }
    const cells = [];
    const model = context.model;
    for (let i = 0; i < model.cells.length; i++) {
      const cell = model.cells.get(i);
      cells.push({ id: cell.id, source: cell.sharedModel.getSource(), cell_type: cell.type });
    }
    const payload = JSON.stringify(cells);
    if (!this._force && payload === this._lastPayload) return;
    this._force = false;
    this._inFlight = true;
    try {
      const badges = await postBadges(this._settings, context.localPath ?? context.path, cells);
      if (this._disposed) return;
      this._lastPayload = payload;
      this._render(badges, cells.map((c) => c.id));
    } catch {
      // No badges (server without the journal, network): show nothing, retry on next change.
      this._lastPayload = null;
    } finally {
      this._inFlight = false;
      if (this._again && !this._disposed) {
        this._again = false;
        this._refresh.schedule();
      }
    }
  }

  /** @param {NotebookBadges} badges @param {string[]} ids */
  _render(badges, ids) {
    const summary = summarizeBadges(badges, ids);
    this.widget.display(summary, badges);
    for (const cell of this._panel.content.widgets) {
      const id = cell.model.id;
      const reason = summary.stale.get(id);
      cell.toggleClass(STALE_CLASS, reason !== undefined);
      cell.toggleClass(OUT_OF_ORDER_CLASS, summary.outOfOrder.has(id));
      if (reason !== undefined) cell.node.setAttribute('data-eucp-stale', reason);
      else cell.node.removeAttribute('data-eucp-stale');
    }
  }
}

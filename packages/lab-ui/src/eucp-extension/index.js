// The EUCP JupyterLab plugins (notebook-designs.md D1, D4): live outputs of executions
// the server tracks, trust badges, restart-and-verify, and a cell executor that waits for
// a starting kernel. Plain ES modules + JSDoc.
import { INotebookTracker } from '@jupyterlab/notebook';
import { ICommandPalette } from '@jupyterlab/apputils';
import { IMainMenu } from '@jupyterlab/mainmenu';
import { liveOutputsFor } from './live.js';
import { BadgesController } from './badges.js';
import { VERIFY_COMMAND, VERIFY_LABEL, VerifyButton, restartAndVerify } from './verify.js';
import { cellExecutorPlugin } from './executor.js';
import './style.css';

/**
 * @typedef {import('@jupyterlab/application').JupyterFrontEnd} JupyterFrontEnd
 * @typedef {import('@jupyterlab/application').JupyterFrontEndPlugin<void>} Plugin
 * @typedef {import('@jupyterlab/notebook').NotebookPanel} NotebookPanel
 * @typedef {import('@jupyterlab/notebook').INotebookTracker} NotebookTracker
 */

/**
 * Calls `fn` once for every notebook panel, open now or later.
 * @param {NotebookTracker} tracker @param {(panel: NotebookPanel) => void} fn
 */
function eachPanel(tracker, fn) {
  const seen = new WeakSet();
  const once = (/** @type {NotebookPanel} */ panel) => {
    if (seen.has(panel) || panel.isDisposed) return;
    seen.add(panel);
    fn(panel);
  };
  tracker.forEach(once);
  tracker.widgetAdded.connect((_sender, panel) => once(panel));
}

/**
 * Adds `widget` to a notebook's toolbar after the item `after`, or at its end.
 * @param {NotebookPanel} panel @param {string} after @param {string} name @param {import('@lumino/widgets').Widget} widget
 */
function addToToolbar(panel, after, name, widget) {
  if (!panel.toolbar.insertAfter(after, name, widget)) panel.toolbar.addItem(name, widget);
}

/** @type {Plugin} */
const liveOutputsPlugin = {
  id: '@eucp/lab-extension:live-outputs',
  description: 'Shows outputs of executions started elsewhere (server, other or closed tabs) as they happen.',
  autoStart: true,
  requires: [INotebookTracker],
  activate: (app, /** @type {NotebookTracker} */ tracker) => {
    const settings = app.serviceManager.serverSettings;
    eachPanel(tracker, (panel) => void liveOutputsFor(settings, panel.context));
  },
};

/** @type {Plugin} */
const badgesPlugin = {
  id: '@eucp/lab-extension:trust-badges',
  description: 'Out-of-order and stale-cell badges from the execution journal.',
  autoStart: true,
  requires: [INotebookTracker],
  activate: (app, /** @type {NotebookTracker} */ tracker) => {
    const settings = app.serviceManager.serverSettings;
    eachPanel(tracker, (panel) => {
      const controller = new BadgesController(settings, panel, liveOutputsFor(settings, panel.context));
      addToToolbar(panel, 'cellType', 'eucp-badges', controller.widget);
    });
  },
};

/** @type {Plugin} */
const verifyPlugin = {
  id: '@eucp/lab-extension:restart-and-verify',
  description: 'Restart the kernel, re-run the notebook on the server and check its outputs.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [IMainMenu, ICommandPalette],
  activate: (
    app,
    /** @type {NotebookTracker} */ tracker,
    /** @type {import('@jupyterlab/mainmenu').IMainMenu | null} */ mainMenu,
    /** @type {import('@jupyterlab/apputils').ICommandPalette | null} */ palette,
  ) => {
    const settings = app.serviceManager.serverSettings;
    app.commands.addCommand(VERIFY_COMMAND, {
      label: VERIFY_LABEL,
      caption: 'Restart the kernel, re-run every cell on the server and check the outputs are the same',
      isEnabled: () => tracker.currentWidget !== null,
      execute: async (args) => {
        const panel = tracker.currentWidget;
        if (!panel) return null;
        return restartAndVerify(settings, panel, { confirm: args?.confirm !== false });
      },
    });
    if (mainMenu) mainMenu.runMenu.addGroup([{ command: VERIFY_COMMAND }], 1000);
    if (palette) palette.addItem({ command: VERIFY_COMMAND, category: 'Notebook Operations' });
    eachPanel(tracker, (panel) => {
      const button = new VerifyButton(() => void restartAndVerify(settings, panel));
      addToToolbar(panel, 'restart-and-run', 'eucp-verify', button);
      panel.disposed.connect(() => button.dispose());
    });
  },
};

/** The EUCP plugins, in activation order. */
export const plugins = [cellExecutorPlugin, liveOutputsPlugin, badgesPlugin, verifyPlugin];
export default plugins;

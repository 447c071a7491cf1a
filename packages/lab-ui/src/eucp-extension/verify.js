// Plugin 3 (notebook-designs.md D4): restart and verify. Saves the notebook, asks the
// server to restart its kernel and re-run every cell (`POST api/eucp/notebooks/verify`),
// shows progress while polling `GET api/eucp/runs/<id>`, then a dialog with the verdict.
// The re-run's outputs reach the page through the live-outputs plugin.
import { Dialog, Notification, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';
import { describeVerifyRun, progress } from './texts.js';
import { getRun, postVerify } from './api.js';

/**
 * @typedef {import('@jupyterlab/notebook').NotebookPanel} NotebookPanel
 * @typedef {import('@jupyterlab/services').ServerConnection.ISettings} Settings
 */

export const VERIFY_COMMAND = 'eucp:restart-and-verify';
export const VERIFY_LABEL = 'Restart & verify';
const POLL_MS = 1000;

/** Notebooks (by context) with a verify run under way. @type {WeakSet<object>} */
const running = new WeakSet();

/**
 * Runs restart-and-verify for a notebook panel.
 * @param {Settings} settings
 * @param {NotebookPanel} panel
 * @param {{ confirm?: boolean }} [options] `confirm: false` skips the "restart?" question
 * @returns {Promise<import('./texts.js').VerifyRun | null>} the finished run, or null
 *   (cancelled, already running, or an error that was shown)
 */
export async function restartAndVerify(settings, panel, options = {}) {
  const context = panel.context;
  if (running.has(context)) return null;
  running.add(context);
  const name = context.localPath ?? context.path;
  /** @type {string | null} */
  let note = null;
  try {
    await context.ready;
    if (options.confirm !== false) {
      const answer = await showDialog({
        title: 'Restart kernel and verify?',
        body:
          'The server restarts the kernel and runs every cell again in order, then checks ' +
          'that each cell gives the same output as before. Variables in the kernel are lost.',
        buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: VERIFY_LABEL })],
      });
      if (!answer.button.accept) return null;
    }
    await context.save();
    const { runId } = await postVerify(settings, name);
    note = Notification.emit(`Verifying ${baseName(name)}: starting`, 'in-progress', { autoClose: false });
    let run = await getRun(settings, runId);
    while (run.state === 'running') {
      Notification.update({ id: note, message: `Verifying ${baseName(name)}: ${progress(run)}`, type: 'in-progress' });
      await sleep(POLL_MS);
      if (panel.isDisposed) break;
      run = await getRun(settings, runId);
    }
    Notification.dismiss(note);
    note = null;
    const verdict = describeVerifyRun(run);
    await showDialog({ title: verdict.title, body: resultBody(verdict), buttons: [Dialog.okButton()] });
    return run;
  } catch (err) {
    if (note !== null) Notification.dismiss(note);
    if (/** @type {any} */ (err)?.name !== 'ModalCancelError') {
      void showErrorMessage('Restart & verify failed', /** @type {Error} */ (err));
    }
    return null;
  } finally {
    running.delete(context);
  }
}

/** The toolbar button (`data-eucp-verify`), plain DOM styled as JupyterLab's buttons. */
export class VerifyButton extends Widget {
  /** @param {() => void} onClick */
  constructor(onClick) {
    super();
    this.addClass('jp-ToolbarButton');
    this.addClass('jp-Toolbar-item');
    this.addClass('eucp-verify');
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'jp-ToolbarButtonComponent jp-mod-minimal jp-Button';
    button.setAttribute('data-eucp-verify', '');
    button.title = 'Restart the kernel, re-run every cell on the server and check the outputs are the same';
    const label = document.createElement('span');
    label.className = 'jp-ToolbarButtonComponent-label';
    label.textContent = VERIFY_LABEL;
    button.appendChild(label);
    button.addEventListener('click', () => onClick());
    this.node.appendChild(button);
  }
}

/** @param {{ kind: string, text: string }} verdict */
function resultBody(verdict) {
  const widget = new Widget();
  widget.addClass('eucp-verify-result');
  widget.node.setAttribute('data-eucp-verify-result', verdict.kind);
  widget.node.textContent = verdict.text;
  return widget;
}

/** @param {string} path */
function baseName(path) {
  return path.split('/').pop() || path;
}

/** @param {number} ms */
function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

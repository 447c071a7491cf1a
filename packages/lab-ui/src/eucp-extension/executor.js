// Plugin 4: the notebook cell executor. JupyterLab's own executor drops a cell that is
// run while the notebook's kernel is still starting (no kernel connection yet: for a new
// notebook that is the whole kernel start-up, as the lab server answers `POST
// api/sessions` once the kernel replies). This one waits for the kernel, then runs the
// cell exactly as JupyterLab does. It replaces `@jupyterlab/notebook-extension:cell-executor`
// (left out of the build, see ../index.js).
import { INotebookCellExecutor, runCell } from '@jupyterlab/notebook';
import { kernelStarted } from './apply.js';

/** @type {import('@jupyterlab/application').JupyterFrontEndPlugin<import('@jupyterlab/notebook').INotebookCellExecutor>} */
export const cellExecutorPlugin = {
  id: '@eucp/lab-extension:cell-executor',
  description: 'Runs notebook cells; a cell run while the kernel is starting waits for it instead of being dropped.',
  autoStart: true,
  provides: INotebookCellExecutor,
  activate: () =>
    Object.freeze({
      /** @param {import('@jupyterlab/notebook').INotebookCellExecutor.IRunCellOptions} options */
      async runCell(options) {
        if (options.cell.model.type === 'code') await kernelStarted(/** @type {any} */ (options.sessionContext));
        return runCell(options);
      },
    }),
};

// Applies tracker actions to a JupyterLab code cell model (pure: it only calls the model's
// own methods, so node:test can drive it with a stand-in model).
import { outputsEqual } from './apply.js';

/**
 * @typedef {import('@jupyterlab/cells').ICodeCellModel} CodeCellModel
 * @typedef {import('./apply.js').Action} Action
 * @typedef {import('./apply.js').OutputOp} OutputOp
 */

/**
 * Applies one action to a code cell's model; returns whether the document changed.
 * The prompt follows the model: `executionState = 'running'` shows `[*]`.
 * @param {CodeCellModel} cell
 * @param {Action} action
 */
export function applyToCell(cell, action) {
  switch (action.type) {
    case 'reset': {
      let changed = false;
      if (!outputsEqual(/** @type {any} */ (cell.outputs.toJSON()), action.outputs)) {
        cell.trusted = true; // produced by this user's kernel, as when run here
        cell.outputs.fromJSON(/** @type {any} */ (action.outputs));
        changed = true;
      }
      if (action.running) {
        if (cell.executionCount !== null) {
          cell.executionCount = null;
          changed = true;
        }
        cell.executionState = 'running';
      } else {
        if (cell.executionCount !== action.executionCount) {
          cell.executionCount = action.executionCount;
          changed = true;
        }
        cell.executionState = 'idle';
      }
      return changed;
    }
    case 'output':
      cell.trusted = true;
      syncOutputs(cell.outputs, action.op, action.outputs);
      return true;
    case 'running':
      cell.executionState = action.running ? 'running' : 'idle';
      return false;
    case 'count': {
      const changed = cell.executionCount !== action.executionCount;
      if (changed) cell.executionCount = action.executionCount;
      if (action.executionCount === null) cell.executionState = 'idle';
      return changed;
    }
    default:
      return false;
  }
}

/**
 * Brings a JupyterLab outputs model in line with `list` after `op`: one `set`/`add` when
 * the model mirrors the list, else a full rebuild (JupyterLab merges adjacent streams of
 * the same name on `add`, which would shift indices).
 * @param {import('@jupyterlab/outputarea').IOutputAreaModel} area
 * @param {OutputOp} op
 * @param {any[]} list
 */
export function syncOutputs(area, op, list) {
  if (op.type === 'clear') {
    area.clear();
    return;
  }
  if (op.type === 'set' && area.length === list.length) {
    area.set(op.index, /** @type {any} */ (op.output));
    return;
  }
  if (op.type === 'append' && area.length === list.length - 1) {
    area.add(/** @type {any} */ (op.output));
    if (area.length === list.length) return;
  }
  area.fromJSON(list);
}

// The EUCP lab server's execution API, under the server's base URL. Requests go through
// ServerConnection.makeRequest, which adds the token and `_xsrf` header.
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { eventsQuery } from './texts.js';

/**
 * @typedef {import('./texts.js').NotebookBadges} NotebookBadges
 * @typedef {import('./texts.js').VerifyRun} VerifyRun
 * @typedef {ServerConnection.ISettings} Settings
 */

/**
 * @param {Settings} settings
 * @param {string} method
 * @param {string} route under the base URL, e.g. `api/eucp/notebooks/badges`
 * @param {unknown} [body]
 * @returns {Promise<any>}
 */
async function request(settings, method, route, body) {
  const url = URLExt.join(settings.baseUrl, route);
  /** @type {RequestInit} */
  const init = { method, cache: 'no-store' };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { 'Content-Type': 'application/json' };
  }
  const response = await ServerConnection.makeRequest(url, init, settings);
  if (!response.ok) throw await ServerConnection.ResponseError.create(response);
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

/**
 * The trust badges of a notebook given its current (maybe unsaved) cells.
 * @param {Settings} settings
 * @param {string} path
 * @param {{ id: string, source: string, cell_type: string }[]} cells
 * @returns {Promise<NotebookBadges>}
 */
export function postBadges(settings, path, cells) {
  return request(settings, 'POST', 'api/eucp/notebooks/badges', { path, cells });
}

/**
 * Starts a restart-and-verify run of the saved notebook on the server.
 * @param {Settings} settings
 * @param {string} path
 * @returns {Promise<{ runId: string }>}
 */
export function postVerify(settings, path) {
  return request(settings, 'POST', 'api/eucp/notebooks/verify', { path });
}

/**
 * @param {Settings} settings
 * @param {string} runId
 * @returns {Promise<VerifyRun>}
 */
export function getRun(settings, runId) {
  return request(settings, 'GET', `api/eucp/runs/${encodeURIComponent(runId)}`);
}

/**
 * Opens the events socket of a notebook (`after`: last event seen, or null for a snapshot).
 * @param {Settings} settings
 * @param {string} path
 * @param {number | null} after
 * @returns {WebSocket}
 */
export function openEvents(settings, path, after) {
  const token = settings.appendToken ? settings.token : '';
  const url = `${URLExt.join(settings.wsUrl, 'api/eucp/notebooks/events')}?${eventsQuery(path, after, token)}`;
  return new settings.WebSocket(url);
}

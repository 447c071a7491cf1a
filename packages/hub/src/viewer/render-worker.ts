/**
 * The notebook renderer in a worker thread (see render-pool.ts): one request at a time,
 * `{id, bytes, opts}` in, `{id, chunks}` or `{id, error}` out.
 */
import { parentPort } from 'node:worker_threads';
import { isAppError } from '@eucp/core';
import { NotebookRenderer, type RenderOptions } from './render.js';

const renderer = new NotebookRenderer();
parentPort!.on('message', (m: { id: number; bytes: Uint8Array; opts: RenderOptions }) => {
  try {
    const chunks = renderer.renderFile(Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength), m.opts);
    parentPort!.postMessage({ id: m.id, chunks });
  } catch (err) {
    const error = isAppError(err)
      ? { code: err.code, detail: err.detail, fields: err.fields }
      : { code: 'INTERNAL', detail: (err as Error).message, fields: {} };
    parentPort!.postMessage({ id: m.id, error });
  }
});

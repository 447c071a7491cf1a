/**
 * Chunked uploads (jupyter-server-api.md §a.3, LargeFileManager semantics) made atomic:
 * chunk 1 starts a hidden temp file next to the target, later chunks append to it, and
 * chunk -1 appends the last part and renames the temp file over the target. Until then
 * the target is untouched, so an interrupted upload never leaves a half-written file.
 */
import { appendFile, unlink, writeFile } from 'node:fs/promises';
import { JupyterError } from '../http/errors.js';
import { commitTemp, tempPathFor } from './fsio.js';

interface OpenUpload {
  tmp: string;
  size: number;
}

/** Uploads in progress, keyed by the target's absolute real path. Callers hold the target's lock. */
export class ChunkedUploads {
  private readonly open = new Map<string, OpenUpload>();

  /**
   * Adds chunk `chunk` (1, 2, … or -1 for the last) of the upload to `target`.
   * @returns whether the upload is complete (the target now holds all chunks) and the bytes received.
   * @throws JupyterError 400 for a bad chunk number or a later chunk without a first one.
   */
  async write(target: string, apiPath: string, chunk: number, bytes: Uint8Array): Promise<{ done: boolean; size: number }> {
    if (!Number.isInteger(chunk) || (chunk < 1 && chunk !== -1)) {
      throw new JupyterError(400, `Invalid chunk number ${chunk}: use 1, 2, … and -1 for the last chunk`);
    }
    let upload = this.open.get(target);
    try {
      if (chunk === 1) {
        if (upload) await unlink(upload.tmp).catch(() => undefined);
        upload = { tmp: tempPathFor(target, 'upload'), size: 0 };
        this.open.set(target, upload);
        await writeFile(upload.tmp, bytes, { flag: 'wx' });
      } else {
        if (!upload) {
          throw new JupyterError(400, `The upload of ${apiPath} was interrupted (its first chunk is missing); upload the file again.`);
        }
        await appendFile(upload.tmp, bytes);
      }
      upload.size += bytes.byteLength;
      if (chunk !== -1) return { done: false, size: upload.size };
      this.open.delete(target);
      await commitTemp(upload.tmp, target);
      return { done: true, size: upload.size };
    } catch (err) {
      if (upload && !(err instanceof JupyterError)) {
        this.open.delete(target);
        await unlink(upload.tmp).catch(() => undefined);
      }
      throw err;
    }
  }
}

/**
 * Reading and writing `.ipynb` files with `@eucp/core`'s nbformat helpers, and the
 * messages a user sees when a notebook is malformed. A malformed notebook is never
 * rewritten: reads fail with 400 `bad format`, writes of invalid content are refused.
 */
import { NotebookFormatError, parseNotebook, serializeNotebook, validateNotebook } from '@eucp/core';
import type { Notebook as CoreNotebook } from '@eucp/core';
import { JupyterError } from '../http/errors.js';
import type { Notebook } from './types.js';
import { decodeUtf8 } from './model.js';

/** What to do when a notebook file cannot be opened as a notebook. */
const HOW_TO_FIX =
  'The file was not changed. To repair it, open it with the text editor (right-click → Open With → Editor).';

/**
 * Parses the bytes of a notebook file into the read form.
 * @throws JupyterError 400 reason `bad format` naming the problem.
 */
export function notebookFromBytes(apiPath: string, bytes: Uint8Array): Notebook {
  const text = decodeUtf8(bytes);
  if (text === null) throw unreadable(apiPath, 'the file is not UTF-8 text');
  try {
    return parseNotebook(text) as unknown as Notebook;
  } catch (err) {
    if (err instanceof NotebookFormatError) throw unreadable(apiPath, err.message);
    throw err;
  }
}

function unreadable(apiPath: string, problem: string): JupyterError {
  return new JupyterError(400, `Unreadable Notebook: ${apiPath}: ${problem}. ${HOW_TO_FIX}`, 'bad format');
}

/**
 * Validates a notebook someone wants stored (a PUT body, a server-side mutation) and
 * returns the bytes to write.
 * @throws JupyterError 400 reason `bad format` (nothing is written by the caller).
 */
export function notebookToBytes(apiPath: string, content: unknown): Buffer {
  try {
    const nb: CoreNotebook = validateNotebook(content);
    return Buffer.from(serializeNotebook(nb), 'utf8');
  } catch (err) {
    if (err instanceof NotebookFormatError) {
      throw new JupyterError(
        400,
        `The notebook ${apiPath} was not saved: ${err.message}. The file on disk was not changed.`,
        'bad format',
      );
    }
    throw err;
  }
}

import { constants as fsConstants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { AppError, parseUserName } from '@eucp/core';

/**
 * Reading notebooks out of users' homes as root, without letting a user's symlink or
 * special file make the hub read something else: every component below the
 * home root is opened relative to its parent's descriptor (`/proc/self/fd/<dir>/<name>`,
 * Linux's openat) with `O_NOFOLLOW`, so no symlink is followed anywhere in the path and a
 * directory swapped for a symlink half-way cannot redirect the walk.
 */

/** Which file version a ticket names: device, inode, size (bytes), mtime (ns), decimal. */
export interface FileIdentity {
  dev: string;
  ino: string;
  size: string;
  mtimeNs: string;
}

const MAX_PATH_CHARS = 4096;
const MAX_SEGMENT_BYTES = 255;

/**
 * The canonical form (`a/b/c.ipynb`) of a notebook path given as already-decoded
 * segments, or null if it is not a safe relative path to a `.ipynb` file: empty, `.`,
 * `..`, NUL, `/` or `\` inside a segment, overlong, or another extension.
 */
export function normalizeNotebookPath(segments: readonly string[]): string | null {
  if (segments.length === 0) return null;
  for (const s of segments) {
    if (s === '' || s === '.' || s === '..' || /[\0/\\]/.test(s) || Buffer.byteLength(s) > MAX_SEGMENT_BYTES) return null;
  }
  const joined = segments.join('/');
  if (joined.length > MAX_PATH_CHARS || !joined.toLowerCase().endsWith('.ipynb')) return null;
  return joined;
}

const notFound = (): AppError => new AppError('NOT_FOUND');

const DIR_FLAGS = fsConstants.O_RDONLY | fsConstants.O_DIRECTORY | fsConstants.O_NOFOLLOW;
const FILE_FLAGS = fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK | fsConstants.O_NOCTTY;

/** An open notebook file and what it is. */
export interface OpenNotebook {
  handle: FileHandle;
  identity: FileIdentity;
  /** Size in bytes. */
  size: number;
}

/** Notebooks in `<homeRoot>/<owner>/<path>`, read safely (see the module comment). */
export class HomeNotebookFiles {
  /**
   * @param homeRoot where homes are (called per request: `homeRootOf(config)`; the root
   *   itself is trusted configuration and may be a symlink)
   * @param maxBytes largest file opened
   */
  constructor(private readonly homeRoot: () => string, private readonly maxBytes: number) {}

  /**
   * Opens a notebook file for reading. The caller closes `handle`.
   * @throws AppError `NOT_FOUND` for a bad owner or path, a missing file, a symlink at any
   *   depth, or anything but a regular file; `NOTEBOOK_TOO_LARGE` above `maxBytes`.
   */
  async open(owner: string, relPath: string): Promise<OpenNotebook> {
    try {
      parseUserName(owner);
    } catch {
      throw notFound();
    }
    const segments = relPath.split('/');
    if (normalizeNotebookPath(segments) !== relPath) throw notFound();
    const names = [owner, ...segments];
    let dir = await openOrNotFound(path.resolve(this.homeRoot()), fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
    try {
      for (const name of names.slice(0, -1)) {
        const next = await openOrNotFound(`/proc/self/fd/${dir.fd}/${name}`, DIR_FLAGS);
        await dir.close();
        dir = next;
      }
      const file = await openOrNotFound(`/proc/self/fd/${dir.fd}/${names[names.length - 1]}`, FILE_FLAGS);
      try {
        const st = await file.stat({ bigint: true });
        if (!st.isFile()) throw notFound();
        if (st.size > BigInt(this.maxBytes)) {
          throw new AppError('NOTEBOOK_TOO_LARGE', `It has ${formatBytes(Number(st.size))}; the limit is ${formatBytes(this.maxBytes)}.`, {
            sizeBytes: Number(st.size), maxBytes: this.maxBytes,
          });
        }
        const identity = { dev: String(st.dev), ino: String(st.ino), size: String(st.size), mtimeNs: String(st.mtimeNs) };
        return { handle: file, identity, size: Number(st.size) };
      } catch (err) {
        await file.close();
        throw err;
      }
    } finally {
      await dir.close();
    }
  }

  /** The identity of a notebook file (opened and closed again). Throws as {@link open}. */
  async identify(owner: string, relPath: string): Promise<FileIdentity> {
    const { handle, identity } = await this.open(owner, relPath);
    await handle.close();
    return identity;
  }

  /**
   * The bytes of a notebook file, which must still be the version `expected` names.
   * @throws as {@link open}; `VIEWER_LINK_INVALID` if the file changed since.
   */
  async read(owner: string, relPath: string, expected: FileIdentity): Promise<Buffer> {
    const { handle, identity, size } = await this.open(owner, relPath);
    try {
      if (!sameFile(identity, expected)) {
        throw new AppError('VIEWER_LINK_INVALID', 'The notebook changed since the page was opened: reload the page to see the new version.');
      }
      // Writers replace notebooks by rename, so this inode keeps the size it had.
      const buf = Buffer.allocUnsafe(size);
      let at = 0;
      while (at < size) {
        const { bytesRead } = await handle.read(buf, at, size - at, at);
        if (bytesRead === 0) break;
        at += bytesRead;
      }
      return at === size ? buf : buf.subarray(0, at);
    } finally {
      await handle.close();
    }
  }
}

/** Whether two identities name the same version of the same file. */
export function sameFile(a: FileIdentity, b: FileIdentity): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs;
}

async function openOrNotFound(file: string, flags: number): Promise<FileHandle> {
  try {
    return await open(file, flags);
  } catch (err) {
    // ENOENT, ELOOP (a symlink), ENOTDIR, EACCES, ENXIO (a socket)…: all "not there" for a reader.
    if ((err as NodeJS.ErrnoException).code) throw notFound();
    throw err;
  }
}

function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${Math.ceil(n / 1024)} KiB`;
}

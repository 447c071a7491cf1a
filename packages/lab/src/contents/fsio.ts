/**
 * Durable file writes for user files: never a half-written file. Data goes to a hidden
 * temp file in the target's directory (same filesystem), is fsynced, then renamed over
 * the target (or hard-linked to a new name when the name must not already exist), and
 * the directory is fsynced. On any failure the temp file is removed and the target is
 * untouched.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, copyFile, link, open, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { JupyterError } from '../http/errors.js';

/** Prefix of our temp files: hidden, so never listed. */
export const TEMP_PREFIX = '.~eucp-';

/** A fresh temp-file path next to `target`. */
export function tempPathFor(target: string, kind = 'tmp'): string {
  return path.join(path.dirname(target), `${TEMP_PREFIX}${randomBytes(6).toString('hex')}.${kind}`);
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes `data` to a new temp file (mode applied exactly when given) and fsyncs it. */
async function writeTemp(tmp: string, data: Uint8Array | string, mode: number | undefined): Promise<void> {
  const fh = await open(tmp, 'wx', mode ?? 0o666);
  try {
    await fh.writeFile(data);
    if (mode !== undefined) await fh.chmod(mode);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function removeQuietly(p: string): Promise<void> {
  await unlink(p).catch(() => undefined);
}

/**
 * Replaces (or creates) `target` atomically with `data`, keeping an existing file's
 * permission bits. `target` must be a real path (not a symlink) in an existing directory.
 * @throws the fs error (the target is unchanged and no temp file remains); `EACCES` when
 *   the existing file is not writable by this process.
 */
export async function writeFileAtomic(target: string, data: Uint8Array | string): Promise<void> {
  const mode = await stat(target).then(
    (s) => s.mode & 0o7777,
    () => undefined,
  );
  // A rename would replace a read-only file too; honour the file's own permission instead.
  if (mode !== undefined) await access(target, constants.W_OK);
  const tmp = tempPathFor(target);
  try {
    await writeTemp(tmp, data, mode);
    await rename(tmp, target);
  } catch (err) {
    await removeQuietly(tmp);
    throw err;
  }
  await fsyncDir(path.dirname(target));
}

/**
 * Creates `target` with `data` only if no entry of that name exists (hard link of a
 * complete temp file: atomic and race-free).
 * @throws an fs error with code `EEXIST` when the name is taken.
 */
export async function createFileExclusive(target: string, data: Uint8Array | string): Promise<void> {
  const tmp = tempPathFor(target);
  try {
    await writeTemp(tmp, data, undefined);
    await link(tmp, target);
  } finally {
    await removeQuietly(tmp);
  }
  await fsyncDir(path.dirname(target));
}

/**
 * Creates `target` as a copy of the file `source` only if the name is free (copied to a
 * temp file, fsynced, then hard-linked; the data never passes through memory).
 * @throws an fs error with code `EEXIST` when the name is taken.
 */
export async function copyFileExclusive(source: string, target: string): Promise<void> {
  const tmp = tempPathFor(target);
  try {
    await copyFile(source, tmp, constants.COPYFILE_EXCL);
    const fh = await open(tmp, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await link(tmp, target);
  } finally {
    await removeQuietly(tmp);
  }
  await fsyncDir(path.dirname(target));
}

/**
 * Moves a complete, fsynced temp file over `target` atomically, giving it the mode of
 * the file it replaces.
 */
export async function commitTemp(tmp: string, target: string): Promise<void> {
  const mode = await stat(target).then(
    (s) => s.mode & 0o7777,
    () => undefined,
  );
  const fh = await open(tmp, 'r+');
  try {
    if (mode !== undefined) await fh.chmod(mode);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, target);
  await fsyncDir(path.dirname(target));
}

/**
 * One async mutex per key: `run(key, fn)` runs `fn` after every earlier `run` of the same
 * key has settled. Keys are absolute real paths.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(fn, fn);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    try {
      return await result;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Runs `fn` holding the locks of all `keys` (taken in sorted order, so no deadlock). */
  async runAll<T>(keys: string[], fn: () => Promise<T>): Promise<T> {
    const sorted = [...new Set(keys)].sort();
    const step = (i: number): Promise<T> => (i === sorted.length ? fn() : this.run(sorted[i]!, () => step(i + 1)));
    return step(0);
  }
}

/**
 * Turns an fs error into the answer the user sees; unknown errors are rethrown (500).
 * `apiPath` names the file in the message.
 */
export function fsError(err: unknown, apiPath: string): unknown {
  if (err instanceof JupyterError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return new JupyterError(404, `No such file or directory: ${apiPath}`);
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new JupyterError(403, `Permission denied: ${apiPath}`);
    case 'ENOSPC':
    case 'EDQUOT':
      return new JupyterError(507, `Not enough disk space or quota left to write ${apiPath}; nothing was changed.`);
    case 'EFBIG':
      return new JupyterError(507, `${apiPath} is larger than this server may write; nothing was changed.`);
    case 'ENAMETOOLONG':
      return new JupyterError(400, `Name too long: ${apiPath}`);
    case 'EISDIR':
      return new JupyterError(400, `${apiPath} is a directory`);
    default:
      return err;
  }
}

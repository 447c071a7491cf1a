/**
 * Validation of what an owner asks to share (issue 5 §6): a path relative to one of their
 * own areas, walked component by component with lstat so no symbolic link is followed.
 */
import { lstat, stat } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '@eucp/core';
import type { FileIdentity } from './mounts.js';

/** A validated share target. */
export interface ResolvedPath {
  /** Normalised relative path (`a/b/c`). */
  rel: string;
  kind: 'file' | 'folder';
  /** Absolute host path. */
  abs: string;
  id: FileIdentity;
  /** The containing directory and its identity (for file shares). */
  parent: { abs: string; id: FileIdentity };
}

const MAX_PATH = 4096;

/**
 * Checks the form of a relative path; throws `SHARE_PATH_INVALID` naming the problem
 * (empty, too long, NUL byte, absolute, `..`/`.` or empty segments). Returns it without
 * leading `./` or a trailing `/`.
 */
export function checkRelativePath(raw: string): string {
  if (raw.includes('\0')) throw new AppError('SHARE_PATH_INVALID', 'The path contains a NUL byte.');
  if (raw.length > MAX_PATH) throw new AppError('SHARE_PATH_INVALID', `The path is longer than ${MAX_PATH} characters.`);
  if (raw.startsWith('/')) throw new AppError('SHARE_PATH_INVALID', 'Give the path relative to your area (without a leading "/").');
  const trimmed = raw.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
  if (trimmed === '' || trimmed === '.') throw new AppError('SHARE_PATH_INVALID', 'Give a file or folder inside your area, not the area itself.');
  const segs = trimmed.split('/');
  if (segs.includes('..')) throw new AppError('SHARE_PATH_INVALID', 'The path must not contain "..".');
  if (segs.some((s) => s === '' || s === '.')) throw new AppError('SHARE_PATH_INVALID', 'The path has empty or "." segments.');
  return segs.join('/');
}

/**
 * Resolves `rel` below `root` (the owner's area) without following any symbolic link:
 * each component is lstat'ed; a symbolic link anywhere (the target itself included) is
 * `SHARE_PATH_INVALID`; a missing component is `NOT_FOUND`; the target must be a regular
 * file or a directory.
 */
export async function resolveSharePath(root: string, raw: string): Promise<ResolvedPath> {
  const rel = checkRelativePath(raw);
  const rootStat = await stat(root).catch(() => null);
  if (!rootStat?.isDirectory()) throw new AppError('NOT_FOUND', `No such file or folder: ${rel}.`);
  let cur = root;
  let parent = { abs: root, id: { dev: rootStat.dev, ino: rootStat.ino } };
  const segs = rel.split('/');
  for (const [i, seg] of segs.entries()) {
    const next = path.join(cur, seg);
    const st = await lstat(next).catch(() => null);
    if (!st) throw new AppError('NOT_FOUND', `No such file or folder: ${rel}.`);
    const shown = segs.slice(0, i + 1).join('/');
    if (st.isSymbolicLink()) {
      throw new AppError('SHARE_PATH_INVALID', i === segs.length - 1
        ? `${shown} is a symbolic link; share the file or folder it points to instead.`
        : `${shown} is a symbolic link; paths through symbolic links cannot be shared.`);
    }
    if (i === segs.length - 1) {
      if (!st.isFile() && !st.isDirectory()) throw new AppError('SHARE_PATH_INVALID', `${rel} is neither a regular file nor a folder.`);
      return { rel, kind: st.isDirectory() ? 'folder' : 'file', abs: next, id: { dev: st.dev, ino: st.ino }, parent };
    }
    if (!st.isDirectory()) throw new AppError('NOT_FOUND', `No such file or folder: ${rel}.`);
    parent = { abs: next, id: { dev: st.dev, ino: st.ino } };
    cur = next;
  }
  throw new AppError('SHARE_PATH_INVALID', 'Empty path.');
}

/**
 * Checks a share's name as recipients see it (`/shared/<owner>/<name>`): 1-255
 * characters, no `/`, NUL or control characters, not starting with `.`. Throws
 * `INVALID_INPUT`.
 */
export function checkShareName(name: string): string {
  // eslint-disable-next-line no-control-regex
  if (!name || name.length > 255 || /[/\u0000-\u001f\u007f]/.test(name) || name.startsWith('.')) {
    throw new AppError('INVALID_INPUT', `The share name ${JSON.stringify(name)} is not allowed: 1-255 characters, no "/", not starting with ".".`);
  }
  return name;
}

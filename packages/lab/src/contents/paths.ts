/**
 * API paths (`a/b/c.ipynb`, '' = root) → absolute paths inside the served root.
 *
 * Rules: an API path is `/`-separated and relative; a leading `/`, a NUL byte, or a `.`
 * or `..` segment is refused. Every segment that is a symbolic link is followed only
 * while its real path stays inside the root; a link that leaves the root, and a link
 * whose target is missing, make the path *not exist* for the API (404), whether or not
 * the outside target exists, so nothing about the outside leaks. A path that does not
 * exist yet is anchored at the real path of its deepest existing ancestor, so a new file
 * can never be created through a link that escapes.
 */
import { lstat, realpath } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { JupyterError } from '../http/errors.js';

/** What an API path names on disk. */
export interface ResolvedPath {
  /** The normalised API path. */
  apiPath: string;
  /**
   * Absolute path whose parent is fully resolved and whose last segment is as given:
   * the entry itself (rename and delete act on it, not on a link's target).
   */
  path: string;
  /** Real path of the entry, or null when it does not exist. Content is read and written here. */
  real: string | null;
  /** Real path of the parent directory, or null when the parent does not exist either. */
  parent: string | null;
}

/** The 404 every refused or missing path gets: the same words for both, by design. */
export function noSuchPath(apiPath: string): JupyterError {
  return new JupyterError(404, `No such file or directory: ${apiPath}`);
}

/**
 * Validates and normalises an API path: trailing slashes and empty segments (`a//b`) are
 * dropped. Throws a 404 {@link JupyterError} for a leading `/`, NUL bytes, `.` or `..`
 * segments, or a non-string.
 */
export function normalizeApiPath(apiPath: unknown): string {
  if (typeof apiPath !== 'string') throw noSuchPath(String(apiPath));
  if (apiPath.startsWith('/') || apiPath.includes('\0')) throw noSuchPath(apiPath.replace(/\0/g, '\\0'));
  const segments = apiPath.split('/').filter((s) => s !== '');
  if (segments.some((s) => s === '.' || s === '..')) throw noSuchPath(apiPath);
  return segments.join('/');
}

/** True when any segment of the (normalised) API path starts with a dot. */
export function isHiddenApiPath(apiPath: string): boolean {
  return apiPath.split('/').some((s) => s.startsWith('.'));
}

/** Last segment of an API path ('' for the root). */
export function apiBasename(apiPath: string): string {
  return apiPath.slice(apiPath.lastIndexOf('/') + 1);
}

/** Parent of an API path ('' for top-level entries and for the root). */
export function apiDirname(apiPath: string): string {
  const i = apiPath.lastIndexOf('/');
  return i < 0 ? '' : apiPath.slice(0, i);
}

/** Joins API path parts, skipping empty ones. */
export function apiJoin(...parts: string[]): string {
  return parts.filter((p) => p !== '').join('/');
}

/** True when `p` is `root` or below it (both absolute and real). */
export function isInside(root: string, p: string): boolean {
  if (p === root) return true;
  return p.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

/** Resolves API paths inside one root directory (see the module comment for the rules). */
export class PathResolver {
  /** Real path of the root. */
  readonly root: string;

  /** @throws if `root` does not exist (read once, at construction). */
  constructor(root: string) {
    this.root = realpathSync(root);
  }

  /**
   * Resolves `apiPath`; a missing entry is not an error (`real: null`), but an entry the
   * API must not see (outside link, dangling link, a file used as a directory) is.
   * @throws JupyterError 404 for refused paths.
   */
  async resolve(apiPath: string): Promise<ResolvedPath> {
    const normalized = normalizeApiPath(apiPath);
    const segments = normalized === '' ? [] : normalized.split('/');
    let current = this.root;
    for (let i = 0; i < segments.length; i++) {
      const candidate = path.join(current, segments[i]!);
      const last = i === segments.length - 1;
      let st;
      try {
        st = await lstat(candidate);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') {
          // The rest does not exist: only the last segment may be missing for a parent to exist.
          return { apiPath: normalized, path: path.join(current, ...segments.slice(i)), real: null, parent: last ? current : null };
        }
        if (code === 'ENOTDIR') throw noSuchPath(normalized);
        throw err;
      }
      let real = candidate;
      if (st.isSymbolicLink()) {
        try {
          real = await realpath(candidate);
        } catch {
          throw noSuchPath(normalized);
        }
        if (!isInside(this.root, real)) throw noSuchPath(normalized);
      }
      if (last) return { apiPath: normalized, path: candidate, real, parent: current };
      current = real;
    }
    return { apiPath: '', path: this.root, real: this.root, parent: null };
  }

  /** API path of an absolute real path inside the root (for messages and models). */
  toApiPath(abs: string): string {
    return path.relative(this.root, abs).split(path.sep).join('/');
  }
}

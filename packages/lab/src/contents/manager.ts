/**
 * {@link ContentsManager} over a directory tree (jupyter-server-api.md §a), the way
 * jupyter_server's `FileContentsManager` behaves with `allow_hidden=False`,
 * `delete_to_trash=False` and `always_delete_dir=True`.
 *
 * Hidden entries (a segment starting with `.`) are invisible unless `allowHidden`: GET,
 * `files/` and checkpoints answer 404, listings omit them, and PUT, POST, PATCH and
 * DELETE refuse them with 400 (as jupyter_server does).
 *
 * Every write is atomic (see `fsio.ts`); writes of one file (save, upload chunk,
 * checkpoint restore, rename, delete, {@link FileContentsManager.updateNotebook}) are
 * serialised by a per-path async lock.
 */
import { createHash } from 'node:crypto';
import { lstat, mkdir, readFile, readdir, realpath, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { newNotebook } from '@eucp/core';
import { JupyterError } from '../http/errors.js';
import type { Checkpoint, ContentType, ContentsManager, ContentsModel, GetOptions, Notebook, SaveInput } from './types.js';
import { apiBasename, apiDirname, apiJoin, isHiddenApiPath, isInside, noSuchPath, normalizeApiPath, PathResolver, type ResolvedPath } from './paths.js';
import { copyFileExclusive, createFileExclusive, fsError, KeyedLock, TEMP_PREFIX, writeFileAtomic } from './fsio.js';
import { base64Mime, baseModel, decodeBase64, decodeUtf8, guessMimetype, isoMicros } from './model.js';
import { notebookFromBytes, notebookToBytes } from './notebook-io.js';
import { FileCheckpoints } from './checkpoints.js';
import { copyBaseName, nameCandidates, untitledName } from './names.js';
import { ChunkedUploads } from './uploads.js';

export interface FileContentsOptions {
  /** Directory served as the API root; must exist. */
  root: string;
  /** Show and allow names starting with `.` (jupyter_server's `allow_hidden`). Default false. */
  allowHidden?: boolean;
  log?: Logger;
}

type Existing = ResolvedPath & { real: string };

const noSuchDirectory = (apiPath: string): JupyterError => new JupyterError(404, `No such directory: ${apiPath}`);
const hiddenRefused = (apiPath: string): JupyterError =>
  new JupyterError(400, `Cannot create, change or delete ${apiPath}: hidden files and directories are not allowed`);

/** The contents of one directory tree, served as the Jupyter contents API. */
export class FileContentsManager implements ContentsManager {
  readonly root: string;
  readonly allowHidden: boolean;
  private readonly resolver: PathResolver;
  private readonly locks = new KeyedLock();
  private readonly checkpoints: FileCheckpoints;
  private readonly uploads = new ChunkedUploads();
  private readonly log: Logger | undefined;

  /** @throws if `opts.root` does not exist. */
  constructor(opts: FileContentsOptions) {
    this.resolver = new PathResolver(opts.root);
    this.root = this.resolver.root;
    this.allowHidden = opts.allowHidden ?? false;
    this.checkpoints = new FileCheckpoints(this.resolver);
    this.log = opts.log;
  }

  async resolve(apiPath: string, opts: { mustExist?: boolean } = {}): Promise<string> {
    const r = await this.resolver.resolve(apiPath);
    if (r.real !== null) return r.real;
    if (opts.mustExist) throw noSuchPath(r.apiPath);
    return r.path;
  }

  /** Normalises `apiPath`; a hidden path gets `hiddenError` (404 when reading, 400 when writing). */
  private checked(apiPath: string, hiddenError: (p: string) => JupyterError): string {
    const p = normalizeApiPath(apiPath);
    if (!this.allowHidden && isHiddenApiPath(p)) throw hiddenError(p);
    return p;
  }

  private async existing(p: string): Promise<Existing> {
    const r = await this.resolver.resolve(p);
    if (r.real === null) throw noSuchPath(p);
    return r as Existing;
  }

  /** Runs `fn` under the lock of the file `p` names (by real path), re-resolving inside it. */
  private async locked<T>(p: string, fn: (r: ResolvedPath) => Promise<T>): Promise<T> {
    return mapFsErrors(p, async () => {
      const first = await this.resolver.resolve(p);
      return this.locks.run(first.real ?? first.path, async () => fn(await this.resolver.resolve(p)));
    });
  }

  async get(apiPath: string, opts: GetOptions = {}): Promise<ContentsModel> {
    const p = this.checked(apiPath, noSuchPath);
    try {
      const r = await this.existing(p);
      const st = await stat(r.real, { bigint: true });
      const withContent = opts.content !== false;
      if (st.isDirectory()) {
        if (opts.type && opts.type !== 'directory') {
          throw new JupyterError(400, `${p || 'The root'} is a directory, not a ${opts.type}`, 'bad type');
        }
        return await this.directoryModel(p, r.real, st, withContent);
      }
      if (opts.type === 'directory') throw new JupyterError(400, `${p} is not a directory`, 'bad type');
      if (!st.isFile()) throw new JupyterError(400, `${p} is not a regular file`, 'bad type');
      const type = opts.type === 'notebook' || (opts.type !== 'file' && p.endsWith('.ipynb')) ? 'notebook' : 'file';
      const model = await baseModel(p, type, r.real, st);
      if (!withContent && !opts.hash) return model;
      const bytes = await readFile(r.real);
      if (opts.hash) {
        model.hash = createHash('sha256').update(bytes).digest('hex');
        model.hash_algorithm = 'sha256';
      }
      if (!withContent) return model;
      model.size = bytes.byteLength;
      if (type === 'notebook') {
        model.content = notebookFromBytes(p, bytes);
        model.format = 'json';
        return model;
      }
      const text = opts.format === 'base64' ? null : decodeUtf8(bytes);
      if (text === null && opts.format === 'text') {
        throw new JupyterError(400, `${p} is not UTF-8 encoded; open it as binary (format=base64)`, 'bad format');
      }
      if (text !== null) {
        Object.assign(model, { content: text, format: 'text', mimetype: model.mimetype ?? 'text/plain' });
      } else {
        Object.assign(model, { content: base64Mime(bytes), format: 'base64', mimetype: model.mimetype ?? 'application/octet-stream' });
      }
      return model;
    } catch (err) {
      throw fsError(err, p);
    }
  }

  private async directoryModel(p: string, real: string, st: Parameters<typeof baseModel>[3], withContent: boolean): Promise<ContentsModel> {
    const model = await baseModel(p, 'directory', real, st);
    if (!withContent) return model;
    const entries = await readdir(real, { withFileTypes: true });
    const children = await Promise.all(
      entries.map(async (entry): Promise<ContentsModel | null> => {
        if (entry.name.startsWith(TEMP_PREFIX) || (!this.allowHidden && entry.name.startsWith('.'))) return null;
        let target = path.join(real, entry.name);
        try {
          if (entry.isSymbolicLink()) {
            target = await realpath(target);
            if (!isInside(this.root, target)) return null;
          }
          const cst = await stat(target, { bigint: true });
          const child = apiJoin(p, entry.name);
          if (cst.isDirectory()) return await baseModel(child, 'directory', target, cst);
          if (cst.isFile()) return await baseModel(child, entry.name.endsWith('.ipynb') ? 'notebook' : 'file', target, cst);
        } catch {
          // Vanished or broken entries are simply not listed.
        }
        return null;
      }),
    );
    model.content = children.filter((c): c is ContentsModel => c !== null).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    model.format = 'json';
    return model;
  }

  async save(apiPath: string, input: SaveInput): Promise<ContentsModel> {
    const p = this.checked(apiPath, hiddenRefused);
    if (input.chunk !== undefined) return this.saveChunk(p, input);
    await this.locked(p, async (r) => {
      if (p === '' && input.type !== 'directory') throw new JupyterError(400, 'The root is a directory');
      if (r.real === null && r.parent === null) throw noSuchDirectory(apiDirname(p));
      const st = r.real === null ? null : await stat(r.real);
      if (input.type === 'directory') {
        if (st && !st.isDirectory()) throw new JupyterError(400, `${p} exists and is not a directory`);
        if (!st) await mkdir(r.path);
        return;
      }
      if (st?.isDirectory()) throw new JupyterError(400, `${p} is a directory`);
      // `content: null` counts as absent: it must never turn into an empty notebook over a file.
      const content = input.content ?? undefined;
      if (content === undefined && st) throw new JupyterError(400, 'No file content provided');
      const target = r.real ?? r.path;
      if (input.type === 'notebook') {
        await writeFileAtomic(target, notebookToBytes(p, content ?? newNotebook()));
        // One checkpoint always exists for a notebook, as in jupyter_server.
        if ((await this.checkpoints.list(p)).length === 0) await this.checkpoints.create(p, target);
        return;
      }
      await writeFileAtomic(target, content === undefined ? '' : fileBytes(p, input.format, content));
    });
    return this.get(p, { content: false });
  }

  private async saveChunk(p: string, input: SaveInput): Promise<ContentsModel> {
    if (input.type !== 'file') throw new JupyterError(400, 'Chunked uploads are only possible for files (type "file")');
    const chunk = input.chunk as number;
    const result = await this.locked(p, async (r) => {
      if (r.real === null && r.parent === null) throw noSuchDirectory(apiDirname(p));
      if (r.real !== null && (await stat(r.real)).isDirectory()) throw new JupyterError(400, `${p} is a directory`);
      const bytes = input.content === undefined ? Buffer.alloc(0) : fileBytes(p, input.format, input.content);
      return this.uploads.write(r.real ?? r.path, p, chunk, bytes);
    });
    if (result.done) return this.get(p, { content: false });
    const now = isoMicros(BigInt(Date.now()) * 1_000_000n);
    return {
      name: apiBasename(p), path: p, type: 'file', writable: true, created: now, last_modified: now,
      size: result.size, mimetype: guessMimetype(p), content: null, format: null, hash: null, hash_algorithm: null,
    };
  }

  async newUntitled(dirPath: string, opts: { type: ContentType; ext?: string }): Promise<ContentsModel> {
    return mapFsErrors(dirPath, () => this.createUntitled(dirPath, opts));
  }

  private async createUntitled(dirPath: string, opts: { type: ContentType; ext?: string }): Promise<ContentsModel> {
    const dir = await this.directoryFor(this.checked(dirPath, noSuchDirectory));
    const ext = opts.ext ?? '';
    if (/[/\0]/.test(ext)) throw new JupyterError(400, `Invalid extension ${JSON.stringify(ext)}`);
    const type: ContentType = ext === '.ipynb' ? 'notebook' : opts.type;
    const { name, insert } = untitledName(type, ext);
    const bytes = type === 'notebook' ? notebookToBytes(name, newNotebook()) : Buffer.alloc(0);
    for (const candidate of nameCandidates(name, insert)) {
      const child = apiJoin(dir.apiPath, candidate);
      try {
        const target = path.join(dir.real, candidate);
        if (type === 'directory') await mkdir(target);
        else await createFileExclusive(target, bytes);
        if (type === 'notebook') await this.checkpoints.create(child, target);
        return await this.get(child, { content: false });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw fsError(err, child);
      }
    }
    throw new Error('unreachable');
  }

  /** The existing directory `p`, for POST: a file answers 400, a missing path 404. */
  private async directoryFor(p: string): Promise<Existing> {
    const r = await this.resolver.resolve(p);
    if (r.real === null) throw noSuchDirectory(p);
    if (!(await stat(r.real)).isDirectory()) throw new JupyterError(400, 'Cannot POST to files, use PUT instead.');
    return r as Existing;
  }

  async copy(fromPath: string, toDir: string): Promise<ContentsModel> {
    return mapFsErrors(fromPath, () => this.copyInto(fromPath, toDir));
  }

  private async copyInto(fromPath: string, toDir: string): Promise<ContentsModel> {
    const from = this.checked(fromPath, noSuchPath);
    const source = await this.existing(from);
    const st = await stat(source.real);
    if (st.isDirectory()) throw new JupyterError(400, `Cannot copy ${from}: copying directories is not supported`);
    if (!st.isFile()) throw new JupyterError(400, `${from} is not a regular file`);
    const dir = await this.directoryFor(this.checked(toDir, noSuchDirectory));
    for (const candidate of nameCandidates(copyBaseName(apiBasename(from)), '-Copy')) {
      const child = apiJoin(dir.apiPath, candidate);
      try {
        const target = path.join(dir.real, candidate);
        await copyFileExclusive(source.real, target);
        if (candidate.endsWith('.ipynb')) await this.checkpoints.create(child, target);
        return await this.get(child, { content: false });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw fsError(err, child);
      }
    }
    throw new Error('unreachable');
  }

  async rename(oldPath: string, newPath: string): Promise<ContentsModel> {
    return mapFsErrors(oldPath, () => this.move(oldPath, newPath));
  }

  private async move(oldPath: string, newPath: string): Promise<ContentsModel> {
    const from = this.checked(oldPath, hiddenRefused);
    const to = this.checked(newPath, hiddenRefused);
    if (from === '' || to === '') throw new JupyterError(400, 'Cannot rename the root directory');
    const source = await this.existing(from);
    if (from === to) return this.get(to, { content: false });
    // Resolving the target refuses a name that is a link leaving the root (404), like any path.
    const dest = await this.resolver.resolve(to);
    if (dest.parent === null) throw noSuchDirectory(apiDirname(to));
    const target = dest.path;
    await this.locks.runAll([source.real, target], async () => {
      try {
        const moved = await this.existing(from);
        const [a, b] = await Promise.all([lstat(moved.path), lstat(target).catch(() => null)]);
        if (b && !(a.ino === b.ino && a.dev === b.dev)) throw new JupyterError(409, `File already exists: ${to}`);
        await rename(moved.path, target);
        if (!a.isDirectory()) {
          await this.checkpoints.move(from, to).catch((err) => this.log?.warn({ err, from, to }, 'checkpoint not moved'));
        }
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EINVAL') throw new JupyterError(400, `Cannot move ${from} into itself`);
        if (code === 'EXDEV') throw new JupyterError(400, `Cannot move ${from} to ${to}: they are on different filesystems`);
        throw fsError(err, from);
      }
    });
    return this.get(to, { content: false });
  }

  async delete(apiPath: string): Promise<void> {
    const p = this.checked(apiPath, hiddenRefused);
    if (p === '') throw new JupyterError(400, 'Cannot delete the root directory');
    await this.locked(p, async (r) => {
      if (r.real === null) throw noSuchPath(p);
      const isDir = (await lstat(r.path)).isDirectory();
      await rm(r.path, { recursive: true });
      if (!isDir) await this.checkpoints.deleteAll(p);
    });
  }

  /** The existing regular file `p` (checkpoints and notebook updates need one). */
  private async fileFor(p: string, r: ResolvedPath): Promise<string> {
    if (r.real === null) throw noSuchPath(p);
    if (!(await stat(r.real)).isFile()) throw new JupyterError(400, `${p} is not a file`);
    return r.real;
  }

  async listCheckpoints(apiPath: string): Promise<Checkpoint[]> {
    const p = this.checked(apiPath, noSuchPath);
    return mapFsErrors(p, async () => {
      await this.existing(p);
      return this.checkpoints.list(p);
    });
  }

  async createCheckpoint(apiPath: string): Promise<Checkpoint> {
    const p = this.checked(apiPath, noSuchPath);
    return this.locked(p, async (r) => this.checkpoints.create(p, await this.fileFor(p, r)));
  }

  async restoreCheckpoint(apiPath: string, id: string): Promise<void> {
    const p = this.checked(apiPath, noSuchPath);
    await this.locked(p, async (r) => this.checkpoints.restore(p, id, await this.fileFor(p, r)));
  }

  async deleteCheckpoint(apiPath: string, id: string): Promise<void> {
    const p = this.checked(apiPath, noSuchPath);
    await this.locked(p, async () => this.checkpoints.delete(p, id));
  }

  async updateNotebook(apiPath: string, mutate: (nb: Notebook) => void): Promise<void> {
    const p = normalizeApiPath(apiPath);
    await this.locked(p, async (r) => {
      const file = await this.fileFor(p, r);
      const nb = notebookFromBytes(p, await readFile(file));
      mutate(nb);
      await writeFileAtomic(file, notebookToBytes(p, nb));
    });
  }
}

/** Runs `fn`, turning fs errors into the answers users see (see {@link fsError}). */
async function mapFsErrors<T>(apiPath: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw fsError(err, apiPath);
  }
}

/** The bytes of a file save: `content` must be a string in `format` `text` or `base64`. */
function fileBytes(p: string, format: string | undefined, content: unknown): Buffer {
  if (format !== 'text' && format !== 'base64') {
    throw new JupyterError(400, "Must specify format of file contents as 'text' or 'base64'");
  }
  if (typeof content !== 'string') throw new JupyterError(400, `The content of ${p} must be a string`);
  if (format === 'text') return Buffer.from(content, 'utf8');
  const bytes = decodeBase64(content);
  if (!bytes) throw new JupyterError(400, `The content of ${p} is not valid base64`);
  return bytes;
}

/**
 * Checkpoints as jupyter_server's `FileCheckpoints` keeps them (jupyter-server-api.md
 * §a.7): one per file, id `checkpoint`, stored next to the file as
 * `<dir>/.ipynb_checkpoints/<stem>-checkpoint<ext>`, so a user switching between this
 * server and Jupyter's sees the same checkpoints. Checkpoint paths go through the same
 * {@link PathResolver} as everything else, so a `.ipynb_checkpoints` link that leaves
 * the root is refused.
 */
import { mkdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import type { Checkpoint } from './types.js';
import { JupyterError } from '../http/errors.js';
import { apiBasename, apiDirname, apiJoin, type PathResolver } from './paths.js';
import { writeFileAtomic } from './fsio.js';
import { isoMicros } from './model.js';

export const CHECKPOINT_ID = 'checkpoint';
export const CHECKPOINT_DIR = '.ipynb_checkpoints';

/** Python's `os.path.splitext` of a base name: leading dots never start the extension. */
export function splitext(name: string): [string, string] {
  const dot = name.lastIndexOf('.');
  if (dot <= 0 || /^\.+$/.test(name.slice(0, dot + 1))) return [name, ''];
  return [name.slice(0, dot), name.slice(dot)];
}

/** API path of the checkpoint of the file at `apiPath`. */
export function checkpointApiPath(apiPath: string): string {
  const [stem, ext] = splitext(apiBasename(apiPath));
  return apiJoin(apiDirname(apiPath), CHECKPOINT_DIR, `${stem}-${CHECKPOINT_ID}${ext}`);
}

const unknownCheckpoint = (apiPath: string, id: string): JupyterError =>
  new JupyterError(404, `Checkpoint does not exist: ${apiPath}@${id}`);

/** The checkpoints of the files under one root. Callers hold the file's lock. */
export class FileCheckpoints {
  constructor(private readonly resolver: PathResolver) {}

  private async located(apiPath: string): Promise<{ target: string; exists: boolean; dir: string; dirExists: boolean }> {
    const ck = await this.resolver.resolve(checkpointApiPath(apiPath));
    const dir = await this.resolver.resolve(apiDirname(ck.apiPath));
    return { target: ck.real ?? ck.path, exists: ck.real !== null, dir: dir.real ?? dir.path, dirExists: dir.real !== null };
  }

  /** `[]` or the one checkpoint. */
  async list(apiPath: string): Promise<Checkpoint[]> {
    const { target, exists } = await this.located(apiPath);
    if (!exists) return [];
    const st = await stat(target, { bigint: true });
    return [{ id: CHECKPOINT_ID, last_modified: isoMicros(st.mtimeNs) }];
  }

  /** Copies the file at `fileReal` into its checkpoint (replacing an older one). */
  async create(apiPath: string, fileReal: string): Promise<Checkpoint> {
    const { target, dir, dirExists } = await this.located(apiPath);
    if (!dirExists) await mkdir(dir, { recursive: true });
    await writeFileAtomic(target, await readFile(fileReal));
    const st = await stat(target, { bigint: true });
    return { id: CHECKPOINT_ID, last_modified: isoMicros(st.mtimeNs) };
  }

  /** Writes the checkpoint's bytes back over the file at `fileReal` (atomically). */
  async restore(apiPath: string, id: string, fileReal: string): Promise<void> {
    const { target, exists } = await this.located(apiPath);
    if (id !== CHECKPOINT_ID || !exists) throw unknownCheckpoint(apiPath, id);
    await writeFileAtomic(fileReal, await readFile(target));
  }

  /** @throws JupyterError 404 when there is no such checkpoint. */
  async delete(apiPath: string, id: string): Promise<void> {
    const { target, exists } = await this.located(apiPath);
    if (id !== CHECKPOINT_ID || !exists) throw unknownCheckpoint(apiPath, id);
    await unlink(target);
  }

  /** Removes the checkpoint of a deleted file, if any. */
  async deleteAll(apiPath: string): Promise<void> {
    const { target, exists } = await this.located(apiPath).catch(() => ({ target: '', exists: false }));
    if (exists) await unlink(target).catch(() => undefined);
  }

  /** Moves the checkpoint along with a renamed file; a missing checkpoint is fine. */
  async move(oldApiPath: string, newApiPath: string): Promise<void> {
    const from = await this.located(oldApiPath);
    if (!from.exists) return;
    const to = await this.located(newApiPath);
    if (!to.dirExists) await mkdir(to.dir, { recursive: true });
    await rename(from.target, to.target);
  }
}

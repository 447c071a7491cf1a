/**
 * Sessions (jupyter-server-api.md b.2) kept in `<stateDir>/sessions.json`, so that after
 * a lab-server restart they still point at the kernels the kernel manager re-adopted.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { ContentsManager } from '../contents/types.js';
import { JupyterError } from '../http/errors.js';
import { kernelCwd } from '../kernels/routes.js';
import type { Kernel, KernelManager } from '../kernels/types.js';
import type { SessionManager, SessionModel } from './types.js';

/** Which kernel a new session gets: an existing one by id, else a new one by spec name (default spec when omitted). */
export interface SessionKernelChoice {
  id?: string;
  name?: string;
}

/** Body of `POST api/sessions`, parsed. */
export interface SessionCreateInput {
  path: string;
  type: string;
  name?: string;
  kernel?: SessionKernelChoice;
}

/** Body of `PATCH api/sessions/{id}`, parsed: every field optional. */
export interface SessionPatch {
  path?: string;
  name?: string;
  type?: string;
  kernel?: SessionKernelChoice;
}

/**
 * The kernel of a session could not be had: `501` with jupyter_server's
 * `short_message` when the kernelspec is unknown, `500` when the kernel failed to start.
 */
export class SessionKernelError extends JupyterError {
  constructor(status: 500 | 501, message: string, readonly shortMessage: string) {
    super(status, message);
    this.name = 'SessionKernelError';
  }
}

/** The session seam plus the mutations the REST routes need. */
export interface SessionStore extends SessionManager {
  /**
   * Creates a session, or returns the existing one for `input.path` (`created: false`;
   * its kernel is replaced first if that kernel is gone or dead). Throws 400 for an
   * unknown `kernel.id`, {@link SessionKernelError} when no kernel can be started.
   */
  create(input: SessionCreateInput): Promise<{ session: SessionModel; created: boolean }>;
  /**
   * Changes path/name/type and/or the kernel (`kernel.id` attaches an existing kernel and
   * wins over `kernel.name`, which starts a new one). A replaced kernel is shut down
   * unless another session still uses it. Throws 404 for unknown ids.
   */
  update(id: string, patch: SessionPatch): Promise<SessionModel>;
  /**
   * Deletes the session and shuts its kernel down. Throws 404 for unknown ids and 410
   * when the kernel had disappeared already (the session is deleted anyway).
   */
  remove(id: string): Promise<void>;
}

/** Options of {@link FileSessionManager}. */
export interface FileSessionManagerOptions {
  /** Directory holding `sessions.json` (created when missing). */
  stateDir: string;
  kernels: KernelManager;
  log: Logger;
  /** Served root: kernels start in the directory of the session path inside it. Default `contents.root`. */
  rootDir?: string;
  /** Resolves kernel working directories (symlink-safe) when present. One of `rootDir`/`contents` is required. */
  contents?: Pick<ContentsManager, 'root' | 'resolve'>;
}

const recordSchema = z.object({
  id: z.string().min(1),
  path: z.string(),
  name: z.string(),
  type: z.string(),
  kernel_id: z.string().min(1),
});
type SessionRecord = z.infer<typeof recordSchema>;
const fileSchema = z.object({ version: z.literal(1), sessions: z.array(recordSchema) });

/** {@link SessionStore} persisted as JSON (atomic writes) in the lab server's state directory. */
export class FileSessionManager implements SessionStore {
  private readonly records = new Map<string, SessionRecord>();
  private readonly creating = new Map<string, Promise<{ session: SessionModel; created: boolean }>>();
  private writing: Promise<void> = Promise.resolve();
  private readonly file: string;
  private readonly log: Logger;
  private readonly rootDir: string;

  /** @throws Error when neither `rootDir` nor `contents` is given. */
  constructor(private readonly opts: FileSessionManagerOptions) {
    const rootDir = opts.rootDir ?? opts.contents?.root;
    if (!rootDir) throw new Error('FileSessionManager needs rootDir or contents');
    this.rootDir = rootDir;
    this.file = join(opts.stateDir, 'sessions.json');
    this.log = opts.log.child({ component: 'sessions' });
  }

  /**
   * Reads `sessions.json`, keeping only sessions whose kernel the kernel manager knows
   * (call it after the kernels were re-adopted). A missing or unreadable file means no
   * sessions (logged when unreadable).
   */
  async load(): Promise<void> {
    let raw: string;
    try {
      raw = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.log.warn({ err }, 'cannot read sessions file; starting without sessions');
      return;
    }
    let parsed: z.infer<typeof fileSchema>;
    try {
      parsed = fileSchema.parse(JSON.parse(raw));
    } catch (err) {
      this.log.warn({ file: this.file, err: String(err) }, 'sessions file is invalid; starting without sessions');
      return;
    }
    let dropped = 0;
    for (const rec of parsed.sessions) {
      if (this.opts.kernels.get(rec.kernel_id)) this.records.set(rec.id, rec);
      else dropped++;
    }
    this.log.info({ sessions: this.records.size, dropped }, 'sessions loaded');
    if (dropped) await this.persist();
  }

  list(): SessionModel[] {
    const out: SessionModel[] = [];
    for (const rec of [...this.records.values()]) {
      const model = this.model(rec);
      if (model) out.push(model);
    }
    return out;
  }

  get(id: string): SessionModel | undefined {
    const rec = this.records.get(id);
    return rec && this.model(rec);
  }

  forKernel(kernelId: string): SessionModel | undefined {
    for (const rec of this.records.values()) if (rec.kernel_id === kernelId) return this.model(rec);
    return undefined;
  }

  renamed(oldPath: string, newPath: string): void {
    let changed = false;
    for (const rec of this.records.values()) {
      if (rec.path === oldPath || rec.path.startsWith(`${oldPath}/`)) {
        rec.path = newPath + rec.path.slice(oldPath.length);
        if (rec.path === newPath) rec.name = basename(newPath);
        changed = true;
      }
    }
    if (changed) this.persistLater();
  }

  create(input: SessionCreateInput): Promise<{ session: SessionModel; created: boolean }> {
    // Two tabs opening one notebook at once must end up on one session.
    const pending = this.creating.get(input.path);
    if (pending) return pending.then((r) => ({ ...r, created: false }));
    const job = this.doCreate(input).finally(() => this.creating.delete(input.path));
    this.creating.set(input.path, job);
    return job;
  }

  private async doCreate(input: SessionCreateInput): Promise<{ session: SessionModel; created: boolean }> {
    const existing = [...this.records.values()].find((r) => r.path === input.path);
    if (existing) {
      const kernel = this.opts.kernels.get(existing.kernel_id);
      if (kernel && kernel.model().execution_state !== 'dead') return { session: this.model(existing)!, created: false };
      this.log.info({ session: existing.id, path: existing.path }, 'session kernel is gone; starting a new one');
      const before = existing.kernel_id;
      existing.kernel_id = (await this.kernelFor(input.kernel ?? { name: kernel?.name }, existing.path, existing.name)).id;
      await this.persist();
      if (kernel) await this.releaseKernel(before);
      return { session: this.model(existing)!, created: false };
    }
    const name = input.name ?? '';
    const kernel = await this.kernelFor(input.kernel, input.path, name);
    const rec: SessionRecord = { id: randomUUID(), path: input.path, name, type: input.type, kernel_id: kernel.id };
    this.records.set(rec.id, rec);
    await this.persist();
    this.log.info({ session: rec.id, path: rec.path, kernel: kernel.id }, 'session created');
    return { session: this.model(rec)!, created: true };
  }

  async update(id: string, patch: SessionPatch): Promise<SessionModel> {
    const rec = this.records.get(id);
    if (!rec) throw new JupyterError(404, `Session not found: ${id}`);
    const next = { ...rec, ...definedOnly({ path: patch.path, name: patch.name, type: patch.type }) };
    let kernel: Kernel | undefined;
    if (patch.kernel?.id !== undefined || patch.kernel?.name !== undefined) {
      kernel = await this.kernelFor(patch.kernel, next.path, next.name);
      next.kernel_id = kernel.id;
    }
    const before = rec.kernel_id;
    Object.assign(rec, next);
    await this.persist();
    if (before !== rec.kernel_id) await this.releaseKernel(before);
    return this.model(rec) ?? this.gone(rec);
  }

  async remove(id: string): Promise<void> {
    const rec = this.records.get(id);
    if (!rec) throw new JupyterError(404, `Session not found: ${id}`);
    this.records.delete(id);
    await this.persist();
    if (!this.opts.kernels.get(rec.kernel_id)) throw new JupyterError(410, 'Kernel deleted before session');
    await this.opts.kernels.shutdown(rec.kernel_id);
    this.log.info({ session: id, kernel: rec.kernel_id }, 'session deleted');
  }

  /** Waits until every pending write of `sessions.json` is done. */
  async flush(): Promise<void> {
    await this.writing;
  }

  /**
   * The REST model, or undefined when its kernel is gone or dead: such sessions are
   * forgotten (b.2), so JupyterLab starts a new one instead of attaching to a corpse.
   */
  private model(rec: SessionRecord): SessionModel | undefined {
    const kernel = this.opts.kernels.get(rec.kernel_id);
    const km = kernel?.model();
    if (!km || km.execution_state === 'dead') {
      this.log.info({ session: rec.id, kernel: rec.kernel_id }, 'dropping session whose kernel is gone');
      this.records.delete(rec.id);
      this.persistLater();
      if (kernel) {
        this.releaseKernel(rec.kernel_id).catch((err) => this.log.warn({ err, kernel: rec.kernel_id }, 'cannot clean up dead kernel'));
      }
      return undefined;
    }
    return { id: rec.id, path: rec.path, name: rec.name, type: rec.type, kernel: km };
  }

  private gone(rec: SessionRecord): never {
    throw new JupyterError(410, `The kernel of session ${rec.id} is gone`);
  }

  /** An existing kernel by id, or a new one started in the directory of `path`. */
  private async kernelFor(choice: SessionKernelChoice | undefined, path: string, name: string): Promise<Kernel> {
    if (choice?.id !== undefined) {
      const kernel = this.opts.kernels.get(choice.id);
      if (!kernel) throw new JupyterError(400, `No such kernel: ${choice.id}. Omit kernel.id to start a new kernel.`);
      return kernel;
    }
    const specs = await this.opts.kernels.specs();
    const asked = choice?.name;
    const specName = asked === undefined ? specs.default : specs.kernelspecs[asked] ? asked : asked.toLowerCase();
    if (!specs.kernelspecs[specName]) {
      const names = Object.keys(specs.kernelspecs).sort();
      throw new SessionKernelError(
        501,
        `The '${specName}' kernel is not available. Please pick another suitable kernel instead, or install that kernel.` +
          (names.length ? ` Available kernels: ${names.join(', ')}.` : ''),
        `${specName} not found`,
      );
    }
    const cwd = await kernelCwd({ rootDir: this.rootDir, contents: this.opts.contents }, path);
    try {
      return await this.opts.kernels.start({
        name: specName,
        cwd,
        env: { JPY_SESSION_NAME: join(cwd, name || basename(path)) },
      });
    } catch (err) {
      const text = err instanceof Error ? err.message : String(err);
      this.log.warn({ err, name: specName }, 'kernel for session failed to start');
      throw new SessionKernelError(500, `Kernel '${specName}' failed to start: ${text}`, `${specName} failed to start`);
    }
  }

  /** Shuts a kernel down unless another session still uses it. */
  private async releaseKernel(kernelId: string): Promise<void> {
    if ([...this.records.values()].some((r) => r.kernel_id === kernelId)) return;
    await this.opts.kernels.shutdown(kernelId);
  }

  /** {@link persist} without waiting; failures are logged there. */
  private persistLater(): void {
    this.persist().catch(() => undefined);
  }

  /** Writes the current sessions atomically; writes are serialized, the last one wins. */
  private persist(): Promise<void> {
    const write = this.writing.then(async () => {
      const data: z.infer<typeof fileSchema> = { version: 1, sessions: [...this.records.values()] };
      await writeAtomic(this.file, JSON.stringify(data, null, 1));
    });
    this.writing = write.catch((err) => this.log.error({ err, file: this.file }, 'cannot write sessions file'));
    return write;
  }
}

function definedOnly<T extends Record<string, unknown>>(obj: T): Partial<T> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** temp file + fsync + rename, so a crash leaves either the old or the new file. */
async function writeAtomic(file: string, text: string): Promise<void> {
  const dir = join(file, '..');
  await mkdir(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.${randomUUID()}.tmp`;
  const handle = await open(tmp, 'w', 0o600);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  const dirHandle = await open(dir, 'r').catch(() => null);
  await dirHandle?.sync().catch(() => undefined);
  await dirHandle?.close();
}

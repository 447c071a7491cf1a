import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { JupyterError, badRequest } from '../http/errors.js';
import { writeFileAtomic } from './atomic.js';

/** A JupyterLab workspace (layout and state of one browser session, §e.4). */
export const Workspace = z.object({
  data: z.record(z.string(), z.unknown()),
  metadata: z.looseObject({
    id: z.string().min(1),
    last_modified: z.string().optional(),
    created: z.string().optional(),
  }),
});
export type Workspace = z.infer<typeof Workspace>;

const SUFFIX = '.jupyterlab-workspace';
/** Workspace names are short labels (`default`, `auto-a`, a user's name for a layout). */
const MAX_ID_LENGTH = 512;
/** Largest stored workspace (a layout with hundreds of open documents is well below). */
const MAX_WORKSPACE_CHARS = 5_000_000;

/**
 * Workspaces stored as `<dir>/<slug>.jupyterlab-workspace`, where the slug is the id made
 * file-name safe plus a hash of the exact id (so distinct ids never share a file and no id
 * can name a path). Writes are atomic.
 */
export class WorkspaceStore {
  constructor(private readonly dir: string) {}

  /** The stored workspace, or an empty one (`{data: {}, metadata: {id}}`) when there is none. */
  async get(id: string): Promise<Workspace> {
    const stored = await this.read(this.file(id));
    return stored ?? { data: {}, metadata: { id } };
  }

  /** Every stored workspace, sorted by id. Unreadable files are skipped. */
  async list(): Promise<{ ids: string[]; values: Workspace[] }> {
    const names = await fs.readdir(this.dir).catch(() => [] as string[]);
    const found = await Promise.all(names.filter((n) => n.endsWith(SUFFIX)).map((n) => this.read(path.join(this.dir, n))));
    const values = found.filter((w): w is Workspace => w !== null).sort((a, b) => a.metadata.id.localeCompare(b.metadata.id));
    return { ids: values.map((w) => w.metadata.id), values };
  }

  /**
   * Stores `body` as workspace `id`. Throws 400 unless it is a workspace whose
   * `metadata.id` names `id` (a leading `/` and URL escapes are tolerated, as in
   * jupyterlab_server). Keeps the first `created` time; sets `last_modified`.
   */
  async save(id: string, body: unknown): Promise<void> {
    const parsed = Workspace.safeParse(body);
    if (!parsed.success) throw badRequest(`Invalid workspace: ${parsed.error.issues[0]?.message ?? 'bad input'}`);
    const workspace = parsed.data;
    let claimed = workspace.metadata.id.replace(/^\//, '');
    try {
      claimed = decodeURIComponent(claimed);
    } catch {
      // keep it as sent
    }
    if (claimed !== id) throw badRequest(`Workspace metadata.id '${workspace.metadata.id}' does not match '${id}'`);
    const file = this.file(id);
    const now = new Date().toISOString();
    const previous = await this.read(file);
    workspace.metadata = { ...workspace.metadata, id, created: previous?.metadata.created ?? now, last_modified: now };
    const text = JSON.stringify(workspace);
    if (text.length > MAX_WORKSPACE_CHARS) throw badRequest(`Workspace is too large (over ${MAX_WORKSPACE_CHARS} characters)`);
    await writeFileAtomic(file, text);
  }

  /** Deletes workspace `id`. Throws 404 when there is none. */
  async remove(id: string): Promise<void> {
    try {
      await fs.unlink(this.file(id));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new JupyterError(404, `Workspace not found: ${id}`);
      throw err;
    }
  }

  private file(id: string): string {
    if (!id) throw badRequest('Workspace name is required');
    if (id.length > MAX_ID_LENGTH) throw badRequest('Workspace name is too long');
    const safe = id.replace(/[^A-Za-z0-9_-]+/g, '-').slice(0, 64);
    const hash = createHash('sha256').update(id).digest('hex').slice(0, 12);
    return path.join(this.dir, `${safe}-${hash}${SUFFIX}`);
  }

  private async read(file: string): Promise<Workspace | null> {
    try {
      const parsed = Workspace.safeParse(JSON.parse(await fs.readFile(file, 'utf8')));
      return parsed.success ? parsed.data : null;
    } catch {
      return null;
    }
  }
}

/**
 * Writes a new notebook into a user's running server through the server's own Jupyter
 * contents API (`api/contents/<path>`), which both the lab server and
 * `jupyterhub-singleuser` speak, with a short-lived hub token scoped to that one server —
 * the hub never touches the user's home directly, so the server's ownership, quota and
 * atomic writes apply as if the user had saved the notebook.
 */
import { AppError, numberedName, serverPrefix, type Notebook, type ServerName, type UserName } from '@eucp/core';
import { z } from 'zod';

/** How the writer gets (and drops) a token for the user's server (the `AuthService` is one). */
export interface ServerTokenIssuer {
  issueToken(opts: { userId: number; scopes: string[]; note: string; expiresInMs?: number | null }): Promise<{ id: number; token: string }>;
  revokeToken(id: number): Promise<void>;
}

/** Where the notebook goes. */
export interface NotebookTarget {
  userId: number;
  user: UserName;
  server: ServerName;
  /** The running server's origin (`http://127.0.0.1:<port>`, the servers row's `target`). */
  origin: string;
  /** Folder below the server's root (created when missing), e.g. `catalog`. */
  dir: string;
  /** Wanted file name; `-1`, `-2`… are appended before the extension while it is taken. */
  name: string;
}

/** Names tried before giving up (`name`, `name-1` … `name-99`). */
const MAX_NAMES = 100;
/** Lifetime of the hub's token if it is never revoked (a hub that died mid-write). */
const TOKEN_LIFETIME_MS = 5 * 60_000;
/** Per request to the user's server. */
const REQUEST_TIMEOUT_MS = 30_000;

const modelSchema = z.looseObject({ path: z.string(), type: z.string() });
const errorSchema = z.looseObject({ message: z.string().optional(), reason: z.string().nullable().optional() });

/** `a b/c.ipynb` → `a%20b/c.ipynb` (each segment encoded, slashes kept). */
export function encodePath(p: string): string {
  return p.split('/').map(encodeURIComponent).join('/');
}

/**
 * Writes notebooks into users' servers. One write per user at a time, so two clicks never
 * pick the same free name; an existing file is never overwritten.
 */
export class ServerNotebookWriter {
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly tokens: ServerTokenIssuer) {}

  /**
   * Saves `notebook` as `<dir>/<name>` — or the first free `<name>-<n>` — and resolves its
   * path relative to the server's root. Throws `SERVER_WRITE_FAILED` (502) with the
   * server's own message when it refuses or fails (e.g. no space left) or does not
   * answer, and when `dir` exists but is not a folder. The token is revoked in every case.
   */
  write(target: NotebookTarget, notebook: Notebook): Promise<string> {
    const key = target.user;
    const prev = this.queues.get(key) ?? Promise.resolve();
    const run = prev.then(() => this.writeNow(target, notebook));
    // The queue only orders writes: its entry never rejects (the caller gets `run`'s error).
    const tracked: Promise<unknown> = run.then(() => undefined, () => undefined).then(() => { if (this.queues.get(key) === tracked) this.queues.delete(key); });
    this.queues.set(key, tracked);
    return run;
  }

  private async writeNow(t: NotebookTarget, notebook: Notebook): Promise<string> {
    const { id, token } = await this.tokens.issueToken({
      userId: t.userId, scopes: [`access:servers!server=${t.user}/${t.server}`], note: 'catalog: open a data set in a notebook', expiresInMs: TOKEN_LIFETIME_MS,
    });
    try {
      const api = new ContentsClient(`${t.origin.replace(/\/+$/, '')}${serverPrefix(t.user, t.server)}api/contents/`, token);
      const dir = await api.get(t.dir);
      if (dir === null) await api.put(t.dir, { type: 'directory' });
      else if (dir.type !== 'directory') throw new AppError('SERVER_WRITE_FAILED', `"${t.dir}" in your home is a file, not a folder: rename it.`);
      for (let n = 0; n < MAX_NAMES; n++) {
        const path = `${t.dir}/${numberedName(t.name, n)}`;
        if ((await api.get(path)) !== null) continue;
        return (await api.put(path, { type: 'notebook', format: 'json', content: notebook })).path;
      }
      throw new AppError('SERVER_WRITE_FAILED', `${MAX_NAMES} notebooks named like "${t.dir}/${t.name}" exist already: delete or rename some.`);
    } finally {
      await this.tokens.revokeToken(id);
    }
  }
}

/** The few contents API calls the writer makes, each mapping failures to `SERVER_WRITE_FAILED`. */
class ContentsClient {
  constructor(private readonly base: string, private readonly token: string) {}

  /** The model without content, or null when nothing is at `path`. */
  async get(path: string): Promise<z.infer<typeof modelSchema> | null> {
    const res = await this.call('GET', `${encodePath(path)}?content=0`);
    if (res.status === 404) return null;
    return this.model(res, 'Checking', path);
  }

  async put(path: string, body: Record<string, unknown>): Promise<z.infer<typeof modelSchema>> {
    return this.model(await this.call('PUT', encodePath(path), body), 'Saving', path);
  }

  private async call(method: string, rel: string, body?: unknown): Promise<Response> {
    try {
      return await fetch(this.base + rel, {
        method, redirect: 'manual', signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        headers: { authorization: `token ${this.token}`, accept: 'application/json', ...(body !== undefined && { 'content-type': 'application/json' }) },
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
    } catch (err) {
      throw new AppError('SERVER_WRITE_FAILED', 'Your server did not answer.', {}, { cause: err });
    }
  }

  private async model(res: Response, what: string, path: string): Promise<z.infer<typeof modelSchema>> {
    const text = await res.text();
    let json: unknown;
    try { json = JSON.parse(text); } catch { json = undefined; }
    if (res.status >= 200 && res.status < 300) {
      const m = modelSchema.safeParse(json);
      if (m.success) return m.data;
      throw new AppError('SERVER_WRITE_FAILED', `${what} "${path}": the answer is not a Jupyter contents model.`);
    }
    const e = errorSchema.safeParse(json);
    const said = (e.success ? (e.data.message || e.data.reason) : null) || text.trim().slice(0, 300) || `HTTP ${res.status}`;
    throw new AppError('SERVER_WRITE_FAILED', `${what} "${path}" failed (HTTP ${res.status}): ${said.slice(0, 500)}`, { server_status: res.status });
  }
}

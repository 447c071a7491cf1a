import type { UserName } from '@eucp/core';

/** Who wants to read a notebook: a hub user as the auth hook or the accounts resolve them. */
export interface NotebookReader {
  id: number;
  name: UserName;
  admin: boolean;
  /** Hub group names. */
  groups: readonly string[];
}

/**
 * Who may read which notebook through the viewer. Asked by the hub page before it issues
 * a ticket and again by the viewer when it renders (so a revoked grant stops the next
 * rendering). `path` is the canonical `/`-separated path inside `owner`'s home
 * (`normalizeNotebookPath`); whether the file exists is not this interface's concern.
 * Must not throw for unknown owners or paths (answer false); callers answer 404 to false.
 */
export interface NotebookReadAccess {
  canRead(reader: NotebookReader, owner: UserName, path: string): Promise<boolean>;
}

/**
 * Each user reads their own notebooks only. Administrators are not special: reading
 * someone's notebook needs a share (sharing plugs in its own `NotebookReadAccess`).
 */
export class OwnerOnlyReadAccess implements NotebookReadAccess {
  async canRead(reader: NotebookReader, owner: UserName): Promise<boolean> {
    return reader.name === owner;
  }
}

/** What the viewer needs of sharing: whether an active grant lets a user read a path of an owner's home. */
export interface ShareLookup {
  canRead(callerName: string, owner: string, relPath: string): Promise<boolean>;
}

/** Owners read their notebooks; others read what an active share grants them (`ShareLookup`). */
export class SharedNotebookReadAccess implements NotebookReadAccess {
  private readonly own = new OwnerOnlyReadAccess();

  constructor(private readonly shares: ShareLookup) {}

  async canRead(reader: NotebookReader, owner: UserName, path: string): Promise<boolean> {
    return (await this.own.canRead(reader, owner)) || this.shares.canRead(reader.name, owner, path);
  }
}

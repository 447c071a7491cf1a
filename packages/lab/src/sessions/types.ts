/** The REST model of a session (jupyter-server-api.md b.2). */
export interface SessionModel {
  id: string;
  path: string;
  name: string;
  type: string;
  kernel: { id: string; name: string; last_activity: string; execution_state: string; connections: number };
}

/**
 * Sessions tie a document path to a kernel. Kept on disk in the lab server's state
 * directory so they (and the kernels they name) survive a lab-server restart.
 */
export interface SessionManager {
  list(): SessionModel[];
  get(id: string): SessionModel | undefined;
  /** The session (if any) whose kernel is `kernelId`: server-owned execution uses its path. */
  forKernel(kernelId: string): SessionModel | undefined;
  /** Follows renames of documents (called by the contents routes after a PATCH). */
  renamed(oldPath: string, newPath: string): void;
}

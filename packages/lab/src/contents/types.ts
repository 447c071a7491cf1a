/**
 * The contents seam (jupyter-server-api.md §a): everything under the served root
 * directory, addressed by API paths (`/`-separated, relative to the root, no leading
 * slash, '' = root). Implementations refuse any path that leaves the root (`..`,
 * absolute paths, symlinks pointing outside) with a 404-class {@link JupyterError}
 * and write user files atomically (temp file + fsync + rename).
 */

export type ContentType = 'notebook' | 'file' | 'directory';
export type ContentFormat = 'json' | 'text' | 'base64';

/** The contents model exactly as the REST API returns it (§a.1). */
export interface ContentsModel {
  name: string;
  path: string;
  type: ContentType;
  writable: boolean;
  /** ISO 8601 UTC. */
  created: string;
  last_modified: string;
  size: number | null;
  mimetype: string | null;
  format: ContentFormat | null;
  content: unknown;
  /** Hex digest when `hash=1` was asked for, else null. */
  hash?: string | null;
  /** `sha256` when `hash` is set, else null. */
  hash_algorithm?: string | null;
  /** A note for the user (jupyter_server sets it when a notebook failed validation). */
  message?: string;
}

export interface GetOptions {
  type?: ContentType;
  format?: ContentFormat;
  /** false → `content: null` (and `format: null`). Default true. */
  content?: boolean;
  hash?: boolean;
}

export interface SaveInput {
  type: ContentType;
  format?: ContentFormat;
  content?: unknown;
  /** Chunked upload: 1, 2, … and -1 for the last chunk. */
  chunk?: number;
}

export interface Checkpoint {
  id: string;
  last_modified: string;
}

export interface ContentsManager {
  /** Absolute directory served as the API root. */
  readonly root: string;
  /**
   * Resolves an API path to an absolute path inside the root, following symlinks only
   * while they stay inside it. Throws 404 for anything outside (or absent when
   * `mustExist`).
   */
  resolve(apiPath: string, opts?: { mustExist?: boolean }): Promise<string>;
  get(apiPath: string, opts?: GetOptions): Promise<ContentsModel>;
  save(apiPath: string, input: SaveInput): Promise<ContentsModel>;
  /** `POST` without copy_from: new untitled file/notebook/directory in `dirPath`. */
  newUntitled(dirPath: string, opts: { type: ContentType; ext?: string }): Promise<ContentsModel>;
  copy(fromPath: string, toDir: string): Promise<ContentsModel>;
  rename(oldPath: string, newPath: string): Promise<ContentsModel>;
  delete(apiPath: string): Promise<void>;
  listCheckpoints(apiPath: string): Promise<Checkpoint[]>;
  createCheckpoint(apiPath: string): Promise<Checkpoint>;
  restoreCheckpoint(apiPath: string, id: string): Promise<void>;
  deleteCheckpoint(apiPath: string, id: string): Promise<void>;
  /**
   * Reads a stored notebook as parsed nbformat 4 JSON, applies `mutate` to it and writes
   * it back atomically, under the same per-path lock that `save` takes, so server-side
   * output capture and client saves never interleave. Throws (and writes nothing) when
   * the file is not a valid notebook.
   */
  updateNotebook(apiPath: string, mutate: (nb: Notebook) => void): Promise<void>;
}

/** nbformat 4 notebook as stored (`f.1`); cells are validated by `@eucp/core` nbformat helpers. */
export interface Notebook {
  nbformat: number;
  nbformat_minor: number;
  metadata: Record<string, unknown>;
  cells: NotebookCell[];
}

export interface NotebookCell {
  id?: string;
  cell_type: 'code' | 'markdown' | 'raw';
  source: string | string[];
  metadata: Record<string, unknown>;
  outputs?: NotebookOutput[];
  execution_count?: number | null;
  attachments?: Record<string, unknown>;
}

export type NotebookOutput =
  | { output_type: 'stream'; name: 'stdout' | 'stderr'; text: string | string[] }
  | {
      output_type: 'display_data';
      data: Record<string, unknown>;
      metadata: Record<string, unknown>;
      transient?: unknown;
    }
  | {
      output_type: 'execute_result';
      execution_count: number | null;
      data: Record<string, unknown>;
      metadata: Record<string, unknown>;
    }
  | { output_type: 'error'; ename: string; evalue: string; traceback: string[] };

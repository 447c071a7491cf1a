/** The REST model of a terminal (jupyter-server-api.md b.7). */
export interface TerminalModel {
  name: string;
  last_activity: string;
}

/** What `POST api/terminals` may ask for. */
export interface CreateTerminalOptions {
  /** `\w+`; when a terminal of that name exists, it is returned as is. Default: lowest free integer. */
  name?: string;
  /** Working directory: absolute or relative to the lab root; ignored if it is not a directory. */
  cwd?: string;
}

/** Receives a terminal's output on behalf of one attached client (a browser tab). */
export interface TerminalClient {
  /** PTY output. The first call replays the whole screen state and scrollback. */
  output(data: string): void;
  /** The terminal's process exited (or its holder vanished); nothing more will come. */
  exit(): void;
  /** The lab server detached from the terminal (it keeps running); nothing more will come. */
  detached?(): void;
}

/** One client's link to a terminal; ends with {@link TerminalAttachment.detach} or an exit. */
export interface TerminalAttachment {
  /** Writes keystrokes/pasted text to the PTY. */
  input(data: string): void;
  /** This client's size; the PTY takes the smallest size of the attached clients. */
  resize(rows: number, cols: number): void;
  /** Stops receiving output; idempotent. The terminal keeps running. */
  detach(): void;
}

/**
 * Terminals whose processes and scrollback outlive browser tabs and lab-server restarts:
 * each PTY is held by a small detached holder process that keeps the full screen state on
 * disk; the lab server re-attaches to the holders it finds when it starts.
 */
export interface TerminalManager {
  list(): TerminalModel[];
  /** The terminal's model, or undefined if there is no such (running) terminal. */
  get(name: string): TerminalModel | undefined;
  /**
   * Starts a terminal (or returns the running one of the requested name). Throws on an
   * invalid name or when the terminal process cannot be started.
   */
  create(options?: CreateTerminalOptions): Promise<TerminalModel>;
  /**
   * Kills the terminal's whole process session and removes its files; resolves once its
   * processes are gone. False if there is no such terminal.
   */
  kill(name: string): Promise<boolean>;
  /** Attaches a client (replay first, then live output); null if there is no such terminal. */
  attach(name: string, client: TerminalClient): Promise<TerminalAttachment | null>;
  /** True while any terminal runs a program: in the foreground, or a job left in the background. */
  busy(): boolean;
  /** Detaches from every holder (lab-server exit); the terminals keep running. */
  detachAll(): Promise<void>;
  /** Kills every terminal (server stop requested by the hub). */
  shutdownAll(): Promise<void>;
}

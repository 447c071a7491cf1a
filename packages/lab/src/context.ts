import type { Logger } from 'pino';
import type { ContentsManager } from './contents/types.js';
import type { KernelManager } from './kernels/types.js';
import type { SessionManager } from './sessions/types.js';
import type { TerminalManager } from './terminals/types.js';
import type { ExecutionService } from './execution/types.js';
import type { Journal } from './execution/journal-types.js';

/** Settings of one lab server, fixed at start (see `config.ts` for where each comes from). */
export interface LabConfig {
  /** URL prefix with leading and trailing slash: `/` standalone, `/user/alice/` under a hub. */
  baseUrl: string;
  /** Absolute directory served as the contents root (the user's home under a hub). */
  rootDir: string;
  /**
   * Absolute directory for the server's own state (sessions, kernel connection files,
   * terminal scrollback, execution journal, lab settings/workspaces):
   * `<root>/.local/share/eucp-lab` by default.
   */
  stateDir: string;
  /**
   * Absolute directory for what lives only as long as the kernels and terminals (kernel
   * connection files, records and logs; terminal sockets, state and scrollback);
   * default `stateDir`. A hub's sandbox points it at its private /tmp
   * (`EUCP_LAB_RUNTIME_DIR`), so a home at its quota cannot stop kernels and terminals from
   * starting.
   */
  runtimeDir?: string;
  /** Directory of the built JupyterLab UI (static files + schemas + themes), or null if not built. */
  uiDir: string | null;
  /** Where `GET {base}` redirects, relative to the base: `lab` by default. */
  defaultUrl: string;
}

/** Last activity of the server, reported to the hub (jupyter-server-api.md §0.4). */
export interface Activity {
  /** Records activity now. */
  touch(): void;
  /** Latest activity as epoch ms, including busy kernels and running terminal processes. */
  last(): number;
}

/** Everything a route or a service of the lab server may use. Built by `main.ts`/tests. */
export interface LabContext {
  config: LabConfig;
  log: Logger;
  contents: ContentsManager;
  kernels: KernelManager;
  sessions: SessionManager;
  terminals: TerminalManager;
  execution: ExecutionService;
  journal: Journal;
  activity: Activity;
}

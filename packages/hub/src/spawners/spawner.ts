import type { ServerName, UserName } from '@eucp/core';
import type { ResourceLimits } from '../config/schema.js';

/** What the hub asks a spawner to start. */
export interface SpawnSpec {
  user: UserName;
  /** Hub groups of the user (for group-based settings). */
  groups: readonly string[];
  server: ServerName;
  /** URL prefix the server is reached at through the proxy, e.g. `/user/alice/`. */
  prefix: string;
  /**
   * Environment of the JupyterHub single-user contract, built by the hub
   * (`JUPYTERHUB_API_TOKEN`, `JUPYTERHUB_CLIENT_ID`, …) — everything except
   * `JUPYTERHUB_SERVICE_URL`, which the spawner adds once it knows the port.
   */
  env: Readonly<Record<string, string>>;
  /** argv of the single-user server, e.g. `['/usr/bin/python3', '/usr/bin/jupyterhub-singleuser']`. */
  cmd: readonly string[];
  /** Extra arguments appended to `cmd`. */
  args: readonly string[];
  /** Host paths the server's code needs, bound read-only at the same path (absent = none). */
  readOnlyBinds?: readonly string[];
  /**
   * The parts of the data cache the user may read, as paths relative to the data
   * directory (`CMIP6/CMIP/…/v20190601`, none below another): the sandbox's `/data` then
   * holds only these, at the same relative paths. Absent or null: the whole data
   * directory. Spawners without a sandbox (the test fakes) ignore it.
   */
  dataPaths?: readonly string[] | null;
  /**
   * Storage areas besides the home, computed by the hub from its storage pool: the
   * personal derived-data area (bound read-write at {@link SANDBOX_DERIVED_DIR}) and the
   * workspaces of the user's groups (each read-write at `/groups/<name>`, nothing else
   * below /groups). The spawner gives `derived` to the user's account and lets the members
   * of each group write its workspace. Absent or null: neither exists in the sandbox.
   */
  storage?: SpawnStorage | null;
  /**
   * Host path of the user's view of what others share with them (sharing/): bound
   * read-only at `/shared`. It must be a shared mount point, so shares mounted into it
   * later reach the running sandbox. Absent or null: no `/shared`.
   */
  sharedView?: string | null;
  limits: ResourceLimits;
}

/** Where the personal derived-data area appears in every sandbox. */
export const SANDBOX_DERIVED_DIR = '/derived';
/** Where group workspaces appear in every sandbox (`/groups/<group>`). */
export const SANDBOX_GROUPS_DIR = '/groups';

/** Host paths of the storage areas of one spawn (see {@link SpawnSpec.storage}). */
export interface SpawnStorage {
  /** Host directory of the user's derived-data area. */
  derived: string;
  /** Host directories of the workspaces of the user's groups (hub group names). */
  groups: readonly { name: string; hostPath: string }[];
}

/** One step of spawn progress, shown to the user while the server starts (0-100). */
export interface SpawnProgress {
  progress: number;
  message: string;
}

/**
 * JSON-serialisable state a spawner needs to find a server again, stored in the
 * database, so a restarted hub can re-adopt servers it did not start itself.
 */
export type SpawnerState = Readonly<Record<string, unknown>>;

export interface SpawnResult {
  /** Where the server listens, without path: `http://127.0.0.1:41234`. */
  url: string;
  state: SpawnerState;
}

/** Result of `poll`: running, or why it is not. */
export type ServerStatus =
  | { running: true }
  | {
      running: false;
      /** `oom`: killed for exceeding its memory limit; `exited`: the process ended by itself; `gone`: no trace of it (e.g. machine rebooted). */
      reason: 'exited' | 'oom' | 'killed' | 'gone';
      exitCode: number | null;
      /** A message for the user, saying what happened and what to do. */
      message: string;
    };

/**
 * Starts and stops single-user servers.
 *
 * Contract (checked by `packages/testing/src/spawner-contract.ts` against every
 * implementation and fake):
 * - `start` launches the server and resolves once the process runs and its URL is
 *   known; it does not wait for HTTP readiness (the hub polls the URL). Implementations
 *   may watch the process for a few seconds (until it listens) to turn an immediate
 *   crash into a failed start. It reports progress through `onProgress` (monotonic
 *   percentages 0-100). It throws `AppError` `SPAWN_FAILED` (with the reason and the
 *   last lines of the server log in the detail, the log file in `fields.logFile`) or
 *   `SANDBOX_UNAVAILABLE` (the machine cannot host sandboxes; the detail says why);
 *   after a failed start nothing is left running.
 * - Servers outlive the hub process: a hub killed with SIGKILL leaves them running, and
 *   `poll`/`stop` work from the stored `state` (JSON) in a new hub process.
 * - `poll` never throws for a dead server; it answers `{ running: false, … }`, with
 *   `reason: 'oom'` when the kernel killed a process of the server for exceeding its
 *   memory limit. `running: false` means "no longer usable", not "nothing left": after an
 *   OOM kill of a child (e.g. a kernel) the server process itself may still be alive,
 *   and `poll` already answers `oom`. So after **any** `running: false` the caller must
 *   call `stop(state)`, which ends what is left and releases the resources (cgroups).
 * - `stop` is idempotent: SIGTERM to every process of the server, then SIGKILL after
 *   `timeoutMs` (default 10 000 ms); resolves when every process of the server is gone
 *   and its resources (cgroups, …) are released. Stopping a server that is already gone
 *   is a no-op.
 */
export interface Spawner {
  /** Short name shown in `/hub/api/info`, e.g. `local-sandbox`. */
  readonly kind: string;
  start(spec: SpawnSpec, onProgress?: (p: SpawnProgress) => void): Promise<SpawnResult>;
  poll(state: SpawnerState): Promise<ServerStatus>;
  stop(state: SpawnerState, opts?: { timeoutMs?: number }): Promise<void>;
}

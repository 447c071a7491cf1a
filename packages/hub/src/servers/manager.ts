import { createHash } from 'node:crypto';
import {
  AppError, DEFAULT_SERVER, formatBytes, isActive, nextServerState, resolveLimits, serverPrefix,
  type ErrorCode, type Limits, type ServerEvent, type ServerName, type ServerState, type UserName,
} from '@eucp/core';
import type { Selectable } from 'kysely';
import type { HubConfig } from '../config/schema.js';
import type { Db } from '../db/index.js';
import type { ServersTable } from '../db/schema.js';
import type { Logger } from '../log/index.js';
import type { Spawner, SpawnerState, SpawnStorage } from '../spawners/spawner.js';
import type { RouteTable } from '../proxy/routes.js';
import { oauthClientId, serverTokenScopes, singleUserEnv } from './env.js';
import { ProgressChannel } from './progress.js';
import { serverCommandFor } from './server-command.js';
import { waitForHttp } from './readiness.js';
import { dataViewMessage, type DataViewSource } from './data-view.js';

export type ServerRow = Selectable<ServersTable>;

/** What the manager needs from the auth service (tokens and OAuth clients for a spawn). */
export interface ServerCredentials {
  issueToken(opts: { userId: number; scopes: string[]; note: string; oauthClientId?: string }): Promise<{ id: number; token: string }>;
  upsertOAuthClient(opts: { id: string; description: string; redirectUri: string; secret: string; serverId: number | null }): Promise<void>;
  revokeToken(id: number): Promise<void>;
  /** Deletes the client and every token issued for it (including the server's own token). */
  deleteOAuthClient(id: string): Promise<void>;
}

export interface ServerManagerDeps {
  db: Db;
  log: Logger;
  config: HubConfig;
  spawner: Spawner;
  routes: RouteTable;
  credentials: ServerCredentials;
  now(): number;
  hubApiUrl(): string;
  /** What of the data cache each sandbox shows; absent = all of it (no access control). */
  dataView?: DataViewSource;
  /** Prepares the user's storage areas (with their hard limits) for each start; absent = only the home. */
  storage?: {
    areasFor(user: string, groups: readonly string[]): Promise<SpawnStorage>;
    /** The spawn that `areasFor` prepared is over (ready or failed): its start grace ends. */
    started(user: string): Promise<void>;
  };
  /** The host view of what others share with the user (a shared mount point, made ready here); absent = no /shared. */
  sharing?: { viewFor(user: string): Promise<string | null> };
}

/** The status of a server as the hub's own UI shows it. */
export interface ServerStatusView {
  state: ServerState;
  url: string | null;
  limits: Limits;
  failure: { code: string; message: string; action: string } | null;
  startedAt: number | null;
  lastActivity: number | null;
  /** The user's readable data changed since the running server started: a restart shows it. */
  dataOutdated: boolean;
}

/** The data view a running server was started with (`key`), and whether it is still the user's. */
interface StartedData { key: string; gen: number; dirty: boolean; outdated: boolean }

const key = (user: UserName, server: ServerName): string => `${user}/${server}`;

/** A data view's identity, kept with the server row (`data_key`). */
const dataKeyOf = (paths: readonly string[] | null): string => createHash('sha256').update(JSON.stringify(paths)).digest('hex');

/**
 * Owns the lifecycle of every single-user server: start (token, OAuth client, spawner,
 * readiness, route), stop, death detection, re-adoption after a hub restart. Operations
 * on one server are serialised; the state lives in the `servers` table and moves only
 * along `nextServerState`.
 */
export class ServerManager {
  private readonly progress = new Map<string, ProgressChannel>();
  private readonly pending = new Map<string, Promise<void>>();
  private readonly cancelled = new Set<string>();
  private pollTimer: NodeJS.Timeout | null = null;
  private readonly startedData = new Map<string, StartedData>();

  constructor(private readonly deps: ServerManagerDeps) {
    deps.dataView?.onChange((user) => { for (const [k, d] of this.startedData) if (user === '*' || k.startsWith(`${user}/`)) d.dirty = true; });
  }

  private get db(): Db { return this.deps.db; }

  private async userRow(user: UserName): Promise<{ id: number; name: string; admin: number }> {
    const row = await this.db.selectFrom('users').select(['id', 'name', 'admin']).where('name', '=', user).executeTakeFirst();
    if (!row) throw new AppError('NOT_FOUND', `No such user ${user}.`);
    return row;
  }

  async groupsOf(userId: number): Promise<string[]> {
    const rows = await this.db.selectFrom('group_members').innerJoin('groups', 'groups.id', 'group_members.group_id')
      .select('groups.name').where('group_members.user_id', '=', userId).execute();
    return rows.map((r) => r.name);
  }

  /** The limits that apply to `user` (user setting > most generous group > defaults). */
  async limitsFor(user: UserName): Promise<Limits> {
    const u = await this.userRow(user);
    const groups = await this.groupsOf(u.id);
    const s = this.deps.config.spawner;
    return resolveLimits(s.defaults, groups.map((g) => s.groups[g]).filter((g) => g !== undefined), s.users[user]);
  }

  /** The server's row, or null if it never existed. */
  async get(user: UserName, server: ServerName = DEFAULT_SERVER): Promise<ServerRow | null> {
    const u = await this.userRow(user);
    return (await this.db.selectFrom('servers').selectAll().where('user_id', '=', u.id).where('name', '=', server).executeTakeFirst()) ?? null;
  }

  async status(user: UserName, server: ServerName = DEFAULT_SERVER): Promise<ServerStatusView> {
    const row = await this.get(user, server);
    const limits = await this.limitsFor(user);
    const state = (row?.state ?? 'stopped') as ServerState;
    const failure = row?.failure_code && state === 'failed'
      ? { code: row.failure_code, message: row.failure_message ?? '', action: actionOf(row.failure_code) }
      : null;
    return {
      state, limits, failure,
      url: state === 'running' ? serverPrefix(user, server) : null,
      startedAt: row?.started_at ?? null, lastActivity: row?.last_activity ?? null,
      dataOutdated: state === 'running' && row ? await this.dataOutdated(row, user, server) : false,
    };
  }

  /**
   * True if the user's data view changed (grant, revocation, policies, catalog) since the
   * server started — also for a server an earlier hub process started (its `data_key`).
   */
  private async dataOutdated(row: ServerRow, user: UserName, server: ServerName): Promise<boolean> {
    const view = this.deps.dataView;
    let d = this.startedData.get(key(user, server));
    if (!d && row.data_key) this.startedData.set(key(user, server), (d = { key: row.data_key, gen: -1, dirty: true, outdated: false }));
    if (!d || !view) return false;
    const gen = view.generation();
    if (d.dirty || d.gen !== gen) {
      const now = await view.viewFor({ id: row.user_id, name: user }, { wait: false });
      // Before the catalog's first scan (a hub that just started) the view is not the user's yet: ask again later.
      if (!now.catalogReady) return false;
      d.dirty = false;
      d.gen = gen;
      d.outdated = dataKeyOf(now.paths) !== d.key;
    }
    return d.outdated;
  }

  /** Progress channel of the current or last spawn, if this hub process saw one. */
  progressOf(user: UserName, server: ServerName): ProgressChannel | null {
    return this.progress.get(key(user, server)) ?? null;
  }

  private async transition(row: ServerRow, event: ServerEvent, patch: Partial<Omit<ServerRow, 'id'>> = {}): Promise<ServerRow> {
    const next = nextServerState(row.state as ServerState, event);
    if (next === null) throw new AppError('INTERNAL', `Server ${row.id}: ${event} is not allowed while ${row.state}.`);
    const updated = { ...patch, state: next, updated_at: this.deps.now() };
    await this.db.updateTable('servers').set(updated).where('id', '=', row.id).execute();
    return { ...row, ...updated };
  }

  /** Runs `op` after any operation already running on this server. */
  private serialise(k: string, op: () => Promise<void>): Promise<void> {
    const prev = this.pending.get(k) ?? Promise.resolve();
    const run = prev.catch(() => {}).then(op);
    const tracked = run.finally(() => { if (this.pending.get(k) === tracked) this.pending.delete(k); });
    this.pending.set(k, tracked);
    return run;
  }

  /**
   * Starts a server. Resolves `'started'` once it is ready, or `'pending'` if it is still
   * starting after `slowSpawnTimeoutMs` (JupyterHub's 201 vs 202). Throws
   * `SERVER_ALREADY_RUNNING`, `SERVER_PENDING_STOP` or `NOT_FOUND`.
   */
  async start(user: UserName, server: ServerName = DEFAULT_SERVER, userOptions: Record<string, unknown> = {}): Promise<'started' | 'pending'> {
    const u = await this.userRow(user);
    const k = key(user, server);
    let row = await this.get(user, server);
    if (row?.state === 'running') throw new AppError('SERVER_ALREADY_RUNNING', `${user}'s server is already running.`);
    if (row?.state === 'stopping') throw new AppError('SERVER_PENDING_STOP', `${user}'s server is stopping.`);
    if (row?.state === 'starting') return this.waitStarted(user, server);
    if (!row) {
      await this.db.insertInto('servers').values({
        user_id: u.id, name: server, state: 'stopped', spawner_state: '{}', user_options: '{}', updated_at: this.deps.now(),
      }).onConflict((oc) => oc.doNothing()).execute();
      row = (await this.get(user, server))!;
    }
    row = await this.transition(row, 'start', {
      user_options: JSON.stringify(userOptions), failure_code: null, failure_message: null, target: null, started_at: null,
    });
    const channel = new ProgressChannel();
    this.progress.set(k, channel);
    this.cancelled.delete(k);
    channel.emit({ progress: 0, message: 'Server requested' });
    const spawning = row;
    void this.serialise(k, () => this.spawn(spawning, u, user, server, channel));
    return this.waitStarted(user, server);
  }

  /**
   * Waits up to `slowSpawnTimeoutMs` for the spawn in progress: `'started'` when it is
   * running, `'pending'` while it still starts; a spawn that failed in that time throws
   * its error (JupyterHub answers such a POST with the failure, not with 201).
   */
  private async waitStarted(user: UserName, server: ServerName): Promise<'started' | 'pending'> {
    const done = this.pending.get(key(user, server));
    if (done) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'pending'>((r) => { timer = setTimeout(() => r('pending'), this.deps.config.spawner.slowSpawnTimeoutMs); });
      const outcome = await Promise.race([done.then(() => 'done' as const, () => 'done' as const), timeout]);
      clearTimeout(timer);
      if (outcome === 'pending') return 'pending';
    }
    const row = await this.get(user, server);
    if (row?.state === 'running') return 'started';
    if (row?.state === 'starting') return 'pending';
    const code = (row?.failure_code ?? 'SPAWN_FAILED') as ErrorCode;
    throw new AppError(code, row?.failure_message ? stripCatalogMessage(code, row.failure_message) : undefined, { failed: true });
  }

  private async spawn(row: ServerRow, u: { id: number }, user: UserName, server: ServerName, channel: ProgressChannel): Promise<void> {
    const k = key(user, server);
    const prefix = serverPrefix(user, server);
    const clientId = oauthClientId(user, server);
    const log = this.deps.log.child({ user, server });
    let spawnerState: SpawnerState | null = null;
    let storagePrepared = false;
    // Once the server answers or failed, its user's hard limit loses the start grace (before the route exists).
    const endStorageGrace = async (): Promise<void> => {
      if (!storagePrepared) return;
      storagePrepared = false;
      await this.deps.storage?.started(user).catch((err: unknown) => log.error({ err }, 'cannot restore the hard limit after the start'));
    };
    try {
      const { token } = await this.deps.credentials.issueToken({
        userId: u.id, scopes: serverTokenScopes(user, server), note: `Server at ${prefix}`, oauthClientId: clientId,
      });
      await this.deps.credentials.upsertOAuthClient({
        id: clientId, description: `Server at ${prefix}`, redirectUri: `${prefix}oauth_callback`, secret: token, serverId: row.id,
      });
      const limits = await this.limitsFor(user);
      const cfg = this.deps.config;
      channel.emit({ progress: 10, message: `Preparing your sandbox (memory ${formatBytes(limits.memoryLimitBytes)}, CPU ${limits.cpuLimitCores ?? 'unlimited'} cores)` });
      const env = singleUserEnv({
        user, server, apiToken: token, hubApiUrl: this.deps.hubApiUrl(), app: cfg.spawner.app, limits,
        publicHost: cfg.publicUrl ? new URL(cfg.publicUrl).origin : '',
      });
      const groups = await this.groupsOf(u.id);
      const command = serverCommandFor(cfg.spawner, user, groups);
      // Computed at every start: a grant is usable, a revocation effective, from the next start on.
      const gen = this.deps.dataView?.generation() ?? 0;
      if (this.deps.dataView) channel.emit({ progress: 10, message: 'Finding the data sets you may read' });
      const data = this.deps.dataView ? await this.deps.dataView.viewFor({ id: u.id, name: user }) : null;
      if (data) channel.emit({ progress: 10, message: dataViewMessage(data) });
      const dataKey = data ? dataKeyOf(data.paths) : null;
      if (dataKey) this.startedData.set(k, { key: dataKey, gen, dirty: false, outdated: false });
      if (this.deps.storage) channel.emit({ progress: 10, message: 'Preparing your storage areas (home, /derived, group workspaces)' });
      const storage = this.deps.storage ? await this.deps.storage.areasFor(user, groups) : null;
      storagePrepared = storage !== null;
      const result = await this.deps.spawner.start(
        { user, groups, server, prefix, env, cmd: command.cmd, args: [], readOnlyBinds: command.readOnlyBinds, dataPaths: data?.paths ?? null, storage, sharedView: await this.deps.sharing?.viewFor(user) ?? null, limits },
        (p) => channel.emit({ progress: 10 + p.progress * 0.5, message: p.message }),
      );
      spawnerState = result.state;
      if (data) await this.deps.dataView?.recordMount?.({ id: u.id, name: user }, server, data);
      await this.db.updateTable('servers').set({ spawner_state: JSON.stringify(result.state), data_key: dataKey, updated_at: this.deps.now() }).where('id', '=', row.id).execute();
      channel.emit({ progress: 65, message: 'Server process started; waiting for it to answer' });
      const outcome = await waitForHttp(`${result.url}${prefix}api`, {
        timeoutMs: cfg.spawner.startTimeoutMs,
        alive: async () => (await this.deps.spawner.poll(result.state)).running,
        isCancelled: () => this.cancelled.has(k),
      });
      await endStorageGrace();
      if (outcome !== 'ready') {
        const status = await this.deps.spawner.poll(result.state);
        if (outcome === 'cancelled') throw new AppError('SPAWN_FAILED', 'The start was cancelled.');
        if (!status.running && status.reason === 'oom') throw new AppError('MEMORY_LIMIT_EXCEEDED', status.message);
        if (outcome === 'died') throw new AppError('SPAWN_FAILED', status.running ? 'The server stopped answering.' : status.message);
        throw new AppError('SPAWN_TIMEOUT', `No answer from the server within ${Math.round(cfg.spawner.startTimeoutMs / 1000)} s.`);
      }
      const now = this.deps.now();
      await this.transition(row, 'ready', { target: result.url, started_at: now, last_activity: now });
      this.deps.routes.set({ prefix, user, server, target: result.url });
      log.info({ target: result.url, ...(data && { dataSets: data.readable, of: data.total }) }, 'server ready');
      channel.emit({
        progress: 100, ready: true, url: prefix, message: `Server ready at ${prefix}`,
        html_message: `Server ready at <a href="${prefix}">${prefix}</a>`,
      });
    } catch (err) {
      const appErr = err instanceof AppError ? err : new AppError('SPAWN_FAILED', (err as Error).message);
      log.warn({ code: appErr.code, detail: appErr.detail }, 'spawn failed');
      this.startedData.delete(k);
      if (spawnerState) await this.deps.spawner.stop(spawnerState, { timeoutMs: this.deps.config.spawner.stopTimeoutMs }).catch((e) => log.error({ err: e }, 'cleanup after failed spawn'));
      await this.deps.credentials.deleteOAuthClient(clientId).catch(() => {});
      const current = (await this.db.selectFrom('servers').selectAll().where('id', '=', row.id).executeTakeFirst())!;
      const event: ServerEvent = current.state === 'stopping' ? 'stopped' : 'fail';
      await this.transition(current, event, { target: null, spawner_state: '{}', failure_code: appErr.code, failure_message: appErr.message });
      channel.emit({ progress: 100, failed: true, message: `Spawn failed: ${appErr.message}` });
    } finally {
      await endStorageGrace();
    }
  }

  /**
   * Stops a server (cancelling a spawn in progress). Resolves `'stopped'` once every
   * process is gone, or `'pending'` if that takes longer than `slowSpawnTimeoutMs`.
   * Stopping a stopped server is a no-op. Throws `NOT_FOUND` for unknown users.
   */
  async stop(user: UserName, server: ServerName = DEFAULT_SERVER): Promise<'stopped' | 'pending'> {
    const row = await this.get(user, server);
    if (!row || !isActive(row.state as ServerState)) return 'stopped';
    const k = key(user, server);
    if (row.state === 'starting') {
      this.cancelled.add(k);
      await this.transition(row, 'stop');
    }
    const op = this.serialise(k, () => this.doStop(user, server, null));
    let timer: NodeJS.Timeout | undefined;
    const slow = new Promise<'pending'>((r) => { timer = setTimeout(() => r('pending'), this.deps.config.spawner.slowSpawnTimeoutMs); });
    const outcome = await Promise.race([op.then(() => 'stopped' as const), slow]);
    clearTimeout(timer);
    return outcome;
  }

  /** Deletes the record of a stopped named server (`DELETE …/servers/x {"remove": true}`). */
  async remove(user: UserName, server: ServerName): Promise<void> {
    const row = await this.get(user, server);
    if (row && !isActive(row.state as ServerState)) await this.db.deleteFrom('servers').where('id', '=', row.id).execute();
    this.progress.delete(key(user, server));
  }

  /** Stops every server of `user` and waits until they are gone. */
  async stopAll(user: UserName): Promise<void> {
    const u = await this.userRow(user);
    const rows = await this.db.selectFrom('servers').select('name').where('user_id', '=', u.id).execute();
    await Promise.all(rows.map(async (r) => {
      await this.stop(user, r.name as ServerName);
      await this.pending.get(key(user, r.name as ServerName));
    }));
  }

  /**
   * Stops the processes and releases everything. `failure` records why (the server died,
   * ran out of memory) so the user is told instead of finding a silently stopped server.
   */
  private async doStop(user: UserName, server: ServerName, failure: { code: ErrorCode; message: string } | null): Promise<void> {
    let row = await this.get(user, server);
    if (!row || !isActive(row.state as ServerState)) return;
    const prefix = serverPrefix(user, server);
    this.deps.routes.delete(prefix);
    this.startedData.delete(key(user, server));
    if (row.state === 'running') row = await this.transition(row, 'stop');
    const state = JSON.parse(row.spawner_state) as SpawnerState;
    if (Object.keys(state).length) await this.deps.spawner.stop(state, { timeoutMs: this.deps.config.spawner.stopTimeoutMs });
    await this.deps.credentials.deleteOAuthClient(oauthClientId(user, server));
    await this.transition(row, failure?.code === 'MEMORY_LIMIT_EXCEEDED' ? 'oom' : 'stopped', {
      target: null, spawner_state: '{}',
      failure_code: failure?.code ?? null, failure_message: failure?.message ?? null,
    });
    this.deps.log.info({ user, server, reason: failure?.code ?? 'requested' }, 'server stopped');
  }

  /**
   * Checks every active server once: re-adopts live ones (routes restored after a hub
   * restart), marks dead ones stopped (or failed with the reason, e.g. out of memory)
   * and stops servers whose spawn was interrupted by a hub restart.
   */
  async checkAll(): Promise<void> {
    const rows = await this.db.selectFrom('servers').innerJoin('users', 'users.id', 'servers.user_id')
      .selectAll('servers').select('users.name as user_name')
      .where('servers.state', 'in', ['starting', 'running', 'stopping']).execute();
    for (const row of rows) {
      const user = row.user_name as UserName;
      const server = row.name as ServerName;
      const k = key(user, server);
      if (this.pending.has(k)) continue;
      const state = JSON.parse(row.spawner_state) as SpawnerState;
      const status = Object.keys(state).length ? await this.deps.spawner.poll(state) : null;
      if (row.state === 'running' && status?.running && row.target) {
        this.deps.routes.set({ prefix: serverPrefix(user, server), user, server, target: row.target });
        continue;
      }
      const failure = status && !status.running
        ? (status.reason === 'oom' ? { code: 'MEMORY_LIMIT_EXCEEDED' as const, message: status.message } : null)
        : null;
      if (status && !status.running) this.deps.log.warn({ user, server, reason: status.reason }, 'server process ended');
      await this.serialise(k, () => this.doStop(user, server, failure));
    }
  }

  /** Re-adopts servers at start-up, then keeps checking every `spawner.pollIntervalMs`. */
  async startMonitoring(): Promise<void> {
    await this.checkAll();
    this.pollTimer = setInterval(() => {
      this.checkAll().catch((err) => this.deps.log.error({ err }, 'server check failed'));
    }, this.deps.config.spawner.pollIntervalMs);
    this.pollTimer.unref();
  }

  /** Stops the timers; servers keep running (they outlive the hub by design). */
  async close(): Promise<void> {
    if (this.pollTimer) clearInterval(this.pollTimer);
    await Promise.allSettled([...this.pending.values()]);
  }

  /** Records proxy traffic as activity (what JupyterHub gets from its proxy). */
  async touch(user: UserName, server: ServerName, at: number): Promise<void> {
    await this.db.updateTable('servers').set({ last_activity: at })
      .where('name', '=', server).where('last_activity', '<', at)
      .where('user_id', '=', (eb) => eb.selectFrom('users').select('id').where('name', '=', user))
      .execute();
  }

  /** Running servers with their owners, for the culler and the admin page. */
  async listRunning(): Promise<Array<ServerRow & { user_name: string }>> {
    return this.db.selectFrom('servers').innerJoin('users', 'users.id', 'servers.user_id')
      .selectAll('servers').select('users.name as user_name').where('servers.state', '=', 'running').execute();
  }
}

/** The stored failure message repeats the catalog message; keep only the detail. */
function stripCatalogMessage(code: ErrorCode, message: string): string {
  const base = new AppError(code).message;
  return message.startsWith(base) ? message.slice(base.length).trim() : message;
}

function actionOf(code: string): string {
  try { return new AppError(code as ErrorCode).action; } catch { return ''; }
}

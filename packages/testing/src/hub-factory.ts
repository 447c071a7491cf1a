import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import pino from 'pino';
import { AppError, type UserName } from '@eucp/core';
import { Accounts, type UserRecord } from '@eucp/hub/accounts/accounts';
import { AccessService } from '@eucp/hub/access/index';
import { CatalogScanService } from '@eucp/hub/catalog/scanner-service';
import { catalogScanOptions } from '@eucp/hub/catalog/scanner-config';
import { AuthService } from '@eucp/hub/auth/service';
import { configSchema } from '@eucp/hub/config/schema';
import type { HubContext } from '@eucp/hub/context';
import { openDatabase } from '@eucp/hub/db/index';
import { installHttpBasics } from '@eucp/hub/http/basics';
import { registerIdentityRoutes } from '@eucp/hub/http/identity-routes';
import type { ServerManager } from '@eucp/hub/servers/manager';
import type { Spawner } from '@eucp/hub/spawners/spawner';

/** A settable clock (milliseconds since the epoch) for expiry and rate-limit tests. */
export class TestClock {
  constructor(public ms = Date.UTC(2024, 4, 2, 9, 0, 0)) {}
  now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

/**
 * Stands in for the `ServerManager` in tests of accounts and the REST API: it records
 * which users' servers were stopped and marks their rows stopped.
 */
export class RecordingServerManager {
  readonly stoppedUsers: UserName[] = [];
  constructor(private readonly ctx: () => HubContext) {}
  async stopAll(user: UserName): Promise<void> {
    this.stoppedUsers.push(user);
    const { db } = this.ctx();
    const u = await db.selectFrom('users').select('id').where('name', '=', user).executeTakeFirst();
    if (u) await db.updateTable('servers').set({ state: 'stopped', target: null }).where('user_id', '=', u.id).execute();
  }
}

/** A spawner that refuses to start anything (account/API tests never spawn). */
export const placeholderSpawner: Spawner = {
  kind: 'test-placeholder',
  async start() { throw new AppError('SPAWN_FAILED', 'The test placeholder spawner does not start servers.'); },
  async poll() { return { running: false, reason: 'gone', exitCode: null, message: 'placeholder' }; },
  async stop() {},
};

export interface TestContextOptions {
  /** Top-level config keys merged over the test defaults (each section is parsed with its defaults). */
  config?: Record<string, unknown>;
  /** Use a SQLite file in the temp state dir instead of `:memory:`. */
  dbFile?: boolean;
  clock?: TestClock;
}

export interface TestContext extends HubContext {
  clock: TestClock;
  fakeServers: RecordingServerManager;
  stateDir: string;
  /** Closes the database and removes the temp state dir. */
  close(): Promise<void>;
}

/** Builds a `HubContext` over a fresh SQLite database and a temp state dir. */
export async function createTestContext(opts: TestContextOptions = {}): Promise<TestContext> {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'eucp-test-'));
  const config = configSchema.parse({ stateDir, log: { level: 'silent' }, ...opts.config });
  const db = await openDatabase(opts.dbFile ? path.join(stateDir, 'hub.sqlite') : ':memory:');
  const clock = opts.clock ?? new TestClock();
  const now = () => clock.now();
  const log = pino({ level: 'silent' });
  const accounts = new Accounts(db, now);
  const auth = new AuthService({ db, config, accounts, now, log });
  const access = await AccessService.create({ db, config, log, now, accounts }).catch(async (err: unknown) => {
    await db.destroy();
    rmSync(stateDir, { recursive: true, force: true });
    throw err;
  });
  let ctx: TestContext | undefined;
  const fakeServers = new RecordingServerManager(() => ctx!);
  ctx = {
    config, db, log, now, spawner: placeholderSpawner, accounts, auth, access,
    catalog: new CatalogScanService(catalogScanOptions(config, { db, log })),
    // Only the ServerManager methods the accounts/API code calls are implemented.
    servers: fakeServers as unknown as ServerManager,
    jupyterhubVersion: '5.2.1',
    hubApiUrl: () => 'http://127.0.0.1:8081/hub/api',
    clock, fakeServers, stateDir,
    async close() {
      await db.destroy();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
  return ctx;
}

/**
 * A fastify app with only the accounts/auth/API plugins, the same error rendering and
 * JSON body handling as app.ts (empty JSON body = no body; malformed ⇒ `INVALID_JSON`).
 */
export async function buildTestApp(ctx: HubContext): Promise<FastifyInstance> {
  const app = Fastify({ loggerInstance: ctx.log as unknown as FastifyBaseLogger });
  await installHttpBasics(app, ctx);
  await registerIdentityRoutes(app, ctx);
  await app.ready();
  return app;
}

/** Creates a user and an API token for them (`scopes` default `inherit`). */
export async function userWithToken(
  ctx: HubContext, name: string, opts: { admin?: boolean; scopes?: string[] } = {},
): Promise<{ user: UserRecord; token: string; tokenId: number; headers: { authorization: string } }> {
  const user = (await ctx.accounts.findUser(name)) ?? (await ctx.accounts.createUser(name, { admin: opts.admin ?? false }));
  const { id, token } = await ctx.auth.issueToken({ userId: user.id, scopes: opts.scopes ?? ['inherit'], note: 'test' });
  return { user, token, tokenId: id, headers: { authorization: `token ${token}` } };
}

/** Starts a browser session for a user; returns the Cookie header and the session's anti-forgery token. */
export async function sessionFor(ctx: HubContext, userId: number): Promise<{ cookie: string; csrfToken: string; sessionId: string }> {
  const s = await ctx.auth.createSession(userId);
  return { cookie: `eucp-session=${s.cookieValue}; jupyterhub-session-id=${s.sessionId}`, csrfToken: s.csrfToken, sessionId: s.sessionId };
}

/** Inserts a `servers` row (state as given) for tests that need a server record. */
export async function insertServer(
  ctx: HubContext, userId: number, opts: { name?: string; state?: 'starting' | 'running' | 'stopping' | 'stopped' | 'failed'; startedAt?: number | null } = {},
): Promise<number> {
  const r = await ctx.db.insertInto('servers').values({
    user_id: userId, name: opts.name ?? '', state: opts.state ?? 'running', target: null, spawner_state: '{}', user_options: '{}',
    started_at: opts.startedAt ?? ctx.now(), last_activity: null, failure_code: null, failure_message: null, updated_at: ctx.now(),
  }).returning('id').executeTakeFirstOrThrow();
  return r.id;
}

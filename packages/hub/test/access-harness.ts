/**
 * An in-process hub API for access-control tests: a fresh EUCP-SYN (tiny) data directory,
 * a test context whose `AccessService` imported its access fixtures (groups, licences and
 * the users alice…erin with their memberships) exactly as a first start does, and a fastify
 * app with the identity routes and the access routes.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type LightMyRequestResponse } from 'fastify';
import { AccessService, registerAccessRoutes, type AccessContext } from '@eucp/hub/access/index';
import { generateDemoData } from '@eucp/hub/demo-data/index';
import { installHttpBasics } from '@eucp/hub/http/basics';
import { registerIdentityRoutes } from '@eucp/hub/http/identity-routes';
import { createTestContext, userWithToken, type TestContext } from '@eucp/testing/hub-factory';

export const FIXTURE_USERS = ['alice', 'bob', 'carol', 'dave', 'erin'] as const;
export type FixtureUser = (typeof FIXTURE_USERS)[number];

export interface AccessOracle {
  user: string | null;
  resource: string;
  action: 'Read' | 'Write';
  decision: 'Permit' | 'Deny' | 'Challenge';
  grantable_by: Array<{ group: string; role: string; automatic_approval: boolean; licence_id: string; membership: string }>;
}

/** Generates the tiny EUCP-SYN data once; returns its directory and the access oracles of expected.json. */
export async function demoData(): Promise<{ dir: string; oracles: AccessOracle[]; remove(): Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'eucp-access-data-'));
  await generateDemoData({ profile: 'tiny', outDir: dir });
  const expected = JSON.parse(await readFile(path.join(dir, 'expected.json'), 'utf8')) as { access: AccessOracle[] };
  return { dir, oracles: expected.access, remove: () => rm(dir, { recursive: true, force: true }) };
}

export interface AccessHarness {
  ctx: TestContext & AccessContext;
  app: FastifyInstance;
  /** `authorization` headers of the fixture users (API tokens with `inherit`). */
  as: Record<FixtureUser, { authorization: string }>;
  ids: Record<FixtureUser, number>;
  call(method: 'GET' | 'POST' | 'PUT', url: string, headers?: Record<string, string>, body?: unknown): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

/** Builds the test hub over `dataDir` (config overrides merged into `access`). */
export async function accessHarness(dataDir: string, access: Record<string, unknown> = {}): Promise<AccessHarness> {
  const base = await createTestContext({ config: { dataDir, access: { importFixtureUsers: true, ...access } } });
  const service = await AccessService.create({ db: base.db, config: base.config, log: base.log, now: base.now, accounts: base.accounts });
  const ctx = Object.assign(base, { access: service });
  const app = Fastify({ loggerInstance: ctx.log as unknown as FastifyBaseLogger });
  await installHttpBasics(app, ctx);
  await registerIdentityRoutes(app, ctx);
  await registerAccessRoutes(app, ctx);
  await app.ready();
  const as = {} as AccessHarness['as'];
  const ids = {} as AccessHarness['ids'];
  for (const name of FIXTURE_USERS) {
    const t = await userWithToken(ctx, name);
    as[name] = t.headers;
    ids[name] = t.user.id;
  }
  return {
    ctx, app, as, ids,
    call: (method, url, headers = {}, body) => app.inject({
      method, url,
      headers: { ...headers, ...(body !== undefined && { 'content-type': 'application/json' }) },
      ...(body !== undefined && { payload: JSON.stringify(body) }),
    }),
    async close() {
      await app.close();
      await ctx.close();
    },
  };
}

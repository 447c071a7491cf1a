import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildLabApp } from './app.js';
import type { LabStartup } from './config.js';
import type { LabContext } from './context.js';
import { FileContentsManager } from './contents/manager.js';
import { ServerExecution } from './execution/service.js';
import { FileJournal } from './execution/journal.js';
import { ActivityReporter, ServerActivity } from './hub/activity.js';
import { HubAuth } from './hub/oauth.js';
import { newSecret, type LabAuth } from './http/auth.js';
import { LoginSessions } from './http/login-sessions.js';
import { TokenAuth } from './http/token-auth.js';
import { ZmqKernelManager } from './kernels/manager.js';
import { FileSessionManager } from './sessions/manager.js';
import { LocalTerminalManager } from './terminals/manager.js';

/** A running lab server. */
export interface RunningLab {
  ctx: LabContext;
  app: FastifyInstance;
  port: number;
  /** Standalone mode: the token to log in with. */
  token: string | null;
  /**
   * Stops serving. `keepKernels: true` leaves kernels and terminals running for the next
   * lab server on the same state directory to adopt (what a crash does too); `false`
   * shuts them down (the hub stopped the server).
   */
  close(opts: { keepKernels: boolean }): Promise<void>;
}

/**
 * Builds every service of the lab server on `startup.config`, re-adopts the kernels and
 * terminals a previous lab server on the same state directory left running, and listens.
 */
export async function startLab(startup: LabStartup, log: Logger): Promise<RunningLab> {
  const { config } = startup;
  const runtimeDir = config.runtimeDir ?? config.stateDir;
  const kernels = new ZmqKernelManager({ stateDir: runtimeDir, log: log.child({ component: 'kernels' }) });
  const contents = new FileContentsManager({ root: config.rootDir, log: log.child({ component: 'contents' }) });
  const sessions = new FileSessionManager({ stateDir: config.stateDir, kernels, contents, log: log.child({ component: 'sessions' }) });
  const terminals = new LocalTerminalManager({ stateDir: runtimeDir, rootDir: config.rootDir, log: log.child({ component: 'terminals' }) });
  const execution = new ServerExecution({ kernels, sessions, contents, stateDir: config.stateDir, log: log.child({ component: 'execution' }) });
  const journal = new FileJournal({ execution, stateDir: config.stateDir, log: log.child({ component: 'journal' }) });
  const activity = new ServerActivity(() => kernels, () => terminals);
  const ctx: LabContext = { config, log, contents, kernels, sessions, terminals, execution, journal, activity };

  await kernels.adopt();
  await sessions.load();
  // Before serving: executions the previous lab server left running go on being captured.
  await execution.resume();
  await terminals.reattach();

  const loginSessions = new LoginSessions(config.stateDir);
  let token: string | null = null;
  let auth: LabAuth;
  if (startup.hub) {
    auth = new HubAuth(startup.hub, loginSessions, log.child({ component: 'auth' }));
  } else {
    token = startup.token ?? newSecret();
    auth = new TokenAuth(token, process.env.USER ?? 'user', loginSessions, config.baseUrl);
  }
  const app = await buildLabApp(ctx, auth);
  await app.listen({ host: startup.host, port: startup.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : startup.port;

  const reporter = startup.hub
    ? new ActivityReporter(activity, {
        activityUrl: startup.hub.activityUrl,
        apiToken: startup.hub.apiToken,
        serverName: startup.hub.serverName,
        intervalMs: startup.hub.activityIntervalMs,
        log: log.child({ component: 'activity' }),
      })
    : null;
  reporter?.start();

  return {
    ctx, app, port, token,
    async close({ keepKernels }) {
      reporter?.stop();
      await app.close();
      await execution.close();
      await journal.close();
      if (keepKernels) {
        await kernels.detachAll();
        await terminals.detachAll();
      } else {
        await kernels.shutdownAll();
        await terminals.shutdownAll();
      }
    },
  };
}

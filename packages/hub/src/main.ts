import { existsSync, mkdirSync } from 'node:fs';
import { AppError } from '@eucp/core';
import path from 'node:path';
import { loadConfig, dataDirOf, homeRootOf } from './config/index.js';
import type { HubConfig } from './config/schema.js';
import { createLogger, type Logger } from './log/index.js';
import { createHub, type Hub } from './hub.js';
import type { Spawner } from './spawners/spawner.js';
import { LocalSandboxSpawner } from './spawners/local-sandbox/index.js';
import { storagePoolFor } from './storage/open.js';

/**
 * The composition root: the only place that reads the process environment and picks
 * implementations. Used by `eucp start`.
 */
export interface StartOptions {
  configFile?: string | undefined;
  flags?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
  /** Where to tell the operator how to log in (standard output by default). */
  print?: (line: string) => void;
}

export function pickSpawner(config: HubConfig, log: Logger): Spawner {
  switch (config.spawner.kind) {
    case 'local-sandbox':
      return new LocalSandboxSpawner({
        homeRoot: homeRootOf(config),
        dataDir: dataDirOf(config),
        logDir: path.join(config.stateDir, 'logs'),
        unixUserPrefix: config.spawner.unixUserPrefix,
        logger: log.child({ component: 'spawner' }),
      });
  }
}

/**
 * The data cache must exist to be mounted at /data. The default one (in the state
 * directory) is created empty if missing; a configured one that is missing is a
 * configuration error, named as such.
 */
function ensureDataDir(config: HubConfig, log: Logger): void {
  const dir = dataDirOf(config);
  if (existsSync(dir)) return;
  if (config.dataDir) throw new AppError('CONFIG_INVALID', `dataDir ${dir} does not exist.`, { key: 'dataDir' });
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  log.warn({ dataDir: dir }, 'the data cache is empty: add data there, or generate the demo data with: npm run eucp -- data generate');
}

/** Loads the configuration, builds the hub, listens and prints how to log in. */
export async function startHub(opts: StartOptions = {}): Promise<Hub> {
  const env = opts.env ?? process.env;
  const print = opts.print ?? ((line: string) => process.stdout.write(line + '\n'));
  const config = loadConfig({ file: opts.configFile, env, flags: opts.flags ?? {} });
  mkdirSync(config.stateDir, { recursive: true, mode: 0o700 });
  const log = createLogger(config.log.level);
  ensureDataDir(config, log);
  const hub = await createHub({ config, log, spawner: pickSpawner(config, log), storage: storagePoolFor(config, log) });
  const initial = await hub.ctx.accounts.ensureInitialAdmin();
  const url = await hub.listen().catch(async (err: NodeJS.ErrnoException) => {
    await hub.close().catch(() => {});
    if (err.code === 'EADDRINUSE' || err.code === 'EADDRNOTAVAIL' || err.code === 'EACCES') {
      throw new AppError('CONFIG_INVALID', `Cannot listen on ${config.ip}:${config.port} (${err.code}): choose another address or port with --ip/--port (a running hub? EUCP_STATE_DIR keeps hubs apart).`, { key: 'port' });
    }
    throw err;
  });
  print(`EUCP Notebook is running at ${url}`);
  if (initial) {
    print(`An administrator account was created: user "${initial.name}", one-time password "${initial.password}".`);
    print(`Log in at ${url}hub/login and add users on the admin page, or with: npm run eucp -- user add NAME`);
  } else {
    print(`Log in at ${url}hub/login (a new admin password: npm run eucp -- user password admin)`);
  }
  const shutdown = (signal: string): void => {
    log.info({ signal }, 'shutting down (user servers keep running)');
    hub.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  return hub;
}

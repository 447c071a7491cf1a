import path from 'node:path';
import { Accounts } from '@eucp/hub/accounts/accounts';
import { AuthService } from '@eucp/hub/auth/service';
import { loadConfig, type HubConfig } from '@eucp/hub/config/index';
import { openDatabase, type Db } from '@eucp/hub/db/index';

/** The hub services the account commands work on, over the hub's own database. */
export interface HubServices {
  config: HubConfig;
  db: Db;
  accounts: Accounts;
  auth: AuthService;
  /** Closes the database. */
  close(): Promise<void>;
}

export interface OpenHubServicesOptions {
  /** TOML configuration file. */
  configFile?: string | undefined;
  /** Environment to read `EUCP_*` from (default `process.env`). */
  env?: NodeJS.ProcessEnv;
}

/**
 * Opens the hub's configuration and database (`db.url`, else `<stateDir>/hub.sqlite`,
 * migrated to the latest schema) and builds `Accounts` and `AuthService` over them.
 * Throws `CONFIG_INVALID` for a bad configuration or database URL.
 */
export async function openHubServices(opts: OpenHubServicesOptions = {}): Promise<HubServices> {
  const config = loadConfig({ file: opts.configFile, env: opts.env ?? process.env });
  const db = await openDatabase(config.db.url ?? path.join(config.stateDir, 'hub.sqlite'));
  const accounts = new Accounts(db);
  const auth = new AuthService({ db, config, accounts });
  return { config, db, accounts, auth, close: () => db.destroy() };
}

/** Runs `fn` with open services and always closes them. */
export async function withHubServices<T>(opts: OpenHubServicesOptions, fn: (s: HubServices) => Promise<T>): Promise<T> {
  const services = await openHubServices(opts);
  try {
    return await fn(services);
  } finally {
    await services.close();
  }
}

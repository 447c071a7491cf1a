import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import type { LabConfig } from './context.js';
import type { HubSettings } from './hub/oauth.js';

/** Everything `main.ts` needs to start: the lab config, where to listen, how to authenticate. */
export interface LabStartup {
  config: LabConfig;
  host: string;
  port: number;
  /** Hub mode (the JupyterHub single-user contract) when set; standalone token mode otherwise. */
  hub: (HubSettings & { activityUrl: string; activityIntervalMs: number }) | null;
  /** Standalone only: the token (from `--token`, `EUCP_LAB_TOKEN`, or generated). */
  token: string | null;
}

/** The built JupyterLab UI next to this package (`packages/lab-ui/dist`), if present. */
export function defaultUiDir(): string | null {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const dir = path.resolve(here, '../../lab-ui/dist');
  return existsSync(path.join(dir, 'static')) ? dir : null;
}

const Scopes = z.array(z.string());

/**
 * Reads the start-up settings from flags and the environment. Under a hub the JupyterHub
 * variables (contract §a.2) decide the base URL, the listening address and OAuth; alone,
 * `--port/--ip/--root/--base-url/--token` do. Throws with the name of a bad setting.
 */
export function readStartup(argv: string[], env: NodeJS.ProcessEnv): LabStartup {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      ip: { type: 'string' },
      root: { type: 'string' },
      'base-url': { type: 'string' },
      token: { type: 'string' },
      'state-dir': { type: 'string' },
      'runtime-dir': { type: 'string' },
      'ui-dir': { type: 'string' },
    },
    strict: false,
    allowPositionals: true,
  });
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  const rootDir = path.resolve(str(values.root) ?? env.EUCP_LAB_ROOT ?? env.HOME ?? homedir());
  const stateDir = path.resolve(str(values['state-dir']) ?? env.EUCP_LAB_STATE_DIR ?? path.join(rootDir, '.local/share/eucp-lab'));
  const runtimeDir = path.resolve(str(values['runtime-dir']) ?? env.EUCP_LAB_RUNTIME_DIR ?? stateDir);
  const uiDir = str(values['ui-dir']) ?? env.EUCP_LAB_UI_DIR ?? defaultUiDir();

  let host = str(values.ip) ?? '127.0.0.1';
  let port = Number(str(values.port) ?? env.EUCP_LAB_PORT ?? 8888);
  let baseUrl = str(values['base-url']) ?? '/';
  let hub: LabStartup['hub'] = null;

  if (env.JUPYTERHUB_API_TOKEN) {
    const need = (name: string): string => {
      const v = env[name];
      if (!v) throw new Error(`${name} is not set: the hub must pass the JupyterHub single-user environment.`);
      return v;
    };
    const serviceUrl = new URL(need('JUPYTERHUB_SERVICE_URL'));
    host = serviceUrl.hostname.replace(/^\[|\]$/g, '');
    port = Number(serviceUrl.port || 80);
    baseUrl = need('JUPYTERHUB_SERVICE_PREFIX');
    hub = {
      apiToken: need('JUPYTERHUB_API_TOKEN'),
      apiUrl: need('JUPYTERHUB_API_URL').replace(/\/$/, ''),
      clientId: need('JUPYTERHUB_CLIENT_ID'),
      callbackUrl: need('JUPYTERHUB_OAUTH_CALLBACK_URL'),
      servicePrefix: baseUrl,
      host: env.JUPYTERHUB_HOST ?? '',
      baseUrl: env.JUPYTERHUB_BASE_URL ?? '/',
      user: need('JUPYTERHUB_USER'),
      serverName: env.JUPYTERHUB_SERVER_NAME ?? '',
      accessScopes: Scopes.parse(JSON.parse(env.JUPYTERHUB_OAUTH_ACCESS_SCOPES ?? '[]')),
      activityUrl: need('JUPYTERHUB_ACTIVITY_URL'),
      activityIntervalMs: Number(env.JUPYTERHUB_ACTIVITY_INTERVAL ?? 300) * 1000,
    };
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be a port number (0–65535), got ${String(port)}.`);
  if (!baseUrl.startsWith('/')) baseUrl = `/${baseUrl}`;
  if (!baseUrl.endsWith('/')) baseUrl = `${baseUrl}/`;
  const defaultUrl = (env.JUPYTERHUB_DEFAULT_URL ?? 'lab').replace(/^\//, '');
  return {
    config: { baseUrl, rootDir, stateDir, runtimeDir, uiDir, defaultUrl },
    host,
    port,
    hub,
    token: hub ? null : (str(values.token) ?? env.EUCP_LAB_TOKEN ?? null),
  };
}

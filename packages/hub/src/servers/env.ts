import { serverPrefix, type ServerName, type UserName } from '@eucp/core';
import type { Limits } from '@eucp/core';

/** OAuth client id of a server: `jupyterhub-user-alice` or `jupyterhub-user-alice-gpu`. */
export function oauthClientId(user: UserName, server: ServerName): string {
  return server ? `jupyterhub-user-${user}-${server}` : `jupyterhub-user-${user}`;
}

/** Scopes that admit a visitor to this server (`JUPYTERHUB_OAUTH_ACCESS_SCOPES`). */
export function accessScopes(user: UserName, server: ServerName): string[] {
  return [`access:servers!server=${user}/${server}`, `access:servers!user=${user}`];
}

/** Scopes of the server's own API token (JupyterHub's built-in `server` role). */
export function serverTokenScopes(user: UserName, server: ServerName): string[] {
  return [`users:activity!user=${user}`, `access:servers!server=${user}/${server}`];
}

export interface SingleUserEnvInput {
  user: UserName;
  server: ServerName;
  apiToken: string;
  /** Hub API URL as seen from the server, without trailing slash. */
  hubApiUrl: string;
  /** JUPYTERHUB_SINGLEUSER_APP */
  app: string;
  limits: Limits;
  /** `https://hub.example.org` when the hub has a public URL, else ''. */
  publicHost: string;
}

/**
 * The environment of the JupyterHub single-user contract (contract §a.2), everything but
 * `JUPYTERHUB_SERVICE_URL`, which the spawner adds once it has chosen a port.
 */
export function singleUserEnv(i: SingleUserEnvInput): Record<string, string> {
  const prefix = serverPrefix(i.user, i.server);
  const scopes = JSON.stringify(accessScopes(i.user, i.server));
  const env: Record<string, string> = {
    JUPYTERHUB_API_TOKEN: i.apiToken,
    JPY_API_TOKEN: i.apiToken,
    JUPYTERHUB_CLIENT_ID: oauthClientId(i.user, i.server),
    JUPYTERHUB_COOKIE_HOST_PREFIX_ENABLED: '0',
    JUPYTERHUB_HOST: i.publicHost,
    JUPYTERHUB_OAUTH_CALLBACK_URL: `${prefix}oauth_callback`,
    JUPYTERHUB_OAUTH_SCOPES: scopes,
    JUPYTERHUB_OAUTH_ACCESS_SCOPES: scopes,
    JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES: '[]',
    JUPYTERHUB_USER: i.user,
    JUPYTERHUB_SERVER_NAME: i.server,
    JUPYTERHUB_API_URL: i.hubApiUrl,
    JUPYTERHUB_ACTIVITY_URL: `${i.hubApiUrl}/users/${i.user}/activity`,
    JUPYTERHUB_BASE_URL: '/',
    JUPYTERHUB_SERVICE_PREFIX: prefix,
    JUPYTERHUB_PUBLIC_URL: i.publicHost ? `${i.publicHost}${prefix}` : '',
    JUPYTERHUB_PUBLIC_HUB_URL: i.publicHost ? `${i.publicHost}/hub/` : '',
    JUPYTERHUB_SINGLEUSER_APP: i.app,
    // Activity every 60 s (JupyterHub's default is 300 s) so the idle culler sees fresh data.
    JUPYTERHUB_ACTIVITY_INTERVAL: '60',
  };
  if (i.limits.memoryLimitBytes !== null) env.MEM_LIMIT = String(i.limits.memoryLimitBytes);
  if (i.limits.cpuLimitCores !== null) env.CPU_LIMIT = String(i.limits.cpuLimitCores);
  return env;
}

import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HubConfig } from '../config/schema.js';

/** Which single-user server a user gets. */
export type ServerKind = 'lab' | 'singleuser';

/** The unmodified JupyterHub single-user server from Debian's `jupyterhub` package. */
export const SINGLEUSER_CMD: readonly string[] = ['/usr/bin/python3', '/usr/bin/jupyterhub-singleuser'];

/** How to start a server: its argv and the host paths it needs read-only in the sandbox. */
export interface ServerCommand {
  kind: ServerKind;
  cmd: readonly string[];
  /** Host paths bound read-only at the same path inside the sandbox (the lab server's code). */
  readOnlyBinds: readonly string[];
}

/** Root of this installation (the directory holding `packages/`). */
export function installRoot(): string {
  // packages/hub/{src,dist}/servers/server-command.{ts,js} → four levels up.
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
}

/**
 * The EUCP lab server's command and the parts of the installation it reads: its own and
 * core's compiled code, the npm dependencies and the built JupyterLab UI — never the
 * whole tree, which may hold the hub's state and other users' homes.
 */
export function labCommand(root = installRoot(), node = process.execPath): ServerCommand {
  const binds = [
    path.join(root, 'package.json'),
    path.join(root, 'node_modules'),
    ...['core', 'lab'].flatMap((p) => [path.join(root, 'packages', p, 'package.json'), path.join(root, 'packages', p, 'dist')]),
    path.join(root, 'packages', 'lab-ui', 'dist'),
  ];
  // Debian's node lives in /usr, which every sandbox has; another install needs its prefix.
  if (!node.startsWith('/usr/')) binds.push(path.dirname(path.dirname(node)));
  // A missing UI (not built yet) makes the lab answer 503 with what to do, not a failed spawn.
  return { kind: 'lab', cmd: [node, path.join(root, 'packages', 'lab', 'dist', 'main.js')], readOnlyBinds: binds.filter((b) => existsSync(b)) };
}

/**
 * The server `user` gets: the user's own setting, else the first of their groups (in
 * name order) that sets one, else `spawner.server`; an explicit `spawner.cmd` replaces
 * the command either way.
 */
export function serverCommandFor(spawner: HubConfig['spawner'], user: string, groups: readonly string[]): ServerCommand {
  const chosen =
    spawner.users[user]?.server ??
    [...groups].sort().map((g) => spawner.groups[g]?.server).find((s) => s !== undefined) ??
    spawner.server;
  const base = chosen === 'lab' ? labCommand() : { kind: 'singleuser' as const, cmd: SINGLEUSER_CMD, readOnlyBinds: [] };
  return spawner.cmd ? { ...base, cmd: spawner.cmd } : base;
}

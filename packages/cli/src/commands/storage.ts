import type { Command } from 'commander';
import { AppError, formatBytes, parseGroupName, parseUserName } from '@eucp/core';
import { parseSize } from '@eucp/hub/storage/sizes';
import { storagePoolFor } from '@eucp/hub/storage/open';
import { StorageService, type QuotaKind, type UnitStatus } from '@eucp/hub/storage/service';
import { createLogger } from '@eucp/hub/log/index';
import { withHubServices } from '../services.js';
import { configFileOf, processIo, table, type CliIo } from './cli-io.js';

/** `8G`, bytes, `none` (no limit) or `default` (the configured default). */
function limitArg(v: string | undefined, field: string): number | null | 'default' | undefined {
  if (v === undefined) return undefined;
  if (v === 'none') return null;
  if (v === 'default') return 'default';
  return parseSize(v, field);
}

function unitOf(opts: { user?: string; group?: string }): { kind: QuotaKind; name: string } {
  if (!!opts.user === !!opts.group) throw new AppError('INVALID_INPUT', 'Give exactly one of --user NAME or --group NAME.');
  return opts.user ? { kind: 'user', name: parseUserName(opts.user) } : { kind: 'group', name: parseGroupName(opts.group) };
}

const row = (u: UnitStatus): string[] => [
  `${u.kind} ${u.name}`,
  u.usedBytes === null ? 'not counted' : formatBytes(u.usedBytes),
  `${formatBytes(u.softBytes)}${u.softOverridden ? '' : ' (default)'}`,
  `${formatBytes(u.hardBytes)}${u.hardOverridden ? '' : ' (default)'}`,
  u.warning ?? '',
];

/**
 * `eucp storage quota show|set`: usage and quotas of users and group workspaces, on the
 * hub's database and storage pool (run as root on the hub's machine; works whether or
 * not the hub is running). A hard limit below current usage is refused, nothing changed.
 */
export function register(program: Command, io: CliIo = processIo): void {
  const quota = program.command('storage').description('storage areas and quotas').command('quota').description('show or change quotas');
  const run = async (cmd: Command, opts: { user?: string; group?: string }, fn: (s: StorageService, unit: { kind: QuotaKind; name: string }) => Promise<UnitStatus>): Promise<void> => {
    const unit = unitOf(opts);
    await withHubServices({ configFile: configFileOf(cmd), env: io.env }, async ({ config, db, accounts }) => {
      const exists = unit.kind === 'user'
        ? !!(await accounts.findUser(unit.name))
        : !!(await db.selectFrom('groups').select('id').where('name', '=', unit.name).executeTakeFirst());
      if (!exists) throw new AppError('NOT_FOUND', `No such ${unit.kind} ${unit.name}.`);
      const log = createLogger('error', process.stderr);
      const pool = storagePoolFor(config, log);
      await pool.open();
      const storage = new StorageService({ pool, db, config, log, now: Date.now });
      const status = await fn(storage, unit);
      io.out(table(['unit', 'used', 'soft', 'hard', 'warning'], [row(status)]));
      if (!pool.enforced) io.out('Quotas are not enforced (storage.backend = "plain").\n');
    });
  };

  quota.command('show')
    .description('usage and limits of a user (home + /derived) or a group workspace')
    .option('--user <name>', 'a hub user')
    .option('--group <name>', 'a hub group')
    .option('--config <file>', 'TOML configuration file')
    .action(async (opts: { user?: string; group?: string }, cmd: Command) => {
      await run(cmd, opts, (s, u) => s.unitStatus(u.kind, u.name));
    });

  quota.command('set')
    .description('override the soft and/or hard limit (sizes like 8G or 500M; none = no limit; default = the configured default)')
    .option('--user <name>', 'a hub user (the limit covers home and /derived together)')
    .option('--group <name>', 'a hub group (its workspace /groups/<name>)')
    .option('--soft <size>', 'soft limit: above it the owners are warned')
    .option('--hard <size>', 'hard limit: the filesystem refuses writes beyond it')
    .option('--config <file>', 'TOML configuration file')
    .action(async (opts: { user?: string; group?: string; soft?: string; hard?: string }, cmd: Command) => {
      if (opts.soft === undefined && opts.hard === undefined) throw new AppError('INVALID_INPUT', 'Give --soft and/or --hard.');
      await run(cmd, opts, (s, u) => s.setQuota(u.kind, u.name, { softBytes: limitArg(opts.soft, 'soft'), hardBytes: limitArg(opts.hard, 'hard') }, 'cli'));
    });
}

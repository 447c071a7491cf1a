import type { Command } from 'commander';
import { AppError } from '@eucp/core';
import { withHubServices } from '../services.js';
import { configFileOf, processIo, type CliIo } from './cli-io.js';

/**
 * `eucp token issue NAME [--scopes a,b] [--note TEXT] [--expires-in SECONDS]`: issues an
 * API token for a user and prints only the token. Scopes default to `inherit` (whatever
 * the user may do); scopes the user does not hold are refused.
 */
export function register(program: Command, io: CliIo = processIo): void {
  const token = program.command('token').description('manage API tokens');

  token.command('issue')
    .description('issue an API token for a user (printed once on standard output)')
    .argument('<name>', 'user name')
    .option('--scopes <list>', 'comma-separated scopes (default: inherit = all of the user\'s permissions)')
    .option('--note <text>', 'what the token is for', 'Issued with eucp token issue')
    .option('--expires-in <seconds>', 'lifetime in seconds (default: no expiry)')
    .option('--config <file>', 'TOML configuration file')
    .action(async (name: string, opts: { scopes?: string; note: string; expiresIn?: string }, cmd: Command) => {
      const scopes = opts.scopes ? opts.scopes.split(',').map((s) => s.trim()).filter(Boolean) : ['inherit'];
      let expiresInMs: number | null = null;
      if (opts.expiresIn !== undefined) {
        const s = Number(opts.expiresIn);
        if (!/^\d+$/.test(opts.expiresIn) || !Number.isSafeInteger(s) || s <= 0) {
          throw new AppError('INVALID_INPUT', `--expires-in ${opts.expiresIn}: give a positive whole number of seconds.`);
        }
        expiresInMs = s * 1000;
      }
      await withHubServices({ configFile: configFileOf(cmd), env: io.env }, async ({ accounts, auth }) => {
        const u = await accounts.getUser(name);
        auth.checkGrantableScopes(scopes, u, null);
        const issued = await auth.issueToken({ userId: u.id, scopes, note: opts.note, expiresInMs });
        io.out(`${issued.token}\n`);
      });
    });
}

import type { Command } from 'commander';
import { AppError, isoformat } from '@eucp/core';
import { generatePassword } from '@eucp/hub/auth/passwords';
import { withHubServices } from '../services.js';
import { configFileOf, passwordFromStdin, processIo, table, type CliIo } from './cli-io.js';

/**
 * `eucp user add|list|remove|password`: manage hub accounts directly in the hub's
 * database (works whether or not the hub is running). Audit entries name the actor `cli`.
 */
export function register(program: Command, io: CliIo = processIo): void {
  const user = program.command('user').description('manage user accounts');

  user.command('add')
    .description('create a user; prints a generated password once unless --password-stdin')
    .argument('<name>', 'user name (lower-case letters, digits, - and _)')
    .option('--admin', 'make the user an administrator')
    .option('--password-stdin', 'read the password from standard input')
    .option('--config <file>', 'TOML configuration file')
    .action(async (name: string, opts: { admin?: boolean; passwordStdin?: boolean }, cmd: Command) => {
      const password = opts.passwordStdin ? await passwordFromStdin(io) : generatePassword();
      await withHubServices({ configFile: configFileOf(cmd), env: io.env }, async ({ accounts }) => {
        const u = await accounts.createUser(name, { admin: opts.admin ?? false, password, actor: 'cli' });
        io.out(`created user ${u.name}${u.admin ? ' (admin)' : ''}\n`);
        if (!opts.passwordStdin) io.out(`password: ${password}\n(shown once; change it with: eucp user password ${u.name} --password-stdin)\n`);
      });
    });

  user.command('list')
    .description('list users: name, admin, groups, created')
    .option('--config <file>', 'TOML configuration file')
    .action(async (_opts: unknown, cmd: Command) => {
      await withHubServices({ configFile: configFileOf(cmd), env: io.env }, async ({ accounts }) => {
        const users = await accounts.listUsers();
        const groups = await accounts.groupsOfUsers(users.map((u) => u.id));
        io.out(table(['NAME', 'ADMIN', 'GROUPS', 'CREATED'], users.map((u) => [
          u.name, u.admin ? 'yes' : 'no', (groups.get(u.id) ?? []).join(',') || '-', isoformat(u.createdAt) ?? '-',
        ])));
      });
    });

  user.command('remove')
    .description('delete a user with their tokens and sessions (their servers must be stopped)')
    .argument('<name>', 'user name')
    .option('--config <file>', 'TOML configuration file')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      await withHubServices({ configFile: configFileOf(cmd), env: io.env }, async ({ accounts, db }) => {
        const u = await accounts.getUser(name);
        const active = await db.selectFrom('servers').select('name').where('user_id', '=', u.id)
          .where('state', 'in', ['starting', 'running', 'stopping']).executeTakeFirst();
        if (active) throw new AppError('INVALID_INPUT', `${name} has a running server; stop it first (hub home page or DELETE /hub/api/users/${name}/server).`);
        await accounts.removeUser(name, 'cli');
        io.out(`removed user ${name}\n`);
      });
    });

  user.command('password')
    .description('set a password (generated and printed once unless --password-stdin); ends the user\'s sessions')
    .argument('<name>', 'user name')
    .option('--password-stdin', 'read the password from standard input')
    .option('--config <file>', 'TOML configuration file')
    .action(async (name: string, opts: { passwordStdin?: boolean }, cmd: Command) => {
      const password = opts.passwordStdin ? await passwordFromStdin(io) : generatePassword();
      await withHubServices({ configFile: configFileOf(cmd), env: io.env }, async ({ accounts, auth }) => {
        const u = await accounts.getUser(name);
        await accounts.setPassword(name, password, 'cli');
        await auth.destroyUserSessions(u.id);
        io.out(`password of ${name} changed\n`);
        if (!opts.passwordStdin) io.out(`password: ${password}\n`);
      });
    });
}

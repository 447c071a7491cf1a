import type { Command } from 'commander';
import { withHubServices } from '../services.js';
import { configFileOf, processIo, type CliIo } from './cli-io.js';

const collect = (value: string, previous: string[] = []): string[] => [...previous, ...value.split(',').filter(Boolean)];

/** `eucp group add|members`: manage hub groups directly in the hub's database. */
export function register(program: Command, io: CliIo = processIo): void {
  const group = program.command('group').description('manage groups');

  group.command('add')
    .description('create a group')
    .argument('<name>', 'group name (lower-case letters, digits, - and _)')
    .option('--config <file>', 'TOML configuration file')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      await withHubServices({ configFile: configFileOf(cmd), env: io.env }, async ({ accounts }) => {
        const g = await accounts.createGroup(name, { actor: 'cli' });
        io.out(`created group ${g.name}\n`);
      });
    });

  group.command('members')
    .description('print the members of a group, after adding/removing the given users (all or nothing)')
    .argument('<name>', 'group name')
    .option('--add <users...>', 'users to add (space- or comma-separated)', collect)
    .option('--remove <users...>', 'users to remove (space- or comma-separated)', collect)
    .option('--config <file>', 'TOML configuration file')
    .action(async (name: string, opts: { add?: string[]; remove?: string[] }, cmd: Command) => {
      await withHubServices({ configFile: configFileOf(cmd), env: io.env }, async ({ accounts }) => {
        const g = opts.add?.length || opts.remove?.length
          ? await accounts.changeGroupMembers(name, { add: opts.add ?? [], remove: opts.remove ?? [] }, 'cli')
          : await accounts.getGroup(name);
        io.out(g.users.map((u) => `${u}\n`).join(''));
      });
    });
}

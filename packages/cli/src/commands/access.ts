import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { AppError, type UserName } from '@eucp/core';
import { AccessService, policyFilesOf, type AccessActor } from '@eucp/hub/access/index';
import { createLogger } from '@eucp/hub/log/index';
import { withHubServices, type HubServices } from '../services.js';
import { configFileOf, processIo, type CliIo } from './cli-io.js';

const ROLES = ['user', 'admin'];
/** The CLI acts with the hub administrator's view (invisible groups included). */
const CLI_ACTOR: AccessActor = { id: 0, name: 'cli' as UserName, hubAdmin: true };

/** The access service over the CLI's database; policies are compiled (a broken file throws naming it). */
function accessOf(s: HubServices): AccessService {
  return new AccessService({ db: s.db, config: s.config, log: createLogger('warn'), accounts: s.accounts });
}

/**
 * `eucp access group|grant|policies`: ESGF access groups, direct grants and the policy files,
 * on the hub's database (a running hub sees groups and grants at once; policy edits need
 * `POST /hub/api/eucp/access/policies/reload` or a restart).
 */
export function register(program: Command, io: CliIo = processIo): void {
  const access = program.command('access').description('manage data access groups, grants and policies');
  const run = (cmd: Command, fn: (s: HubServices) => Promise<void>) => withHubServices({ configFile: configFileOf(cmd), env: io.env }, fn);

  access.command('group')
    .description('create an access group, or change the given settings of one')
    .argument('<name>', 'group name, e.g. "CORDEX Research"')
    .option('--description <text>', 'what the group is for')
    .option('--visible <yes|no>', 'listed to everyone (yes) or only to members and admins (no)')
    .option('--automatic-approval <yes|no>', 'requests are approved at once')
    .option('--licence <id>', 'licence id members accept (with --licence-file)')
    .option('--licence-file <file>', 'licence text (Markdown) members accept')
    .option('--no-licence', 'remove the licence')
    .option('--config <file>', 'TOML configuration file')
    .action(async (name: string, opts: { description?: string; visible?: string; automaticApproval?: string; licence?: string | false; licenceFile?: string }, cmd: Command) => {
      if ((typeof opts.licence === 'string') !== (opts.licenceFile !== undefined)) {
        throw new AppError('INVALID_INPUT', 'Give --licence and --licence-file together (or --no-licence).');
      }
      const licenceText = opts.licenceFile === undefined ? undefined : await readFile(opts.licenceFile, 'utf8');
      await run(cmd, async (s) => {
        const svc = accessOf(s);
        const existing = (await svc.listGroups(CLI_ACTOR)).find((g) => g.name === name);
        const g = await svc.upsertGroup({
          name,
          description: opts.description ?? existing?.description ?? '',
          grants: existing?.grants ?? '',
          visible: yesNo(opts.visible, '--visible') ?? existing?.visible ?? true,
          automaticApproval: yesNo(opts.automaticApproval, '--automatic-approval') ?? existing?.automaticApproval ?? false,
          licenceId: opts.licence === false ? null : opts.licence ?? existing?.licenceId ?? null,
          licenceText: opts.licence === false ? null : licenceText ?? existing?.licenceText ?? null,
        }, 'cli');
        io.out(`${existing ? 'changed' : 'created'} access group ${g.name} (visible: ${g.visible ? 'yes' : 'no'}, automatic approval: ${g.automaticApproval ? 'yes' : 'no'}, licence: ${g.licenceId ?? 'none'})\n`);
      });
    });

  access.command('grant')
    .description('make a user an approved member of an access group (audited)')
    .argument('<user>', 'user name')
    .argument('<group>', 'access group name')
    .option('--role <role>', `role: ${ROLES.join(' or ')}`, 'user')
    .option('--config <file>', 'TOML configuration file')
    .action(async (user: string, group: string, opts: { role: string }, cmd: Command) => {
      if (!ROLES.includes(opts.role)) throw new AppError('INVALID_INPUT', `--role must be ${ROLES.join(' or ')}, not ${opts.role}.`);
      await run(cmd, async (s) => {
        const u = await s.accounts.getUser(user);
        await accessOf(s).grantMembership(u.id, group, opts.role, true, 'cli');
        io.out(`${user} is an approved ${opts.role} of ${group} (restart their server to see newly readable data)\n`);
      });
    });

  access.command('policies')
    .description('check that the configured policy files compile (the hub refuses to start otherwise)')
    .option('--config <file>', 'TOML configuration file')
    .action(async (_opts: unknown, cmd: Command) => {
      await run(cmd, async (s) => {
        const files = policyFilesOf(s.config);
        const n = accessOf(s).policies.rules.length;
        io.out(`${n} policies in ${files.length ? files.join(', ') : 'no policy file'}: OK\n`);
      });
    });
}

function yesNo(v: string | undefined, flag: string): boolean | undefined {
  if (v === undefined) return undefined;
  if (/^(yes|true|1)$/i.test(v)) return true;
  if (/^(no|false|0)$/i.test(v)) return false;
  throw new AppError('INVALID_INPUT', `${flag} takes yes or no, not ${v}.`);
}

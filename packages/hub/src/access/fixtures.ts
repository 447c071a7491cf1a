/**
 * Imports access groups (and, for the demo, users with their memberships) from a directory
 * in the EUCP-SYN layout (synthetic-climate-data.md §3.4): `groups.json`,
 * `licences/<id>.md`, `users.json`.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { AppError } from '@eucp/core';
import type { Accounts } from '../accounts/accounts.js';
import type { AccessService } from './service.js';

const groupsFile = z.array(z.object({
  name: z.string().min(1).max(200),
  description: z.string().default(''),
  visible: z.boolean().default(true),
  automatic_approval: z.boolean().default(false),
  licence: z.string().regex(/^[A-Za-z0-9._-]+$/).nullable().default(null),
  grants: z.string().default(''),
}));

const usersFile = z.array(z.object({
  username: z.string(),
  site_admin: z.boolean().default(false),
  memberships: z.array(z.object({ group: z.string(), role: z.string(), approved: z.boolean() })).default([]),
}));

async function readJson<S extends z.ZodType>(file: string, schema: S): Promise<z.infer<S>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new AppError('CONFIG_INVALID', `Cannot read ${file}: ${(err as Error).message}`, { key: 'access.fixturesDir' });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new AppError('CONFIG_INVALID', `${file} is not valid JSON: ${(err as Error).message}`, { key: 'access.fixturesDir' });
  }
  const r = schema.safeParse(data);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new AppError('CONFIG_INVALID', `${file}: "${issue.path.join('.')}": ${issue.message}`, { key: 'access.fixturesDir' });
  }
  return r.data;
}

export interface ImportResult {
  groups: number;
  users: number;
  memberships: number;
}

/**
 * Creates or updates the groups of `<dir>/groups.json` with their licence texts; with
 * `users`, also creates the accounts of `users.json` that do not exist (no password; site
 * admins as hub admins) and sets their memberships (approved or pending), decided by
 * `import`. Writes one `import` audit row. Throws `CONFIG_INVALID` naming the bad file.
 */
export async function importAccessFixtures(service: AccessService, dir: string, opts: { users: boolean; accounts?: Accounts }): Promise<ImportResult> {
  const groups = await readJson(path.join(dir, 'groups.json'), groupsFile);
  for (const g of groups) {
    let licenceText: string | null = null;
    if (g.licence) {
      const file = path.join(dir, 'licences', `${g.licence}.md`);
      try {
        licenceText = await readFile(file, 'utf8');
      } catch (err) {
        throw new AppError('CONFIG_INVALID', `The licence of access group ${g.name} cannot be read: ${file}: ${(err as Error).message}`, { key: 'access.fixturesDir' });
      }
    }
    await service.upsertGroup({
      name: g.name, description: g.description, grants: g.grants, visible: g.visible,
      automaticApproval: g.automatic_approval, licenceId: g.licence, licenceText,
    });
  }
  let users = 0;
  let memberships = 0;
  if (opts.users) {
    if (!opts.accounts) throw new AppError('INTERNAL', 'Importing users needs the accounts service.');
    for (const u of await readJson(path.join(dir, 'users.json'), usersFile)) {
      let user = await opts.accounts.findUser(u.username);
      if (!user) {
        user = await opts.accounts.createUser(u.username, { admin: u.site_admin, actor: 'import' });
        users++;
      }
      for (const m of u.memberships) {
        await service.grantMembership(user.id, m.group, m.role.toLowerCase(), m.approved, 'import');
        memberships++;
      }
    }
  }
  await service.recordImport({ dir, groups: groups.length, users, memberships });
  return { groups: groups.length, users, memberships };
}

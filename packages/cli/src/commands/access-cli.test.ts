import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { AppError } from '@eucp/core';
import { AccessService } from '@eucp/hub/access/index';
import { createLogger } from '@eucp/hub/log/index';
import { openHubServices } from '../services.js';
import type { CliIo } from './cli-io.js';
import { register as registerUser } from './user.js';
import { register as registerAccess } from './access.js';

let stateDir: string;
beforeEach(() => { stateDir = mkdtempSync(path.join(tmpdir(), 'eucp-cli-access-')); });
afterEach(() => { rmSync(stateDir, { recursive: true, force: true }); });

async function run(args: string[]): Promise<{ out: string; error: AppError | null }> {
  let out = '';
  const io: CliIo = { out: (t) => { out += t; }, readStdin: async () => '', env: { EUCP_STATE_DIR: stateDir } };
  const program = new Command('eucp').exitOverride();
  registerUser(program, io);
  registerAccess(program, io);
  try {
    await program.parseAsync(args, { from: 'user' });
    return { out, error: null };
  } catch (err) {
    if (err instanceof AppError) return { out, error: err };
    throw err;
  }
}

describe('eucp access (in process)', () => {
  it('creates a group with a licence, changes one setting, and grants a membership the hub then honours', async () => {
    const licence = path.join(stateDir, 'licence.md');
    writeFileSync(licence, 'Non-commercial research only.\n');
    const created = await run(['access', 'group', 'Ice Sheet Modellers', '--visible', 'no', '--licence', 'ice-v1', '--licence-file', licence]);
    assert.equal(created.error, null);
    assert.match(created.out, /created access group Ice Sheet Modellers \(visible: no, automatic approval: no, licence: ice-v1\)/);
    const changed = await run(['access', 'group', 'Ice Sheet Modellers', '--automatic-approval', 'yes']);
    assert.match(changed.out, /changed access group .* \(visible: no, automatic approval: yes, licence: ice-v1\)/);

    await run(['user', 'add', 'bob']);
    const granted = await run(['access', 'grant', 'bob', 'Ice Sheet Modellers']);
    assert.equal(granted.error, null);
    const s = await openHubServices({ env: { EUCP_STATE_DIR: stateDir } });
    try {
      const svc = new AccessService({ db: s.db, config: s.config, log: createLogger('silent'), accounts: s.accounts });
      const bob = await s.accounts.getUser('bob');
      const [m] = await svc.membershipsOf(bob.id);
      assert.deepEqual(m && [m.group, m.role, m.approved], ['Ice Sheet Modellers', 'user', true]);
      const g = await svc.getGroup('Ice Sheet Modellers', { id: bob.id, name: bob.name, hubAdmin: false });
      assert.equal(g.licenceText, 'Non-commercial research only.\n');
    } finally {
      await s.close();
    }
  });

  it('refuses bad input without changing anything', async () => {
    assert.match((await run(['access', 'group', 'X', '--licence', 'l1'])).error?.message ?? '', /--licence and --licence-file together/);
    assert.match((await run(['access', 'group', 'X', '--visible', 'maybe'])).error?.message ?? '', /--visible takes yes or no/);
    await run(['user', 'add', 'bob']);
    assert.equal((await run(['access', 'grant', 'bob', 'No Such Group'])).error?.code, 'NOT_FOUND');
    assert.match((await run(['access', 'grant', 'bob', 'X', '--role', 'owner'])).error?.message ?? '', /--role must be user or admin/);
  });

  it('policies names a broken regex and its file', async () => {
    const file = path.join(stateDir, 'policies.xml');
    writeFileSync(file, '<policies><policy resource="^cordex.(" attribute_type="ANY" attribute_value="" action="Read"/></policies>\n');
    const config = path.join(stateDir, 'hub.toml');
    writeFileSync(config, `[access]\npolicyFiles = [${JSON.stringify(file)}]\n`);
    const bad = await run(['access', 'policies', '--config', config]);
    assert.equal(bad.error?.code, 'ACCESS_POLICY_INVALID');
    assert.match(bad.error?.message ?? '', /\^cordex\.\(/);
    writeFileSync(file, '<policies><policy resource="^cordex\\." attribute_type="ANY" attribute_value="" action="Read"/></policies>\n');
    assert.match((await run(['access', 'policies', '--config', config])).out, /^1 policies in .*policies\.xml: OK$/m);
  });
});

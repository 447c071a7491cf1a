import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { AppError } from '@eucp/core';
import { openHubServices } from '../services.js';
import type { CliIo } from './cli-io.js';
import { register as registerUser } from './user.js';
import { register as registerGroup } from './group.js';
import { register as registerToken } from './token.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
let stateDir: string;

beforeEach(() => { stateDir = mkdtempSync(path.join(tmpdir(), 'eucp-cli-')); });
afterEach(() => { rmSync(stateDir, { recursive: true, force: true }); });

/** Runs the account commands in process with captured output; errors come back as the thrown AppError. */
async function run(args: string[], stdin = ''): Promise<{ out: string; error: AppError | null }> {
  let out = '';
  const io: CliIo = { out: (t) => { out += t; }, readStdin: async () => stdin, env: { EUCP_STATE_DIR: stateDir } };
  const program = new Command('eucp').exitOverride();
  registerUser(program, io);
  registerGroup(program, io);
  registerToken(program, io);
  try {
    await program.parseAsync(args, { from: 'user' });
    return { out, error: null };
  } catch (err) {
    if (err instanceof AppError) return { out, error: err };
    throw err;
  }
}

async function withServices<T>(fn: (s: Awaited<ReturnType<typeof openHubServices>>) => Promise<T>): Promise<T> {
  const s = await openHubServices({ env: { EUCP_STATE_DIR: stateDir } });
  try { return await fn(s); } finally { await s.close(); }
}

describe('eucp user/group/token (in process)', () => {
  it('user add prints a generated password once that logs in; --password-stdin uses the given one', async () => {
    const a = await run(['user', 'add', 'alice', '--admin']);
    assert.equal(a.error, null);
    const pw = /^password: (\S+)$/m.exec(a.out)?.[1];
    assert.ok(pw && pw.length >= 20);
    const b = await run(['user', 'add', 'bob', '--password-stdin'], 'bob-secret-pw\n');
    assert.doesNotMatch(b.out, /password:/);
    await withServices(async ({ accounts }) => {
      assert.equal((await accounts.verifyPassword('alice', pw))?.admin, true);
      assert.ok(await accounts.verifyPassword('bob', 'bob-secret-pw'));
    });
  });

  it('errors change nothing: duplicate, invalid name, empty stdin password', async () => {
    await run(['user', 'add', 'alice']);
    assert.equal((await run(['user', 'add', 'alice'])).error?.code, 'NAME_TAKEN');
    assert.equal((await run(['user', 'add', 'Bad'])).error?.code, 'INVALID_NAME');
    assert.equal((await run(['user', 'add', 'carol', '--password-stdin'], '\n')).error?.code, 'INVALID_INPUT');
    assert.equal((await run(['user', 'add', 'carol', '--password-stdin'], 'short\n')).error?.code, 'INVALID_INPUT');
    await withServices(async ({ accounts }) => {
      assert.deepEqual((await accounts.listUsers()).map((u) => u.name), ['alice']);
    });
  });

  it('user list shows a table with groups; group members adds/removes all-or-nothing', async () => {
    await run(['user', 'add', 'alice', '--admin']);
    await run(['user', 'add', 'bob']);
    assert.equal((await run(['group', 'add', 'climate'])).out, 'created group climate\n');
    assert.equal((await run(['group', 'add', 'climate'])).error?.code, 'NAME_TAKEN');
    assert.equal((await run(['group', 'members', 'climate', '--add', 'alice', 'bob'])).out, 'alice\nbob\n');
    const bad = await run(['group', 'members', 'climate', '--remove', 'alice', '--add', 'ghost']);
    assert.equal(bad.error?.code, 'INVALID_INPUT');
    assert.equal((await run(['group', 'members', 'climate'])).out, 'alice\nbob\n', 'unchanged after the error');
    assert.equal((await run(['group', 'members', 'climate', '--remove', 'alice'])).out, 'bob\n');
    const list = (await run(['user', 'list'])).out.split('\n');
    assert.match(list[0]!, /^NAME\s+ADMIN\s+GROUPS\s+CREATED$/);
    assert.match(list[1]!, /^alice\s+yes\s+-\s+\d{4}-\d\d-\d\dT/);
    assert.match(list[2]!, /^bob\s+no\s+climate\s+\d{4}-/);
  });

  it('user password changes the password and ends sessions; user remove deletes; last admin stays', async () => {
    await run(['user', 'add', 'alice', '--admin']);
    await run(['user', 'add', 'bob', '--password-stdin'], 'old-password-1');
    const session = await withServices(async ({ accounts, auth }) => auth.createSession((await accounts.getUser('bob')).id));
    await run(['user', 'password', 'bob', '--password-stdin'], 'new-password-2\n');
    await withServices(async ({ accounts, auth }) => {
      assert.equal(await accounts.verifyPassword('bob', 'old-password-1'), null);
      assert.ok(await accounts.verifyPassword('bob', 'new-password-2'));
      assert.equal(await auth.resolveSession(session.cookieValue), null);
    });
    assert.equal((await run(['user', 'password', 'nobody'])).error?.code, 'NOT_FOUND');
    assert.equal((await run(['user', 'remove', 'bob'])).out, 'removed user bob\n');
    assert.equal((await run(['user', 'remove', 'alice'])).error?.code, 'LAST_ADMIN');
    assert.equal((await run(['user', 'remove', 'bob'])).error?.code, 'NOT_FOUND');
  });

  it('token issue prints only a working token with the requested scopes; refuses scopes the user lacks', async () => {
    await run(['user', 'add', 'alice']);
    const r = await run(['token', 'issue', 'alice', '--scopes', 'read:users!user=alice,access:servers!user=alice', '--note', 'ci', '--expires-in', '3600']);
    assert.equal(r.error, null);
    assert.match(r.out, /^[0-9a-f]{64}\n$/);
    await withServices(async ({ auth, accounts }) => {
      const ctx = await auth.authenticateHeaders({ authorization: `token ${r.out.trim()}` });
      assert.equal(ctx?.user.name, 'alice');
      assert.ok(ctx?.scopes.includes('access:servers!user=alice'));
      assert.ok(!ctx?.scopes.includes('tokens!user=alice'));
      const [t] = (await auth.listTokens((await accounts.getUser('alice')).id));
      assert.equal(t?.note, 'ci');
    });
    assert.equal((await run(['token', 'issue', 'alice', '--scopes', 'admin:users'])).error?.code, 'INVALID_INPUT');
    assert.equal((await run(['token', 'issue', 'alice', '--expires-in', '-5'])).error?.code, 'INVALID_INPUT');
    await withServices(async ({ auth, accounts }) => {
      assert.equal((await auth.listTokens((await accounts.getUser('alice')).id)).length, 1);
    });
  });
});

function eucp(args: string[], stdin: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'packages/cli/src/main.ts', ...args], {
      cwd: REPO, env: { ...process.env, EUCP_STATE_DIR: stateDir }, stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

describe('eucp (real process)', () => {
  it('reads the password from stdin, prints a token, and exits 2 with the catalog action on errors', async () => {
    const add = await eucp(['user', 'add', 'alice', '--password-stdin'], 'alice-password\n');
    assert.equal(add.code, 0, add.stderr);
    assert.equal(add.stdout, 'created user alice\n');
    const token = await eucp(['token', 'issue', 'alice'], '');
    assert.equal(token.code, 0, token.stderr);
    assert.match(token.stdout, /^[0-9a-f]{64}\n$/);
    const dup = await eucp(['user', 'add', 'alice', '--password-stdin'], 'other-password\n');
    assert.equal(dup.code, 2);
    assert.equal(dup.stdout, '');
    assert.equal(dup.stderr, 'error: That name is already taken. User alice already exists.\nChoose another name, or use the existing one.\n');
    await withServices(async ({ accounts }) => {
      assert.ok(await accounts.verifyPassword('alice', 'alice-password'), 'the failed command changed nothing');
    });
  });
});

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { configSchema } from '../config/schema.js';
import { SINGLEUSER_CMD, installRoot, labCommand, serverCommandFor } from './server-command.js';

const spawnerWith = (toml: Record<string, unknown>) => configSchema.parse({ spawner: toml }).spawner;

describe('serverCommandFor', () => {
  it('gives everyone the lab server by default, run by this node from the compiled package', () => {
    const c = serverCommandFor(spawnerWith({}), 'alice', []);
    assert.equal(c.kind, 'lab');
    assert.deepEqual(c.cmd, [process.execPath, path.join(installRoot(), 'packages/lab/dist/main.js')]);
    assert.ok(existsSync(path.join(installRoot(), 'packages/lab/package.json')), 'installRoot() is the repository root');
  });

  it('lets a user or a group choose the unmodified jupyterhub-singleuser, the user winning', () => {
    const s = spawnerWith({ groups: { legacy: { server: 'singleuser' } }, users: { carol: { server: 'lab' } } });
    assert.deepEqual(serverCommandFor(s, 'bob', ['legacy']).cmd, SINGLEUSER_CMD);
    assert.equal(serverCommandFor(s, 'carol', ['legacy']).kind, 'lab');
    assert.equal(serverCommandFor(s, 'dave', []).kind, 'lab');
  });

  it('uses an explicit spawner.cmd as given', () => {
    const c = serverCommandFor(spawnerWith({ server: 'singleuser', cmd: ['/usr/bin/python3', '/srv/echo.py'] }), 'alice', []);
    assert.deepEqual(c.cmd, ['/usr/bin/python3', '/srv/echo.py']);
  });
});

describe('labCommand', () => {
  it('binds only the code the lab server reads, never the whole tree (which may hold homes and the hub database)', () => {
    const root = installRoot();
    const { readOnlyBinds } = labCommand(root, '/usr/bin/node');
    assert.ok(!readOnlyBinds.includes(root));
    for (const b of readOnlyBinds) {
      assert.ok(b.startsWith(root + path.sep), b);
      assert.match(path.relative(root, b), /^(package\.json|node_modules|packages\/(core|lab)\/(package\.json|dist)|packages\/lab-ui\/dist)$/);
    }
  });

  it('adds the prefix of a node installed outside /usr', () => {
    const prefix = mkdtempSync(path.join(tmpdir(), 'node-prefix-'));
    try {
      assert.ok(labCommand(installRoot(), path.join(prefix, 'bin/node')).readOnlyBinds.includes(prefix));
    } finally {
      rmSync(prefix, { recursive: true });
    }
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AppError } from '@eucp/core';
import { envName, loadConfig } from './load.js';

function tomlFile(text: string): { file: string; done: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'eucp-config-'));
  const file = path.join(dir, 'eucp.toml');
  writeFileSync(file, text);
  return { file, done: () => rmSync(dir, { recursive: true, force: true }) };
}

const configError = (re: RegExp) => (e: unknown) => e instanceof AppError && e.code === 'CONFIG_INVALID' && re.test(e.message);

describe('configuration', () => {
  it('has documented defaults', () => {
    const c = loadConfig({});
    assert.equal(c.ip, '127.0.0.1');
    assert.equal(c.port, 8000);
    assert.equal(c.stateDir, path.resolve('.eucp'));
    assert.equal(c.spawner.defaults.memoryLimitBytes, 2 * 1024 ** 3);
  });

  it('applies defaults < file < env < flags', () => {
    const t = tomlFile('port = 9001\nip = "127.0.0.2"\n[culler]\ntimeoutMs = 1000\n');
    try {
      const c = loadConfig({ file: t.file, env: { EUCP_PORT: '9002', EUCP_CULLER__TIMEOUT_MS: '2000' }, flags: { port: 9003 } });
      assert.equal(c.port, 9003);
      assert.equal(c.ip, '127.0.0.2');
      assert.equal(c.culler.timeoutMs, 2000);
      assert.equal(c.culler.everyMs, 300_000);
    } finally { t.done(); }
  });

  it('EUCP_STATE_DIR chooses the state directory', () => {
    assert.equal(loadConfig({ env: { EUCP_STATE_DIR: '/tmp/hub-a' } }).stateDir, '/tmp/hub-a');
  });

  it('names the unknown key and the file it is in', () => {
    const t = tomlFile('[spawner]\nmemoryLimit = 5\n');
    try {
      assert.throws(() => loadConfig({ file: t.file }), configError(new RegExp(`unknown key "spawner.memoryLimit" in ${t.file}`)));
    } finally { t.done(); }
  });

  it('names a wrongly typed key and where it came from', () => {
    const t = tomlFile('port = "eighty"\n');
    try {
      assert.throws(() => loadConfig({ file: t.file }), configError(/"port" in .*eucp\.toml/));
    } finally { t.done(); }
    assert.throws(() => loadConfig({ env: { EUCP_PORT: 'abc' } }), configError(/EUCP_PORT="abc" is not a number/));
    assert.throws(() => loadConfig({ flags: { port: 70000 } }), configError(/"port" in the command line/));
  });

  it('reports unreadable and malformed files', () => {
    assert.throws(() => loadConfig({ file: '/nonexistent/eucp.toml' }), configError(/Cannot read config file/));
    const t = tomlFile('port = = 3\n');
    try {
      assert.throws(() => loadConfig({ file: t.file }), configError(/not valid TOML/));
    } finally { t.done(); }
  });

  it('derives environment names from key paths', () => {
    assert.equal(envName(['spawner', 'startTimeoutMs']), 'EUCP_SPAWNER__START_TIMEOUT_MS');
    assert.equal(envName(['spawner', 'defaults', 'memoryLimitBytes']), 'EUCP_SPAWNER__DEFAULTS__MEMORY_LIMIT_BYTES');
  });

  it('accepts per-group and per-user limit overrides that leave keys out', () => {
    const t = tomlFile('[spawner.groups.climate]\nmemoryLimitBytes = 8589934592\n[spawner.users.alice]\ncpuLimitCores = 2\n');
    try {
      const c = loadConfig({ file: t.file });
      assert.deepEqual(c.spawner.groups.climate, { memoryLimitBytes: 8589934592 });
      assert.deepEqual(c.spawner.users.alice, { cpuLimitCores: 2 });
    } finally { t.done(); }
  });
});

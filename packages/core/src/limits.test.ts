import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatBytes, resolveLimits } from './limits.js';

const GiB = 1024 ** 3;
describe('resolveLimits', () => {
  const defaults = { memoryLimitBytes: 2 * GiB, cpuLimitCores: 1 };
  it('uses the defaults when nothing else applies', () => {
    assert.deepEqual(resolveLimits(defaults, [], undefined), defaults);
  });
  it('takes the most generous group, key by key; null (unlimited) beats any number', () => {
    const r = resolveLimits(defaults, [{ memoryLimitBytes: 4 * GiB }, { memoryLimitBytes: 8 * GiB, cpuLimitCores: 2 }], undefined);
    assert.deepEqual(r, { memoryLimitBytes: 8 * GiB, cpuLimitCores: 2 });
    assert.equal(resolveLimits(defaults, [{ cpuLimitCores: null }, { cpuLimitCores: 4 }], undefined).cpuLimitCores, null);
  });
  it('a user setting overrides groups, and only for the keys it sets', () => {
    const r = resolveLimits(defaults, [{ memoryLimitBytes: 8 * GiB, cpuLimitCores: 2 }], { memoryLimitBytes: GiB });
    assert.deepEqual(r, { memoryLimitBytes: GiB, cpuLimitCores: 2 });
  });
  it('formats sizes for people', () => {
    assert.equal(formatBytes(2 * GiB), '2 GiB');
    assert.equal(formatBytes(512 * 1024 ** 2), '512 MiB');
    assert.equal(formatBytes(1536 * 1024 ** 2), '1.5 GiB');
    assert.equal(formatBytes(null), 'unlimited');
  });
});

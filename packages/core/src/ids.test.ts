import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseServerName, parseUserName, serverPrefix } from './ids.js';
import { AppError } from './errors.js';
import { isoformat, parseTimestamp } from './time.js';

describe('names', () => {
  it('accepts Unix-safe names and rejects the rest with INVALID_NAME', () => {
    assert.equal(parseUserName('alice_2'), 'alice_2');
    for (const bad of ['', 'Alice', '1abc', 'a/b', '../x', 'a b', 'x'.repeat(33), 42, null]) {
      assert.throws(() => parseUserName(bad), (e: unknown) => e instanceof AppError && e.code === 'INVALID_NAME');
    }
  });
  it('builds prefixes for default and named servers', () => {
    assert.equal(serverPrefix(parseUserName('alice'), parseServerName('')), '/user/alice/');
    assert.equal(serverPrefix(parseUserName('alice'), parseServerName('gpu')), '/user/alice/gpu/');
  });
});

describe('timestamps', () => {
  it('formats like JupyterHub (microseconds, Z; omitted when zero)', () => {
    assert.equal(isoformat(Date.UTC(2024, 4, 2, 9, 14, 3, 123)), '2024-05-02T09:14:03.123000Z');
    assert.equal(isoformat(Date.UTC(2024, 4, 2, 9, 14, 3)), '2024-05-02T09:14:03Z');
    assert.equal(isoformat(null), null);
  });
  it('parses naive timestamps as UTC and rejects garbage', () => {
    assert.equal(parseTimestamp('2024-05-02T09:14:03.123456'), Date.UTC(2024, 4, 2, 9, 14, 3, 123));
    assert.equal(parseTimestamp('2024-05-02T11:14:03+02:00'), Date.UTC(2024, 4, 2, 9, 14, 3));
    assert.equal(parseTimestamp('yesterday'), null);
  });
});

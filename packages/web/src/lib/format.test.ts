import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatBytes, formatCores, formatDateTime, formatRelativeTime } from './format.js';

test('formatBytes uses binary units and trims decimals', () => {
  assert.equal(formatBytes(null), 'No limit');
  assert.equal(formatBytes(0), '0 bytes');
  assert.equal(formatBytes(1), '1 byte');
  assert.equal(formatBytes(1023), '1023 bytes');
  assert.equal(formatBytes(1024), '1 KiB');
  assert.equal(formatBytes(512 * 1024 ** 2), '512 MiB');
  assert.equal(formatBytes(4 * 1024 ** 3), '4 GiB');
  assert.equal(formatBytes(1.5 * 1024 ** 3), '1.5 GiB');
  assert.equal(formatBytes(2 * 1024 ** 4), '2 TiB');
  assert.equal(formatBytes(3000 * 1024 ** 4), '3000 TiB');
  assert.equal(formatBytes(-1), '—');
  assert.equal(formatBytes(Number.NaN), '—');
});

test('formatCores says core or cores', () => {
  assert.equal(formatCores(null), 'No limit');
  assert.equal(formatCores(1), '1 CPU core');
  assert.equal(formatCores(2), '2 CPU cores');
  assert.equal(formatCores(0.5), '0.5 CPU cores');
  assert.equal(formatCores(1.333333), '1.33 CPU cores');
  assert.equal(formatCores(0), '—');
});

test('formatRelativeTime counts back from now', () => {
  const now = Date.parse('2024-05-10T12:00:00Z');
  assert.equal(formatRelativeTime(null, now), 'never');
  assert.equal(formatRelativeTime('garbage', now), '—');
  assert.equal(formatRelativeTime('2024-05-10T11:59:30Z', now), 'just now');
  assert.equal(formatRelativeTime('2024-05-10T11:59:00Z', now), '1 minute ago');
  assert.equal(formatRelativeTime('2024-05-10T11:15:00Z', now), '45 minutes ago');
  assert.equal(formatRelativeTime('2024-05-10T09:00:00Z', now), '3 hours ago');
  assert.equal(formatRelativeTime('2024-05-08T12:00:00Z', now), '2 days ago');
  assert.equal(formatRelativeTime('2024-01-02T12:00:00Z', now), '2024-01-02');
  // A clock slightly ahead of ours is still "just now".
  assert.equal(formatRelativeTime('2024-05-10T12:00:05Z', now), 'just now');
});

test('formatDateTime prints UTC minutes', () => {
  assert.equal(formatDateTime('2024-05-02T09:14:03.123456Z'), '2024-05-02 09:14 UTC');
  assert.equal(formatDateTime('nope'), '—');
});

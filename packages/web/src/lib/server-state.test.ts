import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allowedActions, isTransient, parseServerStatus, stateFromServerModel, stateLabel } from './server-state.js';

test('allowedActions per state', () => {
  assert.deepEqual(allowedActions('stopped'), { start: true, stop: false, open: false });
  assert.deepEqual(allowedActions('failed'), { start: true, stop: false, open: false });
  assert.deepEqual(allowedActions('starting'), { start: false, stop: true, open: false });
  assert.deepEqual(allowedActions('running'), { start: false, stop: true, open: true });
  assert.deepEqual(allowedActions('stopping'), { start: false, stop: false, open: false });
});

test('labels and transient states', () => {
  assert.equal(stateLabel('running'), 'Running');
  assert.equal(isTransient('starting'), true);
  assert.equal(isTransient('stopping'), true);
  assert.equal(isTransient('failed'), false);
});

test('stateFromServerModel follows pending and ready', () => {
  assert.equal(stateFromServerModel(undefined), 'stopped');
  assert.equal(stateFromServerModel({ pending: 'spawn', ready: false }), 'starting');
  assert.equal(stateFromServerModel({ pending: 'stop', ready: false }), 'stopping');
  assert.equal(stateFromServerModel({ pending: null, ready: true }), 'running');
  assert.equal(stateFromServerModel({ pending: null, ready: false }), 'stopped');
});

test('parseServerStatus accepts the documented shape and defaults missing pieces', () => {
  const s = parseServerStatus({
    state: 'failed',
    url: null,
    limits: { memoryLimitBytes: 2147483648, cpuLimitCores: 2 },
    failure: { code: 'MEMORY_LIMIT_EXCEEDED', message: 'Out of memory.', action: 'Use dask.' },
    startedAt: null,
    lastActivity: '2024-05-02T09:14:03Z',
  });
  assert.equal(s.state, 'failed');
  assert.equal(s.limits.memoryLimitBytes, 2147483648);
  assert.equal(s.failure?.code, 'MEMORY_LIMIT_EXCEEDED');
  const bare = parseServerStatus({ state: 'running', url: '/user/a/' });
  assert.deepEqual(bare.limits, { memoryLimitBytes: null, cpuLimitCores: null });
  assert.equal(bare.failure, null);
  assert.equal(bare.dataOutdated, false, 'absent = up to date');
  assert.equal(parseServerStatus({ state: 'running', dataOutdated: true }).dataOutdated, true);
  assert.throws(() => parseServerStatus({ state: 'exploded' }), /unknown state/);
  assert.throws(() => parseServerStatus('x'), /not an object/);
});

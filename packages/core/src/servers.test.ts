import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isActive, nextServerState, pendingOf } from './servers.js';

describe('server state machine', () => {
  it('follows the normal life: stopped → starting → running → stopping → stopped', () => {
    assert.equal(nextServerState('stopped', 'start'), 'starting');
    assert.equal(nextServerState('starting', 'ready'), 'running');
    assert.equal(nextServerState('running', 'stop'), 'stopping');
    assert.equal(nextServerState('stopping', 'stopped'), 'stopped');
  });
  it('refuses illegal moves', () => {
    assert.equal(nextServerState('running', 'start'), null);
    assert.equal(nextServerState('stopped', 'ready'), null);
    assert.equal(nextServerState('stopping', 'start'), null);
  });
  it('an out-of-memory death is a failure the user is told about; a plain death is a stop', () => {
    assert.equal(nextServerState('running', 'oom'), 'failed');
    assert.equal(nextServerState('running', 'died'), 'stopped');
    assert.equal(nextServerState('failed', 'start'), 'starting');
  });
  it('maps states to JupyterHub pending values', () => {
    assert.equal(pendingOf('starting'), 'spawn');
    assert.equal(pendingOf('stopping'), 'stop');
    assert.equal(pendingOf('running'), null);
    assert.equal(isActive('failed'), false);
  });
});

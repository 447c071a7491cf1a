import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyProgressEvent, INITIAL_PROGRESS, parseProgressEvent } from './progress.js';

test('parseProgressEvent reads the contract events', () => {
  assert.deepEqual(parseProgressEvent('{"progress": 0, "message": "Server requested"}'), {
    progress: 0, message: 'Server requested', ready: false, failed: false, url: null,
  });
  assert.deepEqual(
    parseProgressEvent('{"progress": 100, "ready": true, "message": "Server ready at /user/alice/", "html_message": "<a>x</a>", "url": "/user/alice/"}'),
    { progress: 100, message: 'Server ready at /user/alice/', ready: true, failed: false, url: '/user/alice/' },
  );
  assert.deepEqual(parseProgressEvent('{"progress": 100, "failed": true, "message": "Spawn failed: Timeout"}'), {
    progress: 100, message: 'Spawn failed: Timeout', ready: false, failed: true, url: null,
  });
});

test('parseProgressEvent tolerates junk', () => {
  assert.equal(parseProgressEvent(''), null);
  assert.equal(parseProgressEvent('   '), null);
  assert.equal(parseProgressEvent('not json'), null);
  assert.equal(parseProgressEvent('[1,2]'), null);
  assert.equal(parseProgressEvent('null'), null);
  const ev = parseProgressEvent('{"progress": 250.4, "message": 5, "ready": "yes", "url": "https://evil.example/"}');
  assert.deepEqual(ev, { progress: 100, message: '', ready: false, failed: false, url: null });
  assert.equal(parseProgressEvent('{"progress": -3}')?.progress, 0);
  assert.equal(parseProgressEvent('{"progress": "50"}')?.progress, 0);
});

test('applyProgressEvent is monotonic and stops at the outcome', () => {
  let v = INITIAL_PROGRESS;
  v = applyProgressEvent(v, { progress: 0, message: 'Server requested', ready: false, failed: false, url: null });
  v = applyProgressEvent(v, { progress: 50, message: 'Sandbox created', ready: false, failed: false, url: null });
  v = applyProgressEvent(v, { progress: 10, message: 'Sandbox created', ready: false, failed: false, url: null });
  assert.equal(v.progress, 50);
  assert.deepEqual(v.log, ['Server requested', 'Sandbox created']);
  v = applyProgressEvent(v, { progress: 100, message: 'Server ready at /user/a/', ready: true, failed: false, url: '/user/a/' });
  assert.equal(v.outcome, 'ready');
  assert.equal(v.url, '/user/a/');
  const after = applyProgressEvent(v, { progress: 100, message: 'late', ready: false, failed: true, url: null });
  assert.equal(after, v);
});

test('applyProgressEvent records failure', () => {
  const v = applyProgressEvent(INITIAL_PROGRESS, { progress: 100, message: 'Spawn failed: Timeout', ready: false, failed: true, url: null });
  assert.equal(v.outcome, 'failed');
  assert.equal(v.message, 'Spawn failed: Timeout');
});

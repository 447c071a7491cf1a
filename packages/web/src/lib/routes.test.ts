import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loginUrl, matchRoute, safeNext, serverPath, spawnPendingPath } from './routes.js';

test('matchRoute knows the hub pages', () => {
  assert.deepEqual(matchRoute('/hub/home'), { page: 'home' });
  assert.deepEqual(matchRoute('/hub/home/'), { page: 'home' });
  assert.deepEqual(matchRoute('/hub/admin'), { page: 'admin' });
  assert.deepEqual(matchRoute('/hub/token'), { page: 'token' });
  assert.deepEqual(matchRoute('/hub/home/extra'), { page: 'not-found' });
  assert.deepEqual(matchRoute('/elsewhere'), { page: 'not-found' });
  assert.deepEqual(matchRoute('/hub/'), { page: 'not-found' });
});

test('matchRoute parses spawn and spawn-pending', () => {
  assert.deepEqual(matchRoute('/hub/spawn'), { page: 'spawn', user: null, server: '' });
  assert.deepEqual(matchRoute('/hub/spawn/alice'), { page: 'spawn', user: 'alice', server: '' });
  assert.deepEqual(matchRoute('/hub/spawn/alice/gpu'), { page: 'spawn', user: 'alice', server: 'gpu' });
  assert.deepEqual(matchRoute('/hub/spawn/alice/gpu/x'), { page: 'not-found' });
  assert.deepEqual(matchRoute('/hub/spawn-pending/alice'), { page: 'spawn-pending', user: 'alice', server: '' });
  assert.deepEqual(matchRoute('/hub/spawn-pending/alice/gpu/'), { page: 'spawn-pending', user: 'alice', server: 'gpu' });
  assert.deepEqual(matchRoute('/hub/spawn-pending'), { page: 'not-found' });
  assert.deepEqual(matchRoute('/hub/spawn-pending/%E0%A4%A'), { page: 'not-found' });
});

test('matchRoute maps /hub/user/<name>/… back to the server path', () => {
  assert.deepEqual(matchRoute('/hub/user/alice/tree/data%20sets/'), {
    page: 'not-running', user: 'alice', path: '/user/alice/tree/data%20sets/',
  });
  assert.deepEqual(matchRoute('/hub/user/alice'), { page: 'not-running', user: 'alice', path: '/user/alice/' });
  assert.deepEqual(matchRoute('/hub/user/alice/'), { page: 'not-running', user: 'alice', path: '/user/alice/' });
  assert.deepEqual(matchRoute('/hub/user/alice/lab'), { page: 'not-running', user: 'alice', path: '/user/alice/lab' });
});

test('paths are encoded', () => {
  assert.equal(serverPath('alice', ''), '/user/alice/');
  assert.equal(serverPath('alice', 'gpu'), '/user/alice/gpu/');
  assert.equal(spawnPendingPath('alice', ''), '/hub/spawn-pending/alice');
  assert.equal(spawnPendingPath('alice', 'gpu', '/user/alice/gpu/lab'), '/hub/spawn-pending/alice/gpu?next=%2Fuser%2Falice%2Fgpu%2Flab');
  assert.equal(loginUrl('/hub/admin?x=1'), '/hub/login?next=%2Fhub%2Fadmin%3Fx%3D1');
});

test('safeNext only allows the user\'s own server paths', () => {
  assert.equal(safeNext('/user/alice/lab?x=1', 'alice'), '/user/alice/lab?x=1');
  assert.equal(safeNext(null, 'alice'), null);
  assert.equal(safeNext('/user/bob/lab', 'alice'), null);
  assert.equal(safeNext('https://evil.example/user/alice/', 'alice'), null);
  assert.equal(safeNext('//evil.example/user/alice/', 'alice'), null);
  assert.equal(safeNext('/user/alice/../../hub/admin', 'alice'), null);
  assert.equal(safeNext('/user/alice/%2E%2E/x', 'alice'), null);
  assert.equal(safeNext('/user/alice/\\evil', 'alice'), null);
  assert.equal(safeNext('/user/alicex/', 'alice'), null);
});

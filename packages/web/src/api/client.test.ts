import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError, errorFromResponse, listAll, toApiError } from './client.js';

test('errorFromResponse reads the API error body', () => {
  const e = errorFromResponse(400, 'Bad Request', JSON.stringify({ status: 400, message: 'The name is not allowed.', code: 'INVALID_NAME', action: 'Use 1-32 characters.' }));
  assert.equal(e.status, 400);
  assert.equal(e.message, 'The name is not allowed.');
  assert.equal(e.code, 'INVALID_NAME');
  assert.equal(e.action, 'Use 1-32 characters.');
});

test('errorFromResponse copes with plain JupyterHub errors and non-JSON bodies', () => {
  const jh = errorFromResponse(403, 'Forbidden', '{"status": 403, "message": "Missing or invalid credentials."}');
  assert.equal(jh.message, 'Missing or invalid credentials.');
  assert.equal(jh.action, null);
  const html = errorFromResponse(502, 'Bad Gateway', '<html>oops</html>');
  assert.equal(html.message, 'The hub answered 502 Bad Gateway.');
  assert.equal(errorFromResponse(500, '', '').message, 'The hub answered 500.');
});

test('toApiError turns fetch failures into a reachable message', () => {
  const e = toApiError(new TypeError('Failed to fetch'));
  assert.equal(e.status, 0);
  assert.match(e.message, /cannot be reached/);
  const same = new ApiError(404, 'x');
  assert.equal(toApiError(same), same);
});

test('listAll follows the pagination envelope', async () => {
  const calls: string[] = [];
  const client = {
    async get<T>(path: string): Promise<T> {
      calls.push(path);
      const offset = Number(new URLSearchParams(path.split('?')[1]).get('offset'));
      const page = offset === 0
        ? { items: [1, 2], _pagination: { offset: 0, limit: 2, total: 3, next: { offset: 2, limit: 2, url: 'x' } } }
        : { items: [3], _pagination: { offset: 2, limit: 2, total: 3, next: null } };
      return page as T;
    },
  };
  assert.deepEqual(await listAll<number>(client, '/hub/api/users?include_stopped_servers=1'), [1, 2, 3]);
  assert.deepEqual(calls, [
    '/hub/api/users?include_stopped_servers=1&offset=0&limit=200',
    '/hub/api/users?include_stopped_servers=1&offset=2&limit=200',
  ]);
});

test('listAll accepts a bare array', async () => {
  const client = { get: async <T>() => ['a', 'b'] as T };
  assert.deepEqual(await listAll<string>(client, '/hub/api/groups'), ['a', 'b']);
});

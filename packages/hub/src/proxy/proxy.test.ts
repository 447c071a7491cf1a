import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerName, UserName } from '@eucp/core';
import { originAllowed, stripHubCookies } from './index.js';
import { RouteTable } from './routes.js';

const u = (s: string) => s as UserName;
const srv = (s: string) => s as ServerName;

describe('proxy helpers', () => {
  it('strips every hub cookie and keeps the rest', () => {
    assert.equal(stripHubCookies('eucp-session=s3cret; _xsrf=abc; jupyterhub-user-alice=t'), '_xsrf=abc; jupyterhub-user-alice=t');
    assert.equal(stripHubCookies('eucp-session=s3cret; eucp-login-xsrf=x'), undefined);
    assert.equal(stripHubCookies(undefined), undefined);
    assert.equal(stripHubCookies('jupyterhub-session-id=abc'), 'jupyterhub-session-id=abc');
  });

  it('allows same-origin and absent Origins only', () => {
    assert.equal(originAllowed(undefined, '127.0.0.1:8000', null), true);
    assert.equal(originAllowed('http://127.0.0.1:8000', '127.0.0.1:8000', null), true);
    assert.equal(originAllowed('http://evil.example', '127.0.0.1:8000', null), false);
    assert.equal(originAllowed('http://127.0.0.1:8001', '127.0.0.1:8000', null), false);
    assert.equal(originAllowed('https://hub.example.org', 'internal:8000', 'https://hub.example.org/'), true);
    assert.equal(originAllowed('not a url', '127.0.0.1:8000', null), false);
  });
});

describe('route table', () => {
  const t = new RouteTable();
  t.set({ prefix: '/user/alice/', user: u('alice'), server: srv(''), target: 'http://127.0.0.1:1' });
  t.set({ prefix: '/user/alice/gpu/', user: u('alice'), server: srv('gpu'), target: 'http://127.0.0.1:2' });

  it('routes by longest prefix, named servers first', () => {
    assert.equal(t.lookup('/user/alice/tree')?.target, 'http://127.0.0.1:1');
    assert.equal(t.lookup('/user/alice/gpu/api/status')?.target, 'http://127.0.0.1:2');
    assert.equal(t.lookup('/user/alice/gpux/api')?.target, 'http://127.0.0.1:1');
    assert.equal(t.lookup('/user/alice')?.target, 'http://127.0.0.1:1');
  });

  it('does not route other users or other paths', () => {
    assert.equal(t.lookup('/user/bob/tree'), null);
    assert.equal(t.lookup('/user/alicex/tree'), null);
    assert.equal(t.lookup('/hub/home'), null);
  });

  it('forgets deleted routes', () => {
    t.delete('/user/alice/gpu/');
    assert.equal(t.lookup('/user/alice/gpu/api')?.server, '');
  });
});

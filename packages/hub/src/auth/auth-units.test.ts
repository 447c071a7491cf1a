import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyRequest } from 'fastify';
import { AppError } from '@eucp/core';
import { clearCookie, parseCookies, serializeCookie } from './cookies.js';
import { sha256Hex } from './crypto.js';
import { safeNextUrl } from './next-url.js';
import { checkPasswordPolicy, hashPassword, verifyPassword } from './passwords.js';
import { checkCsrf, requireScope } from './plugin.js';
import { FailureWindow } from './rate-limit.js';
import { effectiveTokenScopes, expandFully, intersectScopes, userScopes } from './scope-sets.js';
import { parseTokenApiId, tokenApiId } from './tokens.js';
import type { AuthContext } from './types.js';

function reqWith(auth: Partial<AuthContext> | null, headers: Record<string, string> = {}): FastifyRequest {
  const full: AuthContext | null = auth && {
    user: { id: 1, name: 'alice' as AuthContext['user']['name'], admin: false, groups: [] },
    scopes: [], via: 'token', sessionId: null, tokenId: 1, csrfToken: null, ...auth,
  };
  return { auth: full, headers } as unknown as FastifyRequest;
}

function codeOf(fn: () => unknown): string {
  try { fn(); } catch (err) { if (err instanceof AppError) return err.code; throw err; }
  return 'OK';
}

describe('requireScope (JupyterHub rules)', () => {
  const alice = { scopes: userScopes({ name: 'alice', admin: false }) };
  it('no credentials ⇒ 403 UNAUTHENTICATED', () => {
    assert.equal(codeOf(() => requireScope(reqWith(null), 'read:users', { user: 'alice' })), 'UNAUTHENTICATED');
  });
  it('scope held for the target ⇒ allowed', () => {
    assert.equal(codeOf(() => requireScope(reqWith(alice), 'tokens', { user: 'alice' })), 'OK');
  });
  it('scope held only for other resources ⇒ 404 NOT_FOUND', () => {
    assert.equal(codeOf(() => requireScope(reqWith(alice), 'tokens', { user: 'bob' })), 'NOT_FOUND');
  });
  it('scope missing entirely ⇒ 403 FORBIDDEN naming the scope', () => {
    try {
      requireScope(reqWith(alice), 'admin:users', { user: 'bob' });
      assert.fail('should throw');
    } catch (err) {
      assert.ok(err instanceof AppError);
      assert.equal(err.code, 'FORBIDDEN');
      assert.equal(err.status, 403);
      assert.match(err.message, /admin:users/);
    }
  });
  it('without a target the scope is needed unfiltered; "any" accepts a filtered one', () => {
    const r = reqWith({ scopes: ['list:users!user=alice'] });
    assert.equal(codeOf(() => requireScope(r, 'list:users')), 'NOT_FOUND');
    assert.equal(codeOf(() => requireScope(r, 'list:users', 'any')), 'OK');
  });
  it('admins hold everything unfiltered', () => {
    const admin = reqWith({ scopes: userScopes({ name: 'root', admin: true }) });
    for (const s of ['admin:users', 'delete:users', 'tokens', 'read:hub', 'access:servers', 'admin:groups']) {
      assert.equal(codeOf(() => requireScope(admin, s, { user: 'bob' })), 'OK', s);
    }
  });
});

describe('checkCsrf', () => {
  it('requires the session token in X-XSRFToken or X-CSRF-Token for cookie auth', () => {
    const s = { via: 'session' as const, csrfToken: 'tok-123' };
    assert.equal(codeOf(() => checkCsrf(reqWith(s))), 'CSRF_FAILED');
    assert.equal(codeOf(() => checkCsrf(reqWith(s, { 'x-xsrftoken': 'wrong' }))), 'CSRF_FAILED');
    assert.equal(codeOf(() => checkCsrf(reqWith(s, { 'x-xsrftoken': 'tok-123' }))), 'OK');
    assert.equal(codeOf(() => checkCsrf(reqWith(s, { 'x-csrf-token': 'tok-123' }))), 'OK');
  });
  it('does not apply to token-authenticated requests', () => {
    assert.equal(codeOf(() => checkCsrf(reqWith({ via: 'token' }))), 'OK');
  });
});

describe('scope sets', () => {
  it('expands implied scopes with the same filter', () => {
    const x = expandFully(['servers!user=alice']);
    assert.deepEqual(x, ['delete:servers!user=alice', 'read:servers!user=alice', 'read:users:name!user=alice', 'servers!user=alice']);
  });
  it('intersects filters: user ∩ server = server; other users drop out', () => {
    assert.deepEqual(intersectScopes(['access:servers!server=alice/'], ['access:servers!user=alice']), ['access:servers!server=alice/']);
    assert.deepEqual(intersectScopes(['access:servers!server=bob/'], ['access:servers!user=alice']), []);
    assert.deepEqual(intersectScopes(['admin:users'], ['read:users!user=alice']).includes('read:users!user=alice'), true);
  });
  it('a token of a demoted admin loses admin scopes at use time', () => {
    const stored = ['admin:users', 'read:hub'];
    assert.ok(effectiveTokenScopes(stored, { name: 'eve', admin: true }).includes('admin:users'));
    const demoted = effectiveTokenScopes(stored, { name: 'eve', admin: false });
    assert.ok(!demoted.includes('admin:users'));
    assert.ok(!demoted.includes('read:hub'));
    // …but keeps the part of admin:users that eve still has over herself.
    assert.ok(demoted.includes('read:users!user=eve'));
  });
  it('inherit follows the owner', () => {
    assert.deepEqual(effectiveTokenScopes(['inherit'], { name: 'alice', admin: false }), userScopes({ name: 'alice', admin: false }));
  });
});

describe('passwords', () => {
  it('hashes with argon2id and verifies only the right password', async () => {
    const hash = await hashPassword('correct horse battery');
    assert.match(hash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    assert.equal(await verifyPassword(hash, 'correct horse battery'), true);
    assert.equal(await verifyPassword(hash, 'correct horse batterY'), false);
    assert.notEqual(await hashPassword('correct horse battery'), hash, 'salted');
  });
  it('answers false (not an error) for unknown users and malformed hashes', async () => {
    assert.equal(await verifyPassword(null, 'anything-at-all'), false);
    assert.equal(await verifyPassword('not-a-hash', 'anything-at-all'), false);
  });
  it('enforces a minimum length', () => {
    assert.equal(codeOf(() => checkPasswordPolicy('short')), 'INVALID_INPUT');
    assert.equal(codeOf(() => checkPasswordPolicy('long enough')), 'OK');
  });
});

describe('token ids and hashing', () => {
  it('stores sha256 hex; ids are a<int>', () => {
    assert.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.equal(tokenApiId(17), 'a17');
    assert.equal(parseTokenApiId('a17'), 17);
    assert.equal(parseTokenApiId('17'), 17);
    for (const bad of ['a', 'a0', 'b17', 'a-1', 'a1.5', 'a17x']) assert.equal(parseTokenApiId(bad), null, bad);
  });
});

describe('FailureWindow (sliding window arithmetic)', () => {
  it('refuses after maxFailures within the window and says when to retry', () => {
    let t = 0;
    const w = new FailureWindow({ maxFailures: 3, windowMs: 1000, now: () => t });
    w.fail('k'); t = 100; w.fail('k'); t = 200;
    assert.deepEqual(w.check('k'), { allowed: true });
    w.fail('k'); t = 300;
    assert.deepEqual(w.check('k'), { allowed: false, retryAfterMs: 700 });
    t = 999;
    assert.deepEqual(w.check('k'), { allowed: false, retryAfterMs: 1 });
    t = 1000; // the failure at t=0 has left the window
    assert.deepEqual(w.check('k'), { allowed: true });
    assert.equal(w.count('k'), 2);
  });
  it('keys are independent and reset forgets', () => {
    let t = 0;
    const w = new FailureWindow({ maxFailures: 1, windowMs: 1000, now: () => t });
    w.fail('a');
    assert.equal(w.check('a').allowed, false);
    assert.equal(w.check('b').allowed, true);
    w.reset('a');
    assert.equal(w.check('a').allowed, true);
  });
  it('forgets the oldest keys beyond maxKeys', () => {
    const w = new FailureWindow({ maxFailures: 1, windowMs: 1000, now: () => 0, maxKeys: 2 });
    w.fail('a'); w.fail('b'); w.fail('c');
    assert.equal(w.check('a').allowed, true);
    assert.equal(w.check('c').allowed, false);
  });
});

describe('next URL validation', () => {
  it('accepts same-origin relative paths', () => {
    for (const ok of ['/hub/home', '/user/alice/lab?x=1#y', '/hub/api/oauth2/authorize?client_id=jupyterhub-user-alice&state=a%2Bb']) {
      assert.equal(safeNextUrl(ok), ok);
    }
  });
  it('rejects absolute, scheme-relative and backslash tricks', () => {
    for (const bad of ['//evil.example', 'https://evil.example/', '/\\evil.example', '\\\\evil', '/\t/evil.example', 'javascript:alert(1)',
      'hub/home', '', '/\n/evil', 'http:/evil', ' /x']) {
      assert.equal(safeNextUrl(bad), null, JSON.stringify(bad));
    }
    assert.equal(safeNextUrl(['/a']), null);
  });
  it('percent-encodes non-ASCII so the Location header stays valid', () => {
    assert.equal(safeNextUrl('/user/alice/files/Überblick✓'), '/user/alice/files/%C3%9Cberblick%E2%9C%93');
  });
});

describe('cookies', () => {
  it('parses the first occurrence, decodes values, tolerates junk', () => {
    const c = parseCookies('a=1; b=x%20y; a=2; junk; q="quoted"; bad=%E0%A4%A');
    assert.equal(c.get('a'), '1');
    assert.equal(c.get('b'), 'x y');
    assert.equal(c.get('q'), 'quoted');
    assert.equal(c.get('bad'), '%E0%A4%A');
  });
  it('serializes attributes and deletion', () => {
    assert.equal(serializeCookie('s', 'v', { path: '/', httpOnly: true, sameSite: 'Lax', secure: true, maxAgeSeconds: 60 }),
      's=v; Max-Age=60; Path=/; HttpOnly; Secure; SameSite=Lax');
    assert.match(clearCookie('s', { path: '/' }), /^s=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=\/$/);
    assert.throws(() => serializeCookie('bad name', 'v'), TypeError);
  });
});

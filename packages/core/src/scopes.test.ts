import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { coverScopes, expandScopes, hasAnyScope, hasScope, parseScope, selfScopes } from './scopes.js';

describe('scopes', () => {
  it('parses bases and filters, rejecting unknown ones', () => {
    assert.deepEqual(parseScope('access:servers!server=alice/'), { base: 'access:servers', filter: { kind: 'server', value: 'alice/' } });
    assert.equal(parseScope('access:servers!planet=mars'), null);
    assert.equal(parseScope('launch:missiles'), null);
    assert.equal(parseScope('servers!user='), null);
  });

  it('a user filter covers all of that user\'s servers but no one else\'s', () => {
    const held = ['access:servers!user=alice'];
    assert.equal(hasScope(held, 'access:servers', { user: 'alice', server: 'alice/' }), true);
    assert.equal(hasScope(held, 'access:servers', { user: 'alice', server: 'alice/gpu' }), true);
    assert.equal(hasScope(held, 'access:servers', { user: 'bob', server: 'bob/' }), false);
  });

  it('a server filter covers only that server', () => {
    const held = ['access:servers!server=alice/'];
    assert.equal(hasScope(held, 'access:servers', { user: 'alice', server: 'alice/' }), true);
    assert.equal(hasScope(held, 'access:servers', { user: 'alice', server: 'alice/gpu' }), false);
  });

  it('parent scopes imply their children (admin:users ⊃ read:users ⊃ read:users:name)', () => {
    assert.equal(hasScope(['admin:users'], 'read:users:name', { user: 'x' }), true);
    assert.equal(hasScope(['servers!user=a'], 'delete:servers', { user: 'a' }), true);
    assert.equal(hasScope(['read:servers'], 'delete:servers', { user: 'a' }), false);
  });

  it('group filters match members', () => {
    assert.equal(hasScope(['read:users!group=climate'], 'read:users', { user: 'a', userGroups: ['climate'] }), true);
    assert.equal(hasScope(['read:users!group=climate'], 'read:users', { user: 'a', userGroups: ['ocean'] }), false);
  });

  it('self expands to the owner\'s scopes only', () => {
    const s = expandScopes(['self'], 'alice');
    assert.ok(s.includes('access:servers!user=alice'));
    assert.ok(!s.some((x) => x.includes('bob')));
    assert.equal(hasAnyScope(selfScopes('alice'), 'servers'), true);
    assert.equal(hasAnyScope(selfScopes('alice'), 'admin:users'), false);
  });

  it('coverScopes refuses what the holder lacks', () => {
    const held = selfScopes('alice');
    const r = coverScopes(['access:servers!server=alice/', 'access:servers!server=bob/', 'admin:users'], held);
    assert.deepEqual(r.granted, ['access:servers!server=alice/']);
    assert.deepEqual(r.refused, ['access:servers!server=bob/', 'admin:users']);
  });
});

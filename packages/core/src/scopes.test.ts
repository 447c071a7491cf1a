import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_SCOPES, compileScopes, coverScopes, expandScopes, hasAnyScope, hasScope, impliedBases, KNOWN_SCOPES, parseScope, selfScopes, type ScopeTarget } from './scopes.js';

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

  it('compiled (frozen) scope sets answer exactly like the plain scan', () => {
    const helds: string[][] = [
      [...ADMIN_SCOPES], selfScopes('alice'), ['read:users!group=climate', 'servers!server=bob/gpu', 'list:users!user=carol'],
      ['admin:servers!user=alice', 'read:users:name', 'read:servers!server=alice/'], ['bogus', 'access:servers!planet=mars'], [],
    ];
    const targets: ScopeTarget[] = [
      {}, { user: 'alice' }, { user: 'alice', server: 'alice/' }, { user: 'bob', server: 'bob/gpu' }, { user: 'dan', userGroups: ['climate'] },
      { group: 'climate' }, { user: 'carol' },
    ];
    for (const held of helds) {
      const frozen = Object.freeze([...held]);
      for (const required of KNOWN_SCOPES) {
        assert.equal(hasAnyScope(frozen, required), hasAnyScope(held, required), `${held.join(' ')} any ${required}`);
        for (const target of targets) {
          assert.equal(hasScope(frozen, required, target), hasScope(held, required, target), `${held.join(' ')} ${required} ${JSON.stringify(target)}`);
        }
      }
    }
    const frozen = Object.freeze(['admin:users']);
    assert.equal(compileScopes(frozen), compileScopes(frozen), 'compiled once per frozen array');
    assert.equal(compileScopes(frozen).hasUnfiltered('read:users:name'), true);
    assert.equal(compileScopes(['read:users!user=a']).hasUnfiltered('read:users'), false);
  });

  it('memoised parses and closures are shared and cannot be changed', () => {
    assert.equal(parseScope('read:users!user=alice'), parseScope('read:users!user=alice'));
    assert.ok(Object.isFrozen(parseScope('read:users!user=alice')));
    assert.deepEqual([...impliedBases('users')].sort(), ['list:users', 'read:users', 'read:users:activity', 'read:users:groups', 'read:users:name', 'users', 'users:activity']);
    assert.deepEqual([...impliedBases('no-such-scope')], ['no-such-scope']);
  });
});


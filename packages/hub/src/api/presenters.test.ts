/**
 * `presentUser` decides once per scope set which fields a caller sees (and per user only
 * for filtered scopes): its models must be exactly those of the plain per-user, per-field
 * scope check it replaced, which is kept here as the reference.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hasScope, isoformat, serverPrefix, type ScopeTarget, type ServerName, type UserName } from '@eucp/core';
import type { UserRecord } from '../accounts/types.js';
import { roleNames, userScopes } from '../auth/scope-sets.js';
import { presentServer, presentUser, serverActive, serverPending, type ServerRow, type UserModelInput, type UserPresentOptions } from './presenters.js';

const REFERENCE_FIELDS: ReadonlyArray<[string, readonly string[]]> = [
  ['read:users', ['kind', 'name', 'admin', 'roles', 'groups', 'server', 'pending', 'created', 'last_activity']],
  ['read:users:name', ['kind', 'name', 'admin']],
  ['read:users:groups', ['kind', 'name', 'groups']],
  ['read:users:activity', ['kind', 'name', 'last_activity']],
  ['read:servers', ['kind', 'name', 'servers']],
  ['read:roles:users', ['kind', 'name', 'roles', 'admin']],
  ['admin:auth_state', ['kind', 'name', 'auth_state']],
];

/** The user model as computed before the per-request plan (one `hasScope` per field-granting scope and user). */
function referenceUser(input: UserModelInput, opts: UserPresentOptions): Record<string, unknown> {
  const { user, groups } = input;
  const scopes = [...opts.scopes, ...(opts.extraScopes ?? [])];
  const target: ScopeTarget = { user: user.name, userGroups: groups };
  const allowed = new Set<string>();
  for (const [scope, fields] of REFERENCE_FIELDS) if (hasScope(scopes, scope, target)) for (const f of fields) allowed.add(f);
  const defaultServer = input.servers.find((s) => s.name === '');
  const servers: Record<string, unknown> = {};
  for (const row of input.servers) {
    if (!opts.includeStoppedServers && !serverActive(row)) continue;
    if (opts.serverFilter && !opts.serverFilter(row)) continue;
    if (!hasScope(scopes, 'read:servers', { ...target, server: `${user.name}/${row.name}` })) continue;
    servers[row.name] = presentServer(user.name, row, { scopes, publicUrl: opts.publicUrl }, groups);
  }
  const full: Record<string, unknown> = {
    kind: 'user', name: user.name, admin: user.admin, roles: roleNames(user), groups: [...groups],
    server: defaultServer?.state === 'running' ? serverPrefix(user.name, '' as ServerName) : null,
    pending: defaultServer ? serverPending(defaultServer) : null,
    created: isoformat(user.createdAt), last_activity: isoformat(user.lastActivity), servers, auth_state: null,
  };
  if (!allowed.has('servers') && Object.keys(servers).length > 0) allowed.add('servers');
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(full)) if (allowed.has(k)) out[k] = v;
  return out;
}

let nextId = 1;
function server(name: string, state: ServerRow['state']): ServerRow {
  return {
    id: nextId++, user_id: 0, name, state, target: 'http://127.0.0.1:1', spawner_state: '{"pid": 42}', user_options: '{"a": 1}',
    started_at: 1_714_640_000_000, last_activity: 1_714_640_000_123, failure_code: null, failure_message: null, updated_at: 1_714_640_000_000,
  } as ServerRow;
}

function user(name: string, admin: boolean, groups: string[], servers: ServerRow[]): UserModelInput {
  const record: UserRecord = { id: nextId++, name: name as UserName, admin, createdAt: 1_714_600_000_000, lastActivity: admin ? null : 1_714_640_000_500, hasPassword: false };
  return { user: record, groups, servers };
}

describe('presentUser', () => {
  const users = [
    user('alice', false, ['climate'], [server('', 'running'), server('gpu', 'stopped'), server('big', 'starting')]),
    user('bob', false, [], [server('', 'stopping')]),
    user('carol', true, ['climate', 'ocean'], []),
    user('dan', false, ['ocean'], [server('', 'stopped'), server('x', 'running')]),
  ];
  const scopeSets: Array<readonly string[]> = [
    userScopes({ name: 'root', admin: true }),
    userScopes({ name: 'alice', admin: false }),
    Object.freeze(['read:users:name', 'read:users!group=climate', 'read:servers!server=dan/x', 'admin:server_state!user=alice']),
    Object.freeze(['read:users:activity!user=bob', 'read:roles:users!group=ocean', 'read:users:groups']),
    ['read:servers!user=dan', 'admin:auth_state!user=carol', 'list:users'],
    Object.freeze(['admin:servers', 'read:users:name!user=alice']),
    Object.freeze(['list:users']),
    [],
  ];
  const variants: Array<Partial<UserPresentOptions>> = [
    {}, { includeStoppedServers: true }, { serverFilter: (r) => r.state === 'running' }, { extraScopes: ['read:users:groups!user=bob'] },
    { publicUrl: 'https://hub.example.org/' },
  ];

  it('shows exactly the fields and servers the per-user scope check shows', () => {
    for (const scopes of scopeSets) {
      for (const v of variants) {
        const opts: UserPresentOptions = { scopes, publicUrl: null, ...v };
        for (const u of users) {
          const got = presentUser(u, opts);
          assert.deepEqual(got, referenceUser(u, opts), `${u.user.name} with [${scopes.join(' ')}] ${JSON.stringify(v)}`);
          assert.deepEqual(Object.keys(got), Object.keys(referenceUser(u, opts)), 'same field order');
        }
      }
    }
  });
});

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { dbChanges, openDatabase } from './index.js';

describe('openDatabase', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'eucp-db-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('creates the database file readable by the hub only', async () => {
    const file = path.join(dir, 'mode.sqlite');
    const db = await openDatabase(file);
    await db.destroy();
    assert.equal(statSync(file).mode & 0o777, 0o600);
  });

  it('reports its own writes by table, and commits of other connections through data_version', async () => {
    const file = path.join(dir, 'changes.sqlite');
    const db = await openDatabase(file);
    const changes = dbChanges(db)!;
    const seen: string[] = [];
    const stop = changes.onWrite((table) => seen.push(table));
    await db.insertInto('users').values({ name: 'alice', admin: 0, password_hash: null, created_at: 1, last_activity: null }).execute();
    await db.selectFrom('users').selectAll().execute();
    assert.deepEqual(seen, ['users']);
    const before = changes.dataVersion();
    await db.updateTable('users').set({ admin: 1 }).execute();
    assert.equal(changes.dataVersion(), before, 'own writes do not change data_version');
    const other = await openDatabase(file);
    await other.deleteFrom('users').execute();
    await other.destroy();
    assert.notEqual(changes.dataVersion(), before, 'another connection\'s commit does');
    stop();
    await db.deleteFrom('users').execute();
    assert.deepEqual(seen, ['users', 'users']);
    await db.destroy();
  });
});

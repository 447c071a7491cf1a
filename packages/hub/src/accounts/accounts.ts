import { AppError, parseUserName, type GroupName, type UserName } from '@eucp/core';
import type { Selectable } from 'kysely';
import type { Db } from '../db/index.js';
import type { UsersTable } from '../db/schema.js';
import { checkPasswordPolicy, generatePassword, hashPassword, verifyPassword } from '../auth/passwords.js';
import { isUniqueViolation, writeAudit } from './audit.js';
import * as groups from './groups.js';
import type { Actor, GroupRecord, UserRecord } from './types.js';

export type { Actor, GroupRecord, UserRecord } from './types.js';

/** Name of the account `ensureInitialAdmin` creates. */
export const INITIAL_ADMIN_NAME = 'admin' as UserName;

function toUser(row: Selectable<UsersTable>): UserRecord {
  return {
    id: row.id, name: row.name as UserName, admin: row.admin === 1, createdAt: row.created_at,
    lastActivity: row.last_activity, hasPassword: row.password_hash !== null,
  };
}

/**
 * Hub accounts: users (names, admin flag, passwords) and groups. Every mutation runs in
 * one transaction and writes an `audit_log` row naming the actor (never a secret).
 * Errors: `INVALID_NAME` (bad name), `NAME_TAKEN` (duplicate), `NOT_FOUND` (unknown
 * user/group), `LAST_ADMIN` (would leave the hub without an administrator),
 * `INVALID_INPUT` (bad password, unknown group member, …).
 */
export class Accounts {
  /** `now`: clock in milliseconds since the epoch (timestamps of rows and audit entries). */
  constructor(private readonly db: Db, private readonly now: () => number = Date.now) {}

  // ---- users -------------------------------------------------------------------------

  /** Creates a user; `password` (optional) is checked against the policy and hashed. */
  async createUser(rawName: string, opts: { admin?: boolean; password?: string; actor?: Actor } = {}): Promise<UserRecord> {
    const name = parseUserName(rawName);
    if (opts.password !== undefined) checkPasswordPolicy(opts.password);
    const hash = opts.password === undefined ? null : await hashPassword(opts.password);
    const [user] = await this.insertUsers([name], { admin: opts.admin ?? false, hash, actor: opts.actor ?? 'system' });
    if (!user) throw new AppError('NAME_TAKEN', `User ${name} already exists.`);
    return user;
  }

  /**
   * Creates several users at once (JupyterHub's `POST /users`): all names are validated
   * first; existing names are skipped and returned in `existing`.
   */
  async createUsers(rawNames: readonly string[], opts: { admin?: boolean; actor?: Actor } = {}): Promise<{ created: UserRecord[]; existing: UserName[] }> {
    const names = [...new Set(rawNames.map((n) => parseUserName(n)))];
    const existingRows = names.length
      ? await this.db.selectFrom('users').select('name').where('name', 'in', names).execute() : [];
    const existing = existingRows.map((r) => r.name as UserName);
    const fresh = names.filter((n) => !existing.includes(n));
    const created = await this.insertUsers(fresh, { admin: opts.admin ?? false, hash: null, actor: opts.actor ?? 'system' });
    return { created, existing };
  }

  private async insertUsers(names: readonly UserName[], opts: { admin: boolean; hash: string | null; actor: Actor }): Promise<UserRecord[]> {
    if (names.length === 0) return [];
    const now = this.now();
    try {
      return await this.db.transaction().execute(async (trx) => {
        const out: UserRecord[] = [];
        for (const name of names) {
          const row = await trx.insertInto('users')
            .values({ name, admin: opts.admin ? 1 : 0, password_hash: opts.hash, created_at: now, last_activity: null })
            .returningAll().executeTakeFirstOrThrow();
          await writeAudit(trx, now, opts.actor, 'user.create', name, { admin: opts.admin, password: opts.hash !== null });
          out.push(toUser(row));
        }
        return out;
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('NAME_TAKEN', `User ${names.join(', ')} already exists.`);
      throw err;
    }
  }

  /** The user named `name`, or null (also for names that are not valid user names). */
  async findUser(name: string): Promise<UserRecord | null> {
    const row = await this.db.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirst();
    return row ? toUser(row) : null;
  }

  /** The user named `name`; throws `NOT_FOUND`. */
  async getUser(name: string): Promise<UserRecord> {
    const u = await this.findUser(name);
    if (!u) throw new AppError('NOT_FOUND', `No such user: ${name}.`);
    return u;
  }

  /** The user with this id, or null. */
  async getUserById(id: number): Promise<UserRecord | null> {
    const row = await this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toUser(row) : null;
  }

  /** All users, sorted by name. */
  async listUsers(): Promise<UserRecord[]> {
    const rows = await this.db.selectFrom('users').selectAll().orderBy('name').execute();
    return rows.map(toUser);
  }

  /** Number of administrators. */
  async countAdmins(): Promise<number> {
    const r = await this.db.selectFrom('users').select((eb) => eb.fn.countAll().as('n')).where('admin', '=', 1).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /**
   * Admins with a way to log in (a password or a linked OpenID identity). Admins imported
   * without either (e.g. site admins of an access fixture) do not count: someone must be
   * able to log in as administrator after the first start.
   */
  async countAdminsWhoCanLogIn(): Promise<number> {
    const r = await this.db.selectFrom('users')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('admin', '=', 1)
      .where((eb) => eb.or([
        eb('password_hash', 'is not', null),
        eb.exists(eb.selectFrom('identities').select('identities.id').whereRef('identities.user_id', '=', 'users.id')),
      ]))
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /**
   * Renames a user. Refused (`INVALID_INPUT`) while one of their servers is not stopped:
   * URLs, OAuth clients and the Unix account derive from the name.
   */
  async renameUser(oldName: string, rawNewName: string, actor: Actor = 'system'): Promise<UserRecord> {
    const newName = parseUserName(rawNewName);
    const now = this.now();
    try {
      await this.db.transaction().execute(async (trx) => {
        const u = await trx.selectFrom('users').select(['id', 'name']).where('name', '=', oldName).executeTakeFirst();
        if (!u) throw new AppError('NOT_FOUND', `No such user: ${oldName}.`);
        if (u.name === newName) return;
        const active = await trx.selectFrom('servers').select('id').where('user_id', '=', u.id)
          .where('state', 'in', ['starting', 'running', 'stopping']).executeTakeFirst();
        if (active) throw new AppError('INVALID_INPUT', `Stop the servers of ${oldName} before renaming the account.`);
        const taken = await trx.selectFrom('users').select('id').where('name', '=', newName).executeTakeFirst();
        if (taken) throw new AppError('NAME_TAKEN', `User ${newName} already exists.`);
        await trx.updateTable('users').set({ name: newName }).where('id', '=', u.id).execute();
        await writeAudit(trx, now, actor, 'user.rename', newName, { from: oldName });
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('NAME_TAKEN', `User ${newName} already exists.`);
      throw err;
    }
    return this.getUser(newName);
  }

  /**
   * Deletes a user with their sessions, tokens, memberships and server records (the
   * caller stops running servers first). Throws `NOT_FOUND`, `LAST_ADMIN`.
   */
  async removeUser(name: string, actor: Actor = 'system'): Promise<void> {
    const now = this.now();
    await this.db.transaction().execute(async (trx) => {
      const u = await trx.selectFrom('users').select(['id', 'admin']).where('name', '=', name).executeTakeFirst();
      if (!u) throw new AppError('NOT_FOUND', `No such user: ${name}.`);
      if (u.admin === 1) {
        const admins = await trx.selectFrom('users').select((eb) => eb.fn.countAll().as('n')).where('admin', '=', 1).executeTakeFirstOrThrow();
        if (Number(admins.n) <= 1) throw new AppError('LAST_ADMIN', `${name} is the only administrator.`);
      }
      await trx.deleteFrom('users').where('id', '=', u.id).execute();
      await writeAudit(trx, now, actor, 'user.remove', name);
    });
  }

  /** Grants or revokes admin. Throws `NOT_FOUND`, `LAST_ADMIN` (demoting the last admin). */
  async setAdmin(name: string, admin: boolean, actor: Actor = 'system'): Promise<UserRecord> {
    const now = this.now();
    await this.db.transaction().execute(async (trx) => {
      const u = await trx.selectFrom('users').select(['id', 'admin']).where('name', '=', name).executeTakeFirst();
      if (!u) throw new AppError('NOT_FOUND', `No such user: ${name}.`);
      if ((u.admin === 1) === admin) return;
      if (!admin) {
        const admins = await trx.selectFrom('users').select((eb) => eb.fn.countAll().as('n')).where('admin', '=', 1).executeTakeFirstOrThrow();
        if (Number(admins.n) <= 1) throw new AppError('LAST_ADMIN', `${name} is the only administrator.`);
      }
      await trx.updateTable('users').set({ admin: admin ? 1 : 0 }).where('id', '=', u.id).execute();
      await writeAudit(trx, now, actor, admin ? 'user.grant-admin' : 'user.revoke-admin', name);
    });
    return this.getUser(name);
  }

  /** Sets (argon2id-hashes) a password. Throws `NOT_FOUND`, `INVALID_INPUT` (policy). */
  async setPassword(name: string, password: string, actor: Actor = 'system'): Promise<void> {
    checkPasswordPolicy(password);
    const hash = await hashPassword(password);
    const now = this.now();
    await this.db.transaction().execute(async (trx) => {
      const r = await trx.updateTable('users').set({ password_hash: hash }).where('name', '=', name).executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) throw new AppError('NOT_FOUND', `No such user: ${name}.`);
      await writeAudit(trx, now, actor, 'user.password', name);
    });
  }

  /**
   * Checks a user's password. Returns the user, or null for a wrong password, an unknown
   * user or an account without a password — taking the same time in every case (a dummy
   * hash is verified when there is no stored one). Never throws for bad input.
   */
  async verifyPassword(name: string, password: string): Promise<UserRecord | null> {
    const row = await this.db.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirst();
    const ok = await verifyPassword(row?.password_hash ?? null, password);
    return ok && row ? toUser(row) : null;
  }

  /**
   * If the hub has no administrator, creates user `admin` (or makes the existing one
   * admin) with a fresh random password and returns it for one-time display; else null.
   */
  async ensureInitialAdmin(actor: Actor = 'system'): Promise<{ name: UserName; password: string } | null> {
    if ((await this.countAdminsWhoCanLogIn()) > 0) return null;
    const password = generatePassword();
    const existing = await this.findUser(INITIAL_ADMIN_NAME);
    if (existing) {
      await this.setAdmin(INITIAL_ADMIN_NAME, true, actor);
      await this.setPassword(INITIAL_ADMIN_NAME, password, actor);
    } else {
      await this.createUser(INITIAL_ADMIN_NAME, { admin: true, password, actor });
    }
    return { name: INITIAL_ADMIN_NAME, password };
  }

  // ---- groups ------------------------------------------------------------------------

  /** Creates one group, optionally with members and properties. `NAME_TAKEN`, `INVALID_INPUT`. */
  async createGroup(name: string, opts: { users?: readonly string[]; properties?: Record<string, unknown>; actor?: Actor } = {}): Promise<GroupRecord> {
    const [g] = await groups.createGroups(this.db, this.now(), [name], { ...opts, actor: opts.actor ?? 'system' });
    return g!;
  }

  /** Creates several groups atomically; `NAME_TAKEN` if any exists (nothing created). */
  createGroups(names: readonly string[], opts: { users?: readonly string[]; actor?: Actor } = {}): Promise<GroupRecord[]> {
    return groups.createGroups(this.db, this.now(), names, { ...opts, actor: opts.actor ?? 'system' });
  }

  /** The group named `name` with its members; throws `NOT_FOUND`. */
  getGroup(name: string): Promise<GroupRecord> {
    return groups.getGroup(this.db, name);
  }

  /** The group named `name`, or null. */
  findGroup(name: string): Promise<GroupRecord | null> {
    return groups.findGroup(this.db, name);
  }

  /** One page of groups sorted by name, and the total number of groups. */
  listGroups(page: { offset: number; limit: number } = { offset: 0, limit: 1_000_000 }): Promise<{ items: GroupRecord[]; total: number }> {
    return groups.listGroups(this.db, page);
  }

  /** Deletes a group; throws `NOT_FOUND`. */
  deleteGroup(name: string, actor: Actor = 'system'): Promise<void> {
    return groups.deleteGroup(this.db, this.now(), name, actor);
  }

  /** Adds members (idempotent); unknown users ⇒ `INVALID_INPUT`, nothing changed. */
  addGroupMembers(group: string, users: readonly string[], actor: Actor = 'system'): Promise<GroupRecord> {
    return groups.changeMembers(this.db, this.now(), group, { add: users }, actor);
  }

  /** Removes members (idempotent); unknown users ⇒ `INVALID_INPUT`, nothing changed. */
  removeGroupMembers(group: string, users: readonly string[], actor: Actor = 'system'): Promise<GroupRecord> {
    return groups.changeMembers(this.db, this.now(), group, { remove: users }, actor);
  }

  /** Adds and removes members in one transaction. */
  changeGroupMembers(group: string, change: { add?: readonly string[]; remove?: readonly string[] }, actor: Actor = 'system'): Promise<GroupRecord> {
    return groups.changeMembers(this.db, this.now(), group, change, actor);
  }

  /** Replaces a group's properties (a JSON object, ≤ 64 KiB). */
  setGroupProperties(group: string, properties: unknown, actor: Actor = 'system'): Promise<GroupRecord> {
    return groups.setGroupProperties(this.db, this.now(), group, properties, actor);
  }

  /** Member names of a group, sorted; throws `NOT_FOUND`. */
  async groupMembers(group: string): Promise<UserName[]> {
    return (await groups.getGroup(this.db, group)).users;
  }

  /** Group names of a user (by id), sorted. */
  async groupsOf(userId: number): Promise<GroupName[]> {
    return (await groups.groupsOfUsers(this.db, [userId])).get(userId) ?? [];
  }

  /** Group names of several users (by id) at once. */
  groupsOfUsers(userIds: readonly number[]): Promise<Map<number, GroupName[]>> {
    return groups.groupsOfUsers(this.db, userIds);
  }
}

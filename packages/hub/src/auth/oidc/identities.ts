import { AppError } from '@eucp/core';
import type { Selectable } from 'kysely';
import type { Db } from '../../db/index.js';
import type { IdentitiesTable, OidcPendingTable } from '../../db/schema.js';
import { isUniqueViolation, writeAudit } from '../../accounts/audit.js';
import type { Actor } from '../../accounts/types.js';
import { storableClaims, type Claims } from './claims.js';

/** An OpenID Connect identity linked to an account. */
export interface IdentityRecord {
  id: number;
  userId: number;
  /** Configured provider id it was last used with. */
  provider: string;
  issuer: string;
  subject: string;
  claims: Record<string, unknown>;
  /** Milliseconds since the epoch. */
  createdAt: number;
  lastLogin: number | null;
}

/** A first log-in waiting for an administrator (`newUsers = "approval"`). */
export interface PendingRecord {
  id: number;
  provider: string;
  issuer: string;
  subject: string;
  /** Suggested user name, or null if the claims gave none. */
  name: string | null;
  email: string | null;
  claims: Record<string, unknown>;
  createdAt: number;
  lastAttempt: number;
}

function parseJson(text: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function toIdentity(r: Selectable<IdentitiesTable>): IdentityRecord {
  return {
    id: r.id, userId: r.user_id, provider: r.provider, issuer: r.issuer, subject: r.subject, claims: parseJson(r.claims_json),
    createdAt: r.created_at, lastLogin: r.last_login,
  };
}

function toPending(r: Selectable<OidcPendingTable>): PendingRecord {
  return {
    id: r.id, provider: r.provider, issuer: r.issuer, subject: r.subject, name: r.name, email: r.email,
    claims: parseJson(r.claims_json), createdAt: r.created_at, lastAttempt: r.last_attempt,
  };
}

/**
 * Identities (issuer + subject) linked to accounts, and first log-ins awaiting approval.
 * An identity belongs to exactly one account; an account may have any number. Every
 * change writes an audit row (never a token or secret).
 */
export class IdentityStore {
  constructor(private readonly db: Db, private readonly now: () => number) {}

  /** The identity with this issuer and subject, or null. */
  async find(issuer: string, subject: string): Promise<IdentityRecord | null> {
    const r = await this.db.selectFrom('identities').selectAll().where('issuer', '=', issuer).where('subject', '=', subject).executeTakeFirst();
    return r ? toIdentity(r) : null;
  }

  /** Identities of a user, oldest first. */
  async listOf(userId: number): Promise<IdentityRecord[]> {
    const rows = await this.db.selectFrom('identities').selectAll().where('user_id', '=', userId).orderBy('id').execute();
    return rows.map(toIdentity);
  }

  /**
   * Links an identity to a user. Throws `OIDC_IDENTITY_TAKEN` when it already belongs to
   * another user; linking it again to the same user only refreshes it.
   */
  async link(input: { userId: number; userName: string; provider: string; issuer: string; subject: string; claims: Claims; actor: Actor }): Promise<IdentityRecord> {
    const now = this.now();
    const claims = JSON.stringify(storableClaims(input.claims));
    try {
      await this.db.transaction().execute(async (trx) => {
        const existing = await trx.selectFrom('identities').select(['id', 'user_id']).where('issuer', '=', input.issuer)
          .where('subject', '=', input.subject).executeTakeFirst();
        if (existing && existing.user_id !== input.userId) throw new AppError('OIDC_IDENTITY_TAKEN', undefined, { reason: 'identity_taken' });
        if (existing) {
          await trx.updateTable('identities').set({ provider: input.provider, claims_json: claims, last_login: now }).where('id', '=', existing.id).execute();
          return;
        }
        await trx.insertInto('identities').values({
          user_id: input.userId, provider: input.provider, issuer: input.issuer, subject: input.subject, claims_json: claims,
          created_at: now, last_login: now,
        }).execute();
        await writeAudit(trx, now, input.actor, 'identity.link', input.userName, { provider: input.provider, issuer: input.issuer, subject: input.subject });
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('OIDC_IDENTITY_TAKEN', undefined, { reason: 'identity_taken' });
      throw err;
    }
    return (await this.find(input.issuer, input.subject))!;
  }

  /** Records a log-in with an identity: its provider, fresh claims and the time. */
  async touch(id: number, provider: string, claims: Claims): Promise<void> {
    await this.db.updateTable('identities')
      .set({ provider, claims_json: JSON.stringify(storableClaims(claims)), last_login: this.now() }).where('id', '=', id).execute();
  }

  /**
   * Unlinks identity `id` of a user. Throws `NOT_FOUND` (not theirs) and
   * `LAST_LOGIN_METHOD` when the account has no password and no other identity.
   */
  async unlink(userId: number, userName: string, id: number, actor: Actor): Promise<void> {
    const now = this.now();
    await this.db.transaction().execute(async (trx) => {
      const row = await trx.selectFrom('identities').selectAll().where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
      if (!row) throw new AppError('NOT_FOUND', `No such identity: ${id}.`);
      const user = await trx.selectFrom('users').select('password_hash').where('id', '=', userId).executeTakeFirstOrThrow();
      const others = await trx.selectFrom('identities').select((eb) => eb.fn.countAll().as('n')).where('user_id', '=', userId)
        .where('id', '!=', id).executeTakeFirstOrThrow();
      if (user.password_hash === null && Number(others.n) === 0) {
        throw new AppError('LAST_LOGIN_METHOD', `${userName} has no password and no other identity.`);
      }
      await trx.deleteFrom('identities').where('id', '=', id).execute();
      await writeAudit(trx, now, actor, 'identity.unlink', userName, { provider: row.provider, issuer: row.issuer, subject: row.subject });
    });
  }

  // ---- first log-ins awaiting approval -----------------------------------------------

  /** The pending first log-in of an identity, or null. */
  async findPending(issuer: string, subject: string): Promise<PendingRecord | null> {
    const r = await this.db.selectFrom('oidc_pending').selectAll().where('issuer', '=', issuer).where('subject', '=', subject).executeTakeFirst();
    return r ? toPending(r) : null;
  }

  /** A pending first log-in by id; throws `NOT_FOUND`. */
  async getPending(id: number): Promise<PendingRecord> {
    const r = await this.db.selectFrom('oidc_pending').selectAll().where('id', '=', id).executeTakeFirst();
    if (!r) throw new AppError('NOT_FOUND', `No pending account request ${id}.`);
    return toPending(r);
  }

  /** All pending first log-ins, oldest first. */
  async listPending(): Promise<PendingRecord[]> {
    return (await this.db.selectFrom('oidc_pending').selectAll().orderBy('id').execute()).map(toPending);
  }

  /** Records (or refreshes) a first log-in awaiting approval. Idempotent per identity. */
  async addPending(input: { provider: string; issuer: string; subject: string; name: string | null; email: string | null; claims: Claims }): Promise<PendingRecord> {
    const now = this.now();
    const fields = { provider: input.provider, name: input.name, email: input.email, claims_json: JSON.stringify(storableClaims(input.claims)), last_attempt: now };
    await this.db.transaction().execute(async (trx) => {
      const existing = await trx.selectFrom('oidc_pending').select('id').where('issuer', '=', input.issuer).where('subject', '=', input.subject).executeTakeFirst();
      if (existing) {
        await trx.updateTable('oidc_pending').set(fields).where('id', '=', existing.id).execute();
        return;
      }
      await trx.insertInto('oidc_pending').values({ ...fields, issuer: input.issuer, subject: input.subject, created_at: now }).execute();
      await writeAudit(trx, now, `oidc:${input.provider}`, 'identity.pending', input.name ?? input.subject, { provider: input.provider, issuer: input.issuer });
    });
    return (await this.findPending(input.issuer, input.subject))!;
  }

  /** Forgets a pending first log-in (after approval or rejection). Idempotent. */
  async removePending(id: number): Promise<void> {
    await this.db.deleteFrom('oidc_pending').where('id', '=', id).execute();
  }
}

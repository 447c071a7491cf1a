import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

/**
 * Appends one row to `audit_log`. `details` must never contain secrets (passwords,
 * tokens, hashes): callers pass names, flags and ids only.
 */
export async function writeAudit(
  db: Kysely<Database>,
  at: number,
  actor: string,
  action: string,
  target: string,
  details: Record<string, unknown> = {},
): Promise<void> {
  await db.insertInto('audit_log').values({ at, actor, action, target, details: JSON.stringify(details) }).execute();
}

/** True for a unique-constraint violation (SQLite or PostgreSQL). */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}

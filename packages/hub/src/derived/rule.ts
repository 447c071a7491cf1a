/**
 * The "never looser than its inputs" rule of derived data (docs/decisions/0009-derived-data.md):
 * who may see and read a derived data set, and the ids it is published under.
 */
import { AppError } from '@eucp/core';

/** The audience an owner chose. `public` = everyone, logged in or not. */
export interface Audience {
  users: string[];
  groups: string[];
  public: boolean;
}

/** Who is asking: their user name (null = anonymous), their hub groups, and their data-access reader. */
export interface Viewer {
  name: string | null;
  hubGroups: ReadonlySet<string>;
  reader: { canRead(resource: string): boolean };
}

/**
 * True iff `v` may see (in the catalog) and read (at `/shared`) a derived data set: its owner
 * always; anyone else only if they are in the chosen audience AND may read every declared
 * input now (decided with the same access reader as the catalog, so revoking an input grant
 * hides the derived data set too).
 */
export function mayRead(v: Viewer, owner: string, audience: Audience, inputs: ReadonlyArray<{ instance_id: string }>): boolean {
  if (v.name !== null && v.name === owner) return true;
  const chosen = audience.public || (v.name !== null && (audience.users.includes(v.name) || audience.groups.some((g) => v.hubGroups.has(g))));
  return chosen && inputs.every((i) => v.reader.canRead(i.instance_id));
}

/** Names of derived data sets: 1-64 characters, lower-case letters, digits, `-`, `_` (they appear in ids and paths). */
export const DERIVED_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** Checks a name; throws `INVALID_INPUT`. */
export function checkDerivedName(name: string): string {
  if (!DERIVED_NAME_PATTERN.test(name)) {
    throw new AppError('INVALID_INPUT', `The name ${JSON.stringify(name)} is not allowed: 1-64 lower-case letters, digits, "-" or "_", starting with a letter or digit.`, { field: 'name' });
  }
  return name;
}

/** A name from a folder name: lower-cased, other characters as `-`. */
export function nameFromFolder(folder: string): string {
  const n = folder.toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^[-_]+/, '').slice(0, 64).replace(/-+$/, '');
  return n || 'derived';
}

/** Every derived instance_id starts with this (project `derived`). */
export const DERIVED_PREFIX = 'derived.';

/** `derived.<owner>.<name>` (ESGF master_id) and `…v<version>` (instance_id). */
export const masterIdOf = (owner: string, name: string): string => `${DERIVED_PREFIX}${owner}.${name}`;
export const instanceIdOf = (owner: string, name: string, version: string): string => `${masterIdOf(owner, name)}.v${version}`;

/** Parses a derived instance_id (with version) or master_id (without); null when it is not one. */
export function parseDerivedId(id: string): { owner: string; name: string; version: string | null } | null {
  const m = /^derived\.([a-z][a-z0-9_-]{0,31})\.([a-z0-9][a-z0-9_-]{0,63})(?:\.v(\d{8,12}))?$/.exec(id);
  return m ? { owner: m[1]!, name: m[2]!, version: m[3] ?? null } : null;
}

/**
 * The next version: today's date (UTC) and the number of the publication that day,
 * `YYYYMMDDNN` (`2024050201`, then `2024050202` for a second one that day) — numeric and
 * ordered like ESGF's `vYYYYMMDD`, and never past a real date. Throws `INVALID_INPUT` after
 * 99 versions in one day.
 */
export function nextVersion(nowMs: number, last: string | null): string {
  const d = new Date(nowMs);
  const today = `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}${String(d.getUTCDate()).padStart(2, '0')}`;
  const n = last !== null && last.length === 10 && last.startsWith(today) ? Number(last.slice(8)) + 1 : 1;
  if (n > 99) throw new AppError('INVALID_INPUT', 'A data set can be published at most 99 times a day: publish the next version tomorrow.');
  return `${today}${String(n).padStart(2, '0')}`;
}

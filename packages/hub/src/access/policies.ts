import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { AppError, compilePolicies, parsePolicies, type PolicyRule, type PolicySet } from '@eucp/core';
import type { HubConfig } from '../config/schema.js';
import { dataDirOf } from '../config/load.js';

/** The policy files a configuration names: `access.policyFiles`, or the demo data's `access/policies.xml`. */
export function policyFilesOf(config: HubConfig): string[] {
  if (config.access.policyFiles) return config.access.policyFiles.map((f) => path.resolve(f));
  const demo = path.join(dataDirOf(config), 'access', 'policies.xml');
  return existsSync(demo) ? [demo] : [];
}

/** The directory whose groups are imported at first start: `access.fixturesDir`, or `<dataDir>/access` if it has a groups.json. */
export function fixturesDirOf(config: HubConfig): string | null {
  if (config.access.fixturesDir) return path.resolve(config.access.fixturesDir);
  const demo = path.join(dataDirOf(config), 'access');
  return existsSync(path.join(demo, 'groups.json')) ? demo : null;
}

/**
 * Reads and compiles the policy files in order (their policies concatenated). Throws
 * `ACCESS_POLICY_INVALID` naming the file, the line (XML) or entry (JSON) and the regex of
 * a broken policy, and `CONFIG_INVALID` (key `access.policyFiles`) for an unreadable file.
 */
export function loadPolicySet(files: readonly string[], opts: { unmatched: 'Deny' | 'Permit'; groupAdminsRead: boolean }): PolicySet {
  const rules: PolicyRule[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new AppError('CONFIG_INVALID', `Cannot read the policy file ${file}: ${(err as Error).message}`, { key: 'access.policyFiles' });
    }
    rules.push(...parsePolicies(text, file));
  }
  return compilePolicies(rules, {
    unmatched: opts.unmatched,
    ...(opts.groupAdminsRead && { impliedRoles: { admin: ['user'] } }),
  });
}

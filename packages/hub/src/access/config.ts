import { z } from 'zod';

/**
 * The `[access]` section of the hub configuration: where the ESGF policies and the access
 * groups come from, and the few choices the ESGF decision rule leaves to a site.
 */
export const accessSectionSchema = z.object({
  policyFiles: z.array(z.string()).nullable().default(null)
    .describe('ESGF policy files (esgf_policies_*.xml, or the same as JSON), read in order at start; a broken regex stops the hub naming the policy. null = <dataDir>/access/policies.xml if it exists (the EUCP-SYN demo data), else no policies.'),
  unmatchedDecision: z.enum(['Deny', 'Permit']).default('Deny')
    .describe('Decision for a data set no policy matches (ESGF: Deny).'),
  groupAdminsRead: z.boolean().default(true)
    .describe('Group administrators (role admin, approved) may read what the role user of their group reads.'),
  fixturesDir: z.string().nullable().default(null)
    .describe('Directory in the EUCP-SYN layout (groups.json, licences/<id>.md, users.json) whose access groups are imported into the database at first start (when the hub has no access groups yet). null = <dataDir>/access if it exists.'),
  importFixtureUsers: z.boolean().default(false)
    .describe('At that import, also create the accounts of users.json (without passwords) and their memberships: for the EUCP-SYN demo only.'),
  readAuditWindowMs: z.number().int().nonnegative().default(3_600_000)
    .describe('Byte-range reads of one data file by one user from the hub\'s file endpoint within this window are written to the access audit once (whole-file reads always are).'),
}).strict().prefault({});

export type AccessConfig = z.infer<typeof accessSectionSchema>;

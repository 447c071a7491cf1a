/**
 * Access-control fixtures (§3.4): groups, ESGF policies (XML and JSON), users and licences, and
 * the expected decisions, computed with the ESGF decision rule of esgf-compat.md §1.
 */

/** An ESGF policy (`<policy resource=… attribute_type=… attribute_value=… action=…/>`). */
export interface Policy {
  readonly resource: string;
  readonly attribute_type: string;
  readonly attribute_value: string;
  readonly action: 'Read' | 'Write';
}

/** An access-control group. */
export interface Group {
  readonly name: string;
  readonly description: string;
  readonly visible: boolean;
  readonly automatic_approval: boolean;
  /** Licence id; the text is `access/licences/<id>.md`. */
  readonly licence: string;
  readonly grants: string;
}

/** A membership `(group, role, approved)`; `approved=false` is a pending request. */
export interface Membership {
  readonly group: string;
  readonly role: string;
  readonly approved: boolean;
}

/** A fixture user. No credentials: the hub's seed step sets passwords for local accounts. */
export interface FixtureUser {
  readonly username: string;
  readonly email: string;
  readonly identity: { readonly kind: 'local' } | { readonly kind: 'oidc'; readonly issuer: string; readonly subject: string };
  readonly site_admin: boolean;
  readonly memberships: readonly Membership[];
}

export const POLICIES: readonly Policy[] = [
  { resource: '^CMIP6\\.', attribute_type: 'ANY', attribute_value: '', action: 'Read' },
  { resource: '^cordex\\.output\\.EUR-44\\.', attribute_type: 'CORDEX Research', attribute_value: 'user', action: 'Read' },
  { resource: '^cordex\\.output\\.EUR-44\\..*\\.tas(\\.v\\d{8})?$', attribute_type: 'CORDEX Commercial', attribute_value: 'user', action: 'Read' },
  { resource: '^cordex\\.', attribute_type: 'CORDEX Research', attribute_value: 'publisher', action: 'Write' },
];

export const GROUPS: readonly Group[] = [
  {
    name: 'CORDEX Research',
    description: 'Non-commercial research use of the restricted EUCP-SYN CORDEX data; an administrator approves each request.',
    visible: true,
    automatic_approval: false,
    licence: 'cordex-nc-research-v1',
    grants: 'Read on all CORDEX-SYN datasets',
  },
  {
    name: 'CORDEX Commercial',
    description: 'Unrestricted use of the EUCP-SYN CORDEX tas subset; requests are approved at once.',
    visible: true,
    automatic_approval: true,
    licence: 'cordex-unrestricted-v1',
    grants: 'Read on tas only',
  },
];

export const USERS: readonly FixtureUser[] = [
  { username: 'alice', email: 'alice@eucp-syn.test', identity: { kind: 'local' }, site_admin: true, memberships: [{ group: 'CORDEX Research', role: 'admin', approved: true }] },
  { username: 'bob', email: 'bob@eucp-syn.test', identity: { kind: 'local' }, site_admin: false, memberships: [] },
  {
    username: 'carol', email: 'carol@eucp-syn.test', identity: { kind: 'oidc', issuer: 'https://idp.eucp-syn.test', subject: 'carol' },
    site_admin: false, memberships: [{ group: 'CORDEX Research', role: 'user', approved: true }],
  },
  { username: 'dave', email: 'dave@eucp-syn.test', identity: { kind: 'local' }, site_admin: false, memberships: [{ group: 'CORDEX Research', role: 'user', approved: false }] },
  { username: 'erin', email: 'erin@eucp-syn.test', identity: { kind: 'local' }, site_admin: false, memberships: [{ group: 'CORDEX Commercial', role: 'user', approved: true }] },
];

/** Licence texts (Markdown), by id. Fictional terms for fictional data. */
export const LICENCES: Readonly<Record<string, string>> = {
  'cordex-nc-research-v1':
    '# CORDEX-SYN non-commercial research licence (cordex-nc-research-v1)\n\n' +
    'This licence covers the synthetic EUCP-SYN CORDEX test data. It imitates the CORDEX "non-commercial" terms so that the\n' +
    'registration flow can be tested; the data are not model output.\n\n' +
    '1. You may use the data for non-commercial research and education only.\n' +
    '2. You may not redistribute the data; point others to the hub instead.\n' +
    '3. Cite the data set as "EUCP-SYN synthetic CORDEX data (fictional)".\n',
  'cordex-unrestricted-v1':
    '# CORDEX-SYN unrestricted licence (cordex-unrestricted-v1)\n\n' +
    'This licence covers the tas subset of the synthetic EUCP-SYN CORDEX test data. It imitates the CORDEX "unrestricted"\n' +
    'terms so that automatic approval can be tested; the data are not model output.\n\n' +
    '1. You may use the data for any purpose, including commercial use.\n' +
    '2. Cite the data set as "EUCP-SYN synthetic CORDEX data (fictional)".\n',
};

const xmlAttr = (s: string): string => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The policies as an ESGF `esgf_policies_local.xml` document. */
export function policiesXml(policies: readonly Policy[] = POLICIES): string {
  const lines = policies.map(
    (p) => `  <policy resource="${xmlAttr(p.resource)}" attribute_type="${xmlAttr(p.attribute_type)}" attribute_value="${xmlAttr(p.attribute_value)}" action="${p.action}"/>`,
  );
  return `<?xml version="1.0" encoding="UTF-8"?>\n<policies xmlns="http://www.esgf.org/security">\n${lines.join('\n')}\n</policies>\n`;
}

/** A decision with the groups that would grant access. */
export interface Decision {
  readonly decision: 'Permit' | 'Deny' | 'Challenge';
  readonly grantable_by: ReadonlyArray<{
    readonly group: string;
    readonly role: string;
    readonly automatic_approval: boolean;
    readonly licence_id: string;
    readonly membership: 'none' | 'pending' | 'approved';
  }>;
}

/** ESGF decision rule (esgf-compat.md §1, steps 1–7); `user` null means anonymous. */
export function decide(user: FixtureUser | null, resource: string, action: 'Read' | 'Write', policies: readonly Policy[] = POLICIES): Decision {
  const matching = policies.filter((p) => p.action === action && new RegExp(p.resource).test(resource));
  const groupPolicies = matching.filter((p) => !['ANY', 'AUTH_ONLY', 'NONE'].includes(p.attribute_type));
  const grantable_by = groupPolicies.map((p) => {
    const g = GROUPS.find((x) => x.name === p.attribute_type);
    const m = user?.memberships.find((x) => x.group === p.attribute_type && x.role.toLowerCase() === p.attribute_value.toLowerCase());
    return {
      group: p.attribute_type,
      role: p.attribute_value,
      automatic_approval: g?.automatic_approval ?? false,
      licence_id: g?.licence ?? '',
      membership: m ? (m.approved ? ('approved' as const) : ('pending' as const)) : ('none' as const),
    };
  });
  if (matching.length === 0) return { decision: 'Deny', grantable_by: [] };
  if (matching.some((p) => p.attribute_type === 'ANY')) return { decision: 'Permit', grantable_by: [] };
  if (!user) return { decision: 'Challenge', grantable_by };
  if (matching.some((p) => p.attribute_type === 'AUTH_ONLY')) return { decision: 'Permit', grantable_by: [] };
  if (grantable_by.some((g) => g.membership === 'approved')) return { decision: 'Permit', grantable_by: [] };
  return { decision: 'Deny', grantable_by };
}

/** Expected decisions for every fixture user named in the §3.4 oracle (and anonymous) on the given resources. */
export function accessOracle(resources: readonly string[]): Array<{ user: string | null; resource: string; action: 'Read' } & Decision> {
  const users: Array<FixtureUser | null> = [null, ...USERS.filter((u) => u.username !== 'alice')];
  return users.flatMap((u) => resources.map((resource) => ({ user: u?.username ?? null, resource, action: 'Read' as const, ...decide(u, resource, 'Read') })));
}

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compilePolicies, compileResourcePattern, decideAccess, parsePolicies, parsePoliciesJson, parsePoliciesXml, type GroupTerms } from './access.js';
import { AppError } from './errors.js';

/** The EUCP-SYN policies (synthetic-climate-data.md §3.4), as the generator writes them. */
const XML = `<?xml version="1.0" encoding="UTF-8"?>
<policies xmlns="http://www.esgf.org/security">
  <!-- CMIP6 is open; <policy resource="ignored"/> inside a comment is not a policy -->
  <policy resource="^CMIP6\\." attribute_type="ANY" attribute_value="" action="Read"/>
  <policy resource="^cordex\\.output\\.EUR-44\\." attribute_type="CORDEX Research" attribute_value="user" action="Read"/>
  <policy resource="^cordex\\.output\\.EUR-44\\..*\\.tas(\\.v\\d{8})?$" attribute_type="CORDEX Commercial" attribute_value="user" action="Read"/>
  <policy resource="^cordex\\." attribute_type="CORDEX Research" attribute_value="publisher" action="Write"></policy>
</policies>
`;
const TAS = 'cordex.output.EUR-44.SYNRCM.SYNLAB-SYN-ESM1-0-LR.historical.r1i1p1.RCM1.v1.mon.tas.v20200101';
const PR = 'cordex.output.EUR-44.SYNRCM.SYNLAB-SYN-ESM1-0-LR.historical.r1i1p1.RCM1.v1.mon.pr.v20200101';
const CMIP6 = 'CMIP6.CMIP.SYNLAB.SYN-ESM1-0-LR.historical.r1i1p1f1.Amon.tas.gn.v20190601';
const GROUPS = new Map<string, GroupTerms>([
  ['CORDEX Research', { automaticApproval: false, licenceId: 'cordex-nc-research-v1' }],
  ['CORDEX Commercial', { automaticApproval: true, licenceId: 'cordex-unrestricted-v1' }],
]);
const research = (approved: boolean, role = 'user') => ({ group: 'CORDEX Research', role, approved });

function throwsPolicy(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof AppError && err.code === 'ACCESS_POLICY_INVALID' && pattern.test(err.message));
}

describe('parsing ESGF policies', () => {
  it('reads the XML and JSON forms to the same rules, skipping comments, with sources', () => {
    const xml = parsePoliciesXml(XML, 'policies.xml');
    const json = parsePoliciesJson(JSON.stringify(xml.map((r) => ({
      resource: r.resource, attribute_type: r.attributeType, attribute_value: r.attributeValue, action: r.action,
    }))), 'policies.json');
    assert.equal(xml.length, 4);
    assert.deepEqual(xml.map(({ source: _s, ...r }) => r), json.map(({ source: _s, ...r }) => r));
    assert.equal(xml[1]!.resource, '^cordex\\.output\\.EUR-44\\.');
    assert.equal(xml[0]!.source, 'policies.xml line 4');
    assert.equal(json[3]!.source, 'policies.json #4');
    assert.deepEqual(parsePolicies(XML, 'x'), parsePoliciesXml(XML, 'x'));
  });

  it('decodes entities, accepts single quotes, prefixes and lower-case actions', () => {
    const [r] = parsePoliciesXml(`<esg:policies><esg:policy resource='a&amp;b&#x2F;&lt;' attribute_type="G &quot;1&quot;" attribute_value="User" action="read"/></esg:policies>`);
    assert.deepEqual({ ...r, source: '' }, { resource: 'a&b/<', attributeType: 'G "1"', attributeValue: 'User', action: 'Read', source: '' });
  });

  it('refuses malformed documents and policies, naming where', () => {
    throwsPolicy(() => parsePoliciesXml('<policies>\n<policy resource="x" attribute_type="ANY" action="Delete"/>'), /line 2.*Delete/);
    throwsPolicy(() => parsePoliciesXml('<policies>\n\n<policy attribute_type="ANY" action="Read"/>'), /line 3.*no resource/);
    throwsPolicy(() => parsePoliciesXml('<policies><policy resource="x'), /unterminated|malformed/);
    throwsPolicy(() => parsePoliciesJson('[{"resource": 1}]', 'p.json'), /p\.json #1/);
    throwsPolicy(() => parsePoliciesJson('{', 'p.json'), /not valid JSON/);
  });
});

describe('compiling policies', () => {
  it('rejects a broken regex at load time, naming the policy and the regex', () => {
    const rules = parsePoliciesXml('<policies>\n<policy resource="^cordex\\.(" attribute_type="CORDEX Research" attribute_value="user" action="Read"/></policies>', 'local.xml');
    throwsPolicy(() => compilePolicies(rules), /local\.xml line 2.*\^cordex\\\\\.\(/);
  });

  it('rejects a group policy without a role', () => {
    throwsPolicy(() => compilePolicies(parsePoliciesJson([{ resource: 'x', attribute_type: 'G', action: 'Read' }], 'p.json')), /p\.json #1.*no role/);
  });

  it('translates Java anchors and (?i)', () => {
    assert.ok(compileResourcePattern('\\Acmip5.*').test('cmip5.output1'));
    assert.ok(!compileResourcePattern('\\Acmip5.*').test('Acmip5'));
    assert.ok(compileResourcePattern('tas\\z').test('x.tas'));
    assert.ok(compileResourcePattern('(?i)^cmip5').test('CMIP5.x'));
    assert.ok(compileResourcePattern('a\\\\A').test('a\\A'));
  });
});

describe('the ESGF decision rule', () => {
  const set = compilePolicies(parsePoliciesXml(XML));

  it('§3.4 oracle decisions', () => {
    const d = (res: string, user: string | null, ms: Parameters<typeof set.decide>[3]) => set.decide(res, 'Read', user, ms, GROUPS);
    assert.equal(d(CMIP6, null, []).decision, 'Permit');
    const anon = d(TAS, null, []);
    assert.equal(anon.decision, 'Challenge');
    assert.deepEqual(anon.grantableBy.map((g) => [g.group, g.role, g.membership, g.automaticApproval, g.licenceId]), [
      ['CORDEX Research', 'user', 'none', false, 'cordex-nc-research-v1'],
      ['CORDEX Commercial', 'user', 'none', true, 'cordex-unrestricted-v1'],
    ]);
    assert.equal(d(TAS, 'bob', []).decision, 'Deny');
    assert.deepEqual(d(PR, 'bob', []).grantableBy.map((g) => g.group), ['CORDEX Research']);
    assert.deepEqual(d(TAS, 'carol', [research(true)]), { decision: 'Permit', grantableBy: [], matchedPolicies: d(TAS, 'carol', []).matchedPolicies });
    const dave = d(TAS, 'dave', [research(false)]);
    assert.equal(dave.decision, 'Deny');
    assert.deepEqual(dave.grantableBy.map((g) => g.membership), ['pending', 'none']);
    const erin = [{ group: 'CORDEX Commercial', role: 'user', approved: true }];
    assert.equal(d(TAS, 'erin', erin).decision, 'Permit');
    assert.equal(d(PR, 'erin', erin).decision, 'Deny');
  });

  it('roles compare case-insensitively; the wrong role or action does not grant', () => {
    assert.equal(set.decide(TAS, 'Read', 'x', [research(true, 'User')]).decision, 'Permit');
    assert.equal(set.decide(TAS, 'Read', 'x', [research(true, 'publisher')]).decision, 'Deny');
    assert.equal(set.decide(TAS, 'Write', 'x', [research(true, 'user')]).decision, 'Deny');
    assert.equal(set.decide(TAS, 'Write', 'x', [research(true, 'publisher')]).decision, 'Permit');
    // Anonymous memberships are ignored.
    assert.equal(set.decide(TAS, 'Read', null, [research(true)]).decision, 'Challenge');
  });

  it('ANY, AUTH_ONLY, NONE and no match', () => {
    const s = compilePolicies(parsePoliciesJson([
      { resource: '/free/', attribute_type: 'ANY', attribute_value: '', action: 'Read' },
      { resource: '/free/', attribute_type: 'NONE', attribute_value: '', action: 'Write' },
      { resource: '/members/', attribute_type: 'AUTH_ONLY', attribute_value: '', action: 'Read' },
      { resource: '/closed/', attribute_type: 'NONE', attribute_value: '', action: 'Read' },
      { resource: '/mixed/', attribute_type: 'NONE', attribute_value: '', action: 'Read' },
      { resource: '/mixed/', attribute_type: 'G', attribute_value: 'user', action: 'Read' },
    ]));
    const g = [{ group: 'G', role: 'user', approved: true }];
    assert.equal(s.decide('http://h/free/f.nc', 'Read', null, []).decision, 'Permit');
    assert.equal(s.decide('http://h/free/f.nc', 'Write', 'u', g).decision, 'Deny');
    assert.equal(s.decide('/members/x', 'Read', null, []).decision, 'Challenge');
    assert.equal(s.decide('/members/x', 'Read', 'u', []).decision, 'Permit');
    assert.equal(s.decide('/closed/x', 'Read', 'u', g).decision, 'Deny');
    assert.equal(s.decide('/closed/x', 'Read', null, []).decision, 'Challenge');
    assert.equal(s.decide('/mixed/x', 'Read', 'u', g).decision, 'Permit');
    assert.deepEqual(s.decide('/other', 'Read', 'u', g), { decision: 'Deny', grantableBy: [], matchedPolicies: [] });
    assert.equal(s.decide('/other', 'Read', null, []).decision, 'Deny');
    const open = compilePolicies([], { unmatched: 'Permit' });
    assert.equal(open.decide('/other', 'Read', null, []).decision, 'Permit');
  });

  it('implied roles: a group admin reads what the group reads (when configured)', () => {
    const strict = set.decide(TAS, 'Read', 'alice', [research(true, 'admin')]);
    assert.equal(strict.decision, 'Deny');
    const withAdmin = compilePolicies(parsePoliciesXml(XML), { impliedRoles: { Admin: ['User'] } });
    assert.equal(withAdmin.decide(TAS, 'Read', 'alice', [research(true, 'admin')]).decision, 'Permit');
    assert.equal(withAdmin.decide(TAS, 'Read', 'alice', [research(false, 'admin')]).decision, 'Deny');
  });

  it('each (group, role) is listed once; decideAccess and permits agree with decide', () => {
    const s = compilePolicies(parsePoliciesJson([
      { resource: 'a', attribute_type: 'G', attribute_value: 'user', action: 'Read' },
      { resource: 'ab', attribute_type: 'G', attribute_value: 'User', action: 'Read' },
    ]));
    assert.equal(s.decide('ab', 'Read', 'u', []).grantableBy.length, 1);
    const subj = set.subject('erin', [{ group: 'CORDEX Commercial', role: 'user', approved: true }]);
    for (const r of [TAS, PR, CMIP6, 'nothing']) {
      assert.equal(set.permits(subj, r), set.decideFor(subj, r, 'Read').decision === 'Permit');
      assert.deepEqual(decideAccess(set, r, 'Read', 'erin', [{ group: 'CORDEX Commercial', role: 'user', approved: true }]), set.decideFor(subj, r, 'Read'));
    }
  });

  it('a decision costs well under a microsecond once the resource was seen (reported, not asserted)', () => {
    const ids: string[] = [];
    for (let i = 0; i < 20_000; i++) ids.push(i % 2 ? `${TAS.slice(0, -10)}.v${20000000 + i}` : `CMIP6.X.Y.m${i}.historical.r1i1p1f1.Amon.tas.gn.v20190601`);
    const subj = set.subject('erin', [{ group: 'CORDEX Commercial', role: 'user', approved: true }]);
    const cold = compilePolicies(parsePoliciesXml(XML), { matchCacheSize: 0 });
    /** ns per id of the best of 5 passes (the first ones warm up the JIT and the cache). */
    const time = (f: (id: string) => unknown): number => {
      let best = Infinity;
      for (let rep = 0; rep < 5; rep++) {
        const t0 = process.hrtime.bigint();
        for (const id of ids) f(id);
        best = Math.min(best, Number(process.hrtime.bigint() - t0) / ids.length);
      }
      return best;
    };
    const uncached = time((id) => cold.permits(subj, id));
    const cached = time((id) => set.permits(subj, id));
    const full = time((id) => set.decideFor(subj, id, 'Read', GROUPS));
    assert.equal(ids.filter((id) => set.permits(subj, id)).length, ids.length);
    // No timed assertions in tests: the figures go to the test output.
    process.stdout.write(`# access decision, ${ids.length} distinct ids, 3 Read policies: ${uncached.toFixed(0)} ns uncached, `
      + `${cached.toFixed(0)} ns cached permits(), ${full.toFixed(0)} ns decideFor() with grant options\n`);
  });
});

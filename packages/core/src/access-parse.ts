/**
 * Reading ESGF access-control policies: the XML form of `esgf_policies_local.xml` /
 * `esgf_policies_common.xml` and the equivalent JSON form. Pure: callers read the files.
 * The XML reader is a small purpose-built scanner (elements named `policy`, any prefix,
 * quoted attributes, comments, processing instructions, CDATA and DOCTYPE skipped), not a
 * general XML parser.
 */
import { z } from 'zod';
import { AppError } from './errors.js';

/** The two ESGF policy actions. */
export type AccessAction = 'Read' | 'Write';

/** One policy as written in a policy file. */
export interface PolicyRule {
  /** Regular expression over dataset/file ids or URLs; matched anywhere (JavaScript `RegExp.test`). */
  readonly resource: string;
  /** An access-control group name, or one of `ANY`, `AUTH_ONLY`, `NONE`. */
  readonly attributeType: string;
  /** The role within the group (`user`, `publisher`, `admin`…); empty for `ANY`/`AUTH_ONLY`/`NONE`. */
  readonly attributeValue: string;
  readonly action: AccessAction;
  /** Where it was read, e.g. `policies.xml line 4` or `policies.json #2` (for messages). */
  readonly source: string;
}

function invalid(source: string, detail: string, fields: Record<string, unknown> = {}): AppError {
  return new AppError('ACCESS_POLICY_INVALID', `${source}: ${detail}`, { source, ...fields });
}

/** Normalises `read`/`READ`… to `Read`; throws `ACCESS_POLICY_INVALID` for any other action. */
function parseAction(raw: string, source: string): AccessAction {
  const a = raw.trim().toLowerCase();
  if (a === 'read') return 'Read';
  if (a === 'write') return 'Write';
  throw invalid(source, `action ${JSON.stringify(raw)} is neither Read nor Write.`, { action: raw });
}

function rule(attrs: { resource?: string | undefined; attribute_type?: string | undefined; attribute_value?: string | undefined; action?: string | undefined }, source: string): PolicyRule {
  for (const key of ['resource', 'attribute_type', 'action'] as const) {
    if (attrs[key] === undefined || attrs[key]!.trim() === '') throw invalid(source, `the policy has no ${key}.`);
  }
  return {
    resource: attrs.resource!,
    attributeType: attrs.attribute_type!.trim(),
    attributeValue: (attrs.attribute_value ?? '').trim(),
    action: parseAction(attrs.action!, source),
    source,
  };
}

// ---- JSON ------------------------------------------------------------------------------

const jsonPolicy = z.object({
  resource: z.string(),
  attribute_type: z.string(),
  attribute_value: z.string().optional(),
  action: z.string(),
});

/**
 * Policies from their JSON form: an array (or `{"policies": [...]}`) of
 * `{resource, attribute_type, attribute_value, action}` (ESGF attribute names). `input` is
 * the parsed JSON or its text. Throws `ACCESS_POLICY_INVALID` naming `source` and the entry.
 */
export function parsePoliciesJson(input: unknown, source = 'policies.json'): PolicyRule[] {
  let data = input;
  if (typeof input === 'string') {
    try {
      data = JSON.parse(input);
    } catch (err) {
      throw invalid(source, `not valid JSON (${(err as Error).message}).`);
    }
  }
  const list = Array.isArray(data) ? data : (data as { policies?: unknown } | null)?.policies;
  if (!Array.isArray(list)) throw invalid(source, 'expected an array of policies (or {"policies": [...]}).');
  return list.map((entry, i) => {
    const where = `${source} #${i + 1}`;
    const r = jsonPolicy.safeParse(entry);
    if (!r.success) {
      const issue = r.error.issues[0]!;
      throw invalid(where, `${issue.path.join('.') || 'policy'}: ${issue.message}`);
    }
    return rule(r.data, where);
  });
}

// ---- XML -------------------------------------------------------------------------------

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeEntities(text: string, source: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (m, ent: string) => {
    if (ent[0] === '#') {
      const code = ent[1] === 'x' ? parseInt(ent.slice(2), 16) : parseInt(ent.slice(1), 10);
      if (code > 0x10ffff) throw invalid(source, `bad character reference ${m}.`);
      return String.fromCodePoint(code);
    }
    const v = ENTITIES[ent];
    if (v === undefined) throw invalid(source, `unknown entity ${m}.`);
    return v;
  });
}

/**
 * Policies from an ESGF policy XML document: every element whose local name is `policy`
 * (`<policy resource=… attribute_type=… attribute_value=… action=…/>`), in document order.
 * Throws `ACCESS_POLICY_INVALID` naming `source` and the line for malformed markup or a
 * policy without resource/attribute_type/action.
 */
export function parsePoliciesXml(text: string, source = 'policies.xml'): PolicyRule[] {
  const out: PolicyRule[] = [];
  let i = 0;
  // Line numbers for messages, counted incrementally (positions only move forward).
  let linePos = 0;
  let lineNo = 1;
  const lineAt = (pos: number): number => {
    for (; linePos < pos; linePos++) if (text.charCodeAt(linePos) === 10) lineNo++;
    return lineNo;
  };
  const skipTo = (end: string, from: number, what: string): number => {
    const j = text.indexOf(end, from);
    if (j < 0) throw invalid(`${source} line ${lineAt(from)}`, `unterminated ${what}.`);
    return j + end.length;
  };
  while (i < text.length) {
    const lt = text.indexOf('<', i);
    if (lt < 0) break;
    if (text.startsWith('<!--', lt)) { i = skipTo('-->', lt + 4, 'comment'); continue; }
    if (text.startsWith('<![CDATA[', lt)) { i = skipTo(']]>', lt + 9, 'CDATA section'); continue; }
    if (text.startsWith('<?', lt)) { i = skipTo('?>', lt + 2, 'processing instruction'); continue; }
    if (text.startsWith('<!', lt)) { i = skipTo('>', lt + 2, 'declaration'); continue; }
    if (text.startsWith('</', lt)) { i = skipTo('>', lt + 2, 'end tag'); continue; }
    const where = `${source} line ${lineAt(lt)}`;
    const nameMatch = /^<([A-Za-z_][\w.:-]*)/.exec(text.slice(lt, lt + 200));
    if (!nameMatch) throw invalid(where, 'malformed tag.');
    const name = nameMatch[1]!;
    let j = lt + nameMatch[0].length;
    const attrs: Record<string, string> = {};
    for (;;) {
      while (j < text.length && /\s/.test(text[j]!)) j++;
      if (j >= text.length) throw invalid(where, `unterminated <${name}> tag.`);
      if (text[j] === '>') { j++; break; }
      if (text.startsWith('/>', j)) { j += 2; break; }
      const am = /^([A-Za-z_][\w.:-]*)\s*=\s*("([^"]*)"|'([^']*)')/.exec(text.slice(j));
      if (!am) throw invalid(where, `malformed attribute in <${name}>.`);
      const attrName = am[1]!.includes(':') ? am[1]!.slice(am[1]!.indexOf(':') + 1) : am[1]!;
      attrs[attrName] = decodeEntities(am[3] ?? am[4] ?? '', where);
      j += am[0].length;
    }
    const local = name.includes(':') ? name.slice(name.indexOf(':') + 1) : name;
    if (local === 'policy') out.push(rule(attrs, where));
    i = j;
  }
  return out;
}

/**
 * Policies from a policy file's text, XML or JSON by its first non-blank character (`<` =
 * XML). Throws `ACCESS_POLICY_INVALID`.
 */
export function parsePolicies(text: string, source: string): PolicyRule[] {
  return text.trimStart().startsWith('<') ? parsePoliciesXml(text, source) : parsePoliciesJson(text, source);
}

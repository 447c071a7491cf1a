/**
 * A small JSON Schema (draft 7) checker for user settings, covering the keywords that
 * JupyterLab's plugin schemas use: type, enum, const, properties, patternProperties,
 * additionalProperties, required, items, minimum/maximum, minLength/maxLength, pattern,
 * uniqueItems, $ref (local `#/…` pointers), allOf/anyOf/oneOf/not. Unknown keywords
 * (including `jupyter.lab.*`) are ignored. `oneOf` is checked as "at least one", like
 * `anyOf`: the frontend validates precisely with Ajv; the server's job is to refuse
 * settings that are plainly wrong.
 */

type Schema = boolean | { [keyword: string]: unknown };

/** The first problem found, as `<path>: <what>`, or null when `value` conforms. */
export function validate(schema: unknown, value: unknown): string | null {
  const root = schema as Schema;
  const problems: string[] = [];
  check(root, value, '', root, problems, 0);
  return problems[0] ?? null;
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function matchesType(v: unknown, type: string): boolean {
  const actual = typeOf(v);
  return actual === type || (type === 'number' && actual === 'integer');
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

function resolveRef(root: Schema, ref: string): Schema | undefined {
  if (!ref.startsWith('#')) return undefined;
  let node: unknown = root;
  for (const raw of ref.slice(1).split('/').filter(Boolean)) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node as Schema;
}

const at = (path: string): string => path || '(root)';

/** A schema's regular expression; one that does not compile matches everything. */
function compile(pattern: string): RegExp {
  for (const flags of ['u', '']) {
    try {
      return new RegExp(pattern, flags);
    } catch {
      // try the next flavour
    }
  }
  return /(?:)/;
}

function check(schema: Schema, v: unknown, path: string, root: Schema, out: string[], depth: number): void {
  if (schema === true || out.length) return;
  if (schema === false) {
    out.push(`${at(path)}: is not allowed`);
    return;
  }
  if (typeof schema !== 'object' || schema === null || depth > 64) return;
  const s = schema as Record<string, unknown>;

  if (typeof s.$ref === 'string') {
    const target = resolveRef(root, s.$ref);
    if (target !== undefined) check(target, v, path, root, out, depth + 1);
    return; // draft 7: siblings of $ref are ignored
  }
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
    if (!types.some((t) => matchesType(v, t))) {
      out.push(`${at(path)}: must be ${types.join(' or ')}, not ${typeOf(v)}`);
      return;
    }
  }
  if (Array.isArray(s.enum) && !s.enum.some((e) => deepEqual(e, v))) {
    out.push(`${at(path)}: must be one of ${JSON.stringify(s.enum)}`);
    return;
  }
  if ('const' in s && !deepEqual(s.const, v)) {
    out.push(`${at(path)}: must be ${JSON.stringify(s.const)}`);
    return;
  }
  checkNumberAndString(s, v, path, out);
  if (typeOf(v) === 'object') checkObject(s, v as Record<string, unknown>, path, root, out, depth);
  if (Array.isArray(v)) checkArray(s, v, path, root, out, depth);
  checkCombinators(s, v, path, root, out, depth);
}

function checkNumberAndString(s: Record<string, unknown>, v: unknown, path: string, out: string[]): void {
  if (typeof v === 'number') {
    if (typeof s.minimum === 'number' && v < s.minimum) out.push(`${at(path)}: must be ≥ ${s.minimum}`);
    if (typeof s.maximum === 'number' && v > s.maximum) out.push(`${at(path)}: must be ≤ ${s.maximum}`);
  }
  if (typeof v === 'string') {
    if (typeof s.minLength === 'number' && [...v].length < s.minLength) out.push(`${at(path)}: is too short`);
    if (typeof s.maxLength === 'number' && [...v].length > s.maxLength) out.push(`${at(path)}: is too long`);
    if (typeof s.pattern === 'string' && !compile(s.pattern).test(v)) {
      out.push(`${at(path)}: does not match ${s.pattern}`);
    }
  }
}

function checkObject(
  s: Record<string, unknown>, v: Record<string, unknown>, path: string, root: Schema, out: string[], depth: number,
): void {
  const props = (s.properties ?? {}) as Record<string, Schema>;
  const patterns = Object.entries((s.patternProperties ?? {}) as Record<string, Schema>).map(
    ([p, sub]) => [compile(p), sub] as const,
  );
  for (const key of Array.isArray(s.required) ? (s.required as string[]) : []) {
    if (!Object.hasOwn(v, key)) out.push(`${at(path)}: missing required property '${key}'`);
  }
  for (const [key, child] of Object.entries(v)) {
    const childPath = `${path}/${key}`;
    let known = false;
    if (Object.hasOwn(props, key)) {
      known = true;
      check(props[key]!, child, childPath, root, out, depth + 1);
    }
    for (const [re, sub] of patterns) {
      if (re.test(key)) {
        known = true;
        check(sub, child, childPath, root, out, depth + 1);
      }
    }
    if (!known && s.additionalProperties !== undefined) {
      if (s.additionalProperties === false) out.push(`${at(childPath)}: is not a known setting`);
      else check(s.additionalProperties as Schema, child, childPath, root, out, depth + 1);
    }
  }
}

function checkArray(s: Record<string, unknown>, v: unknown[], path: string, root: Schema, out: string[], depth: number): void {
  if (s.items !== undefined) {
    if (Array.isArray(s.items)) {
      v.forEach((item, i) => i < (s.items as Schema[]).length && check((s.items as Schema[])[i]!, item, `${path}/${i}`, root, out, depth + 1));
    } else {
      v.forEach((item, i) => check(s.items as Schema, item, `${path}/${i}`, root, out, depth + 1));
    }
  }
  if (s.uniqueItems === true && v.some((a, i) => v.some((b, j) => j > i && deepEqual(a, b)))) {
    out.push(`${at(path)}: items must be unique`);
  }
}

function checkCombinators(
  s: Record<string, unknown>, v: unknown, path: string, root: Schema, out: string[], depth: number,
): void {
  const passes = (sub: Schema): boolean => {
    const probe: string[] = [];
    check(sub, v, path, root, probe, depth + 1);
    return probe.length === 0;
  };
  if (Array.isArray(s.allOf)) for (const sub of s.allOf as Schema[]) check(sub, v, path, root, out, depth + 1);
  for (const key of ['anyOf', 'oneOf'] as const) {
    const alternatives = s[key];
    if (Array.isArray(alternatives) && !alternatives.some((sub: Schema) => passes(sub))) {
      out.push(`${at(path)}: matches none of the allowed forms`);
    }
  }
  if (s.not !== undefined && passes(s.not as Schema)) out.push(`${at(path)}: is not allowed`);
}

/**
 * Test support: a parser of `ncdump -h` output (CDL) into the same shape the readers return,
 * so tests can compare our headers with Unidata's tool. Not used by the hub at run time.
 */

/** One parsed CDL attribute: text, or numbers (type suffixes like `f`, `LL`, `UB` removed). */
export type CdlValue = string | number[] | string[];

export interface CdlGroup {
  dimensions: { name: string; size: number; unlimited: boolean }[];
  variables: { name: string; type: string; dims: string[]; attributes: Record<string, CdlValue> }[];
  attributes: Record<string, CdlValue>;
  groups: string[];
}

function unescape(s: string): string {
  return s.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c));
}

/** Parses the value part of an attribute line (`"text"`, `"a", "b"` or `1.5, 2.f`). */
export function parseCdlValue(raw: string): CdlValue {
  const strings = [...raw.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => unescape(m[1]!));
  if (strings.length > 0) return strings.length === 1 ? strings[0]! : strings;
  return raw.split(',').map((t) => {
    const x = t.trim().replace(/(LL|ULL|UL|UB|US|U|L|b|B|s|S|f|F)$/, '');
    if (x === 'NaN' || x === 'NaNf') return NaN;
    if (/^-?Infinity$/.test(x)) return x.startsWith('-') ? -Infinity : Infinity;
    return Number(x);
  });
}

/** Parses the root group of `ncdump -h` output; subgroups are only named. */
export function parseCdl(cdl: string): CdlGroup {
  const out: CdlGroup = { dimensions: [], variables: [], attributes: {}, groups: [] };
  // Join continuation lines of multi-line string attributes ("…\n",\n\t\t\t"…").
  const lines = cdl.replace(/",\n\t+"/g, '", "').split('\n');
  let section: 'dims' | 'vars' | 'global' | null = null;
  let depth = 0;
  for (const line of lines) {
    const g = /^\s*group: (\S+) \{/.exec(line);
    if (g) {
      if (depth === 0) out.groups.push(g[1]!);
      depth++;
      continue;
    }
    if (depth > 0) {
      if (/^\s*\} \/\/ group/.test(line)) depth--;
      continue;
    }
    if (line === 'dimensions:') section = 'dims';
    else if (line === 'variables:') section = 'vars';
    else if (line === '// global attributes:') section = 'global';
    let m: RegExpExecArray | null;
    if (section === 'dims' && (m = /^\t(\S+) = (UNLIMITED ; \/\/ \((\d+) currently\)|(\d+) ;)$/.exec(line))) {
      out.dimensions.push({ name: m[1]!, size: Number(m[3] ?? m[4]), unlimited: m[3] !== undefined });
    } else if (section === 'vars' && (m = /^\t(\S+) ([^\s(]+)(?:\(([^)]*)\))? ;$/.exec(line))) {
      out.variables.push({ name: m[2]!, type: m[1]!, dims: m[3] ? m[3].split(', ') : [], attributes: {} });
    } else if ((m = /^\t\t(?:\S+ )?([^\s:]*):(\S+) = (.*) ;$/.exec(line))) {
      const value = parseCdlValue(m[3]!);
      if (m[1] === '') out.attributes[m[2]!] = value;
      else {
        const v = out.variables.find((x) => x.name === m![1]);
        if (v) v.attributes[m[2]!] = value;
      }
    }
  }
  return out;
}

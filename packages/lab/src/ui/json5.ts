/**
 * A JSON5 reader for JupyterLab's user settings files (`*.jupyterlab-settings`), which
 * keep the user's comments: `//` and `/* *\/` comments, trailing commas, single-quoted
 * strings, unquoted keys, hexadecimal numbers, `Infinity`/`NaN`, leading `+`.
 * Objects are built without prototype lookups, so a `"__proto__"` key is plain data.
 */

/** A JSON5 text that does not parse; `message` says where (line:column). */
export class Json5Error extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Json5Error';
  }
}

/** Deepest nesting accepted: far beyond any settings file, far below the stack limit. */
const MAX_DEPTH = 256;

const ESCAPES: Record<string, string> = {
  b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '0': '\0', "'": "'", '"': '"', '\\': '\\', '/': '/',
};

const isSpace = (c: string): boolean => /[\s\uFEFF]/u.test(c);
const isIdStart = (c: string): boolean => /[\p{L}\p{Nl}$_]/u.test(c);
const isIdPart = (c: string): boolean => /[\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}$_\u200C\u200D]/u.test(c);

/** Parses JSON5 `text` into a JSON value. Throws `Json5Error` on malformed input. */
export function parseJson5(text: string): unknown {
  let pos = 0;

  const fail = (what: string): never => {
    const before = text.slice(0, pos);
    const line = before.split('\n').length;
    const column = pos - before.lastIndexOf('\n');
    throw new Json5Error(`${what} at line ${line}, column ${column}`);
  };

  const skip = (): void => {
    for (;;) {
      const c = text[pos];
      if (c === undefined) return;
      if (isSpace(c)) pos++;
      else if (c === '/' && text[pos + 1] === '/') {
        while (pos < text.length && text[pos] !== '\n' && text[pos] !== '\r') pos++;
      } else if (c === '/' && text[pos + 1] === '*') {
        const end = text.indexOf('*/', pos + 2);
        if (end < 0) fail('Unterminated comment');
        pos = end + 2;
      } else return;
    }
  };

  const string = (): string => {
    const quote = text[pos++]!;
    let out = '';
    for (;;) {
      const c = text[pos++];
      if (c === undefined) return fail('Unterminated string');
      if (c === quote) return out;
      if (c === '\n' || c === '\r') fail('Line break inside a string');
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = text[pos++];
      if (e === undefined) return fail('Unterminated string');
      if (e in ESCAPES) out += ESCAPES[e];
      else if (e === 'x' || e === 'u') {
        const len = e === 'x' ? 2 : 4;
        const hex = text.slice(pos, pos + len);
        if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) fail('Bad escape');
        out += String.fromCharCode(parseInt(hex, 16));
        pos += len;
      } else if (e === '\r') {
        if (text[pos] === '\n') pos++;
      } else if (e === '\n' || e === '\u2028' || e === '\u2029') {
        // line continuation
      } else if (/[1-9]/.test(e)) fail('Bad escape');
      else out += e;
    }
  };

  const identifier = (): string => {
    const start = pos;
    if (!isIdStart(text[pos] ?? '')) fail('Expected a key');
    pos++;
    while (pos < text.length && isIdPart(text[pos]!)) pos++;
    return text.slice(start, pos);
  };

  const number = (): number => {
    const m = /^[+-]?(?:Infinity|NaN|0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)/.exec(text.slice(pos, pos + 400));
    if (!m) return fail('Unexpected character');
    pos += m[0].length;
    const sign = m[0].startsWith('-') ? -1 : 1;
    const body = m[0].replace(/^[+-]/, '');
    if (body === 'Infinity') return sign * Infinity;
    if (body === 'NaN') return NaN;
    if (/^0[xX]/.test(body)) return sign * parseInt(body, 16);
    return sign * Number(body);
  };

  const value = (depth: number): unknown => {
    if (depth > MAX_DEPTH) fail('Nesting too deep');
    skip();
    const c = text[pos];
    if (c === undefined) return fail('Unexpected end of text');
    if (c === '{') return object(depth);
    if (c === '[') return array(depth);
    if (c === '"' || c === "'") return string();
    for (const [word, v] of [['true', true], ['false', false], ['null', null]] as const) {
      if (text.startsWith(word, pos) && !isIdPart(text[pos + word.length] ?? '')) {
        pos += word.length;
        return v;
      }
    }
    return number();
  };

  const object = (depth: number): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    pos++;
    for (;;) {
      skip();
      if (text[pos] === '}') {
        pos++;
        return out;
      }
      const key = text[pos] === '"' || text[pos] === "'" ? string() : identifier();
      skip();
      if (text[pos] !== ':') fail("Expected ':'");
      pos++;
      Object.defineProperty(out, key, { value: value(depth + 1), enumerable: true, writable: true, configurable: true });
      skip();
      if (text[pos] === ',') pos++;
      else if (text[pos] !== '}') fail("Expected ',' or '}'");
    }
  };

  const array = (depth: number): unknown[] => {
    const out: unknown[] = [];
    pos++;
    for (;;) {
      skip();
      if (text[pos] === ']') {
        pos++;
        return out;
      }
      out.push(value(depth + 1));
      skip();
      if (text[pos] === ',') pos++;
      else if (text[pos] !== ']') fail("Expected ',' or ']'");
    }
  };

  const result = value(0);
  skip();
  if (pos < text.length) fail('Unexpected text after the value');
  return result;
}

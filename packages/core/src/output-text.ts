/**
 * Text helpers of output reduction (`outputs.ts`): UTF-8 sizes and cuts that never split
 * a surrogate pair, and the terminal-like handling of `\r` and `\b` in streams. Pure.
 */

/** UTF-8 byte length of a JavaScript string (lone surrogates count as 3 bytes, like U+FFFD). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** Largest char index `i` with `utf8Length(s.slice(0, i)) <= maxBytes`, never splitting a pair. */
export function prefixEnd(s: string, maxBytes: number): number {
  let n = 0;
  let i = 0;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    const pair = c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
    const w = c < 0x80 ? 1 : c < 0x800 ? 2 : pair ? 4 : 3;
    if (n + w > maxBytes) break;
    n += w;
    i += pair ? 2 : 1;
  }
  return i;
}

/** Smallest char index `i` with `utf8Length(s.slice(i)) <= maxBytes`, never splitting a pair. */
export function suffixStart(s: string, maxBytes: number): number {
  let n = 0;
  let i = s.length;
  while (i > 0) {
    const c = s.charCodeAt(i - 1);
    const pair = (c & 0xfc00) === 0xdc00 && i - 2 >= 0 && (s.charCodeAt(i - 2) & 0xfc00) === 0xd800;
    const w = c < 0x80 ? 1 : c < 0x800 ? 2 : pair ? 4 : 3;
    if (n + w > maxBytes) break;
    n += w;
    i -= pair ? 2 : 1;
  }
  return i;
}

export function countNewlines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', i + 1)) n++;
  return n;
}

/**
 * The editable end of a stream: text before the last newline is final ("committed");
 * the current line can still be rewritten by `\r` (cursor to line start, following text
 * overwrites) and `\b` (deletes the character before the cursor), as JupyterLab renders.
 */
export interface LineState {
  line: string;
  col: number;
}

/** Applies `text` to the current line; returns the text that became final (whole lines). */
export function feed(st: LineState, text: string, maxLineChars: number): string {
  let committed = '';
  const put = (t: string): void => {
    if (!t) return;
    if (st.col === st.line.length) st.line += t;
    else st.line = st.line.slice(0, st.col) + t + st.line.slice(st.col + t.length);
    st.col += t.length;
  };
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 10 && c !== 13 && c !== 8) continue;
    put(text.slice(start, i));
    start = i + 1;
    if (c === 10) {
      committed += `${st.line}\n`;
      st.line = '';
      st.col = 0;
    } else if (c === 13) {
      st.col = 0;
    } else if (st.col > 0) {
      st.line = st.line.slice(0, st.col - 1) + st.line.slice(st.col);
      st.col--;
    }
  }
  put(text.slice(start));
  if (st.line.length > maxLineChars) {
    // An endless line cannot stay editable: make it final so it can be capped.
    committed += st.line;
    st.line = '';
    st.col = 0;
  }
  return committed;
}

/**
 * Collapses `\r` and `\b` in a complete text as {@link CellOutputs} does for streams
 * (`\r\n` is a newline; a trailing lone `\r` leaves the line as it is).
 */
export function collapseCarriageReturns(text: string): string {
  const st: LineState = { line: '', col: 0 };
  return feed(st, text, Number.POSITIVE_INFINITY) + st.line;
}

import { isAscii } from 'node:buffer';

/**
 * The text of a UTF-8 JSON file for `JSON.parse`, fast. Notebooks are mostly ASCII
 * (base64 images) with a few non-ASCII characters in their text; decoding them as UTF-8
 * makes the whole 20 MB string two-byte, slower to decode, parse and write back. Here
 * ASCII stretches are decoded as Latin-1 (a copy) and each run of non-ASCII bytes, which
 * in valid JSON can only be inside strings, becomes `\uXXXX` escapes: `JSON.parse` gives
 * the same values, and only strings that hold such characters become two-byte.
 *
 * Not for error messages: line and column numbers refer to the escaped text (decode the
 * buffer as UTF-8 to report where a malformed file is wrong).
 */
export function jsonTextOf(buf: Buffer): string {
  const bytes = buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? buf.subarray(3) : buf;
  if (isAscii(bytes)) return bytes.toString('latin1');
  // Runs of non-ASCII bytes and their escapes; blocks that are all ASCII are skipped fast.
  const runs: Array<{ from: number; to: number; escaped: string }> = [];
  let at = 0;
  while (at < bytes.length) {
    const end = Math.min(at + BLOCK, bytes.length);
    if (isAscii(bytes.subarray(at, end))) {
      at = end;
      continue;
    }
    let i = at;
    while (i < end) {
      if (bytes[i]! < 0x80) {
        i++;
        continue;
      }
      // A maximal run of bytes ≥ 0x80 holds whole UTF-8 sequences (their bytes are all ≥ 0x80).
      let j = i + 1;
      while (j < bytes.length && bytes[j]! >= 0x80) j++;
      runs.push({ from: i, to: j, escaped: escapeNonAscii(bytes.toString('utf8', i, j)) });
      i = j;
    }
    at = Math.max(end, i);
  }
  // One buffer, decoded once: large Latin-1 strings are made without copying into the JS heap.
  let length = bytes.length;
  for (const r of runs) length += r.escaped.length - (r.to - r.from);
  const out = Buffer.allocUnsafe(length);
  let copied = 0;
  let pos = 0;
  for (const r of runs) {
    pos += bytes.copy(out, pos, copied, r.from);
    pos += out.write(r.escaped, pos, 'latin1');
    copied = r.to;
  }
  bytes.copy(out, pos, copied);
  return out.toString('latin1');
}

const BLOCK = 16 * 1024;

function escapeNonAscii(s: string): string {
  let out = '';
  for (let k = 0; k < s.length; k++) out += `\\u${s.charCodeAt(k).toString(16).padStart(4, '0')}`;
  return out;
}

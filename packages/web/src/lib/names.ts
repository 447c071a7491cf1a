/** User and group names as the hub accepts them (mirrors the hub's NAME_PATTERN). */
export const NAME_PATTERN = /^[a-z][a-z0-9_-]{0,31}$/;

/**
 * Splits what an administrator typed (names separated by spaces, commas, semicolons or
 * new lines) into valid names, lower-cased and without duplicates, and the rejected ones.
 */
export function parseNameList(text: string): { names: string[]; invalid: string[] } {
  const names: string[] = [];
  const invalid: string[] = [];
  for (const token of text.split(/[\s,;]+/)) {
    const name = token.trim().toLowerCase();
    if (name === '') continue;
    const bucket = NAME_PATTERN.test(name) ? names : invalid;
    if (!bucket.includes(name)) bucket.push(name);
  }
  return { names, invalid };
}
